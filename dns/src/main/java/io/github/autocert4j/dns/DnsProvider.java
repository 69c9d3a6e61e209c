package io.github.autocert4j.dns;

/**
 * Creates and deletes the TXT records of DNS-01 challenges at a DNS host: your DNS server (see
 * {@link Rfc2136Provider}) or a DNS hosting API. {@link Dns01Solver} calls it and then checks by itself that the
 * record is visible on the zone's authoritative servers, so a provider only has to make the change.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@code fqdn} is the absolute record name without trailing dot, lower case, e.g.
 *       {@code "_acme-challenge.example.com"}. Finding the zone it belongs to (e.g. {@code "example.com"}) and
 *       choosing a TTL are the provider's business: both depend on the DNS host. A short TTL (60 s or less) is
 *       best.</li>
 *   <li>{@code createTxt} <em>adds</em> one value and keeps other TXT values at the same name: a certificate for
 *       {@code example.com} and {@code *.example.com} needs two values at {@code _acme-challenge.example.com} at
 *       the same time. Adding a value that is already there is not an error.</li>
 *   <li>{@code deleteTxt} removes exactly that value and leaves other values alone; deleting a value that is not
 *       there is not an error (clean-up runs after failures too).</li>
 *   <li>Both return once the DNS host accepted the change and throw with a message saying what went wrong and how to
 *       fix it otherwise. Never put secrets (API tokens, keys) into messages, logs or {@code toString()}.</li>
 *   <li>Calls may come from several threads at once.</li>
 * </ul>
 *
 * <p>An implementation for a DNS hosting service with an HTTP API:
 *
 * <pre>{@code
 * final class ExampleDnsApiProvider implements DnsProvider {
 *     private final HttpClient http = HttpClient.newHttpClient();
 *     private final String token;   // from a secret store; never logged
 *
 *     ExampleDnsApiProvider(String token) { this.token = token; }
 *
 *     public void createTxt(String fqdn, String value) throws Exception {
 *         send("POST", "{\"type\":\"TXT\",\"name\":\"" + fqdn + "\",\"content\":\"" + value + "\",\"ttl\":60}");
 *     }
 *
 *     public void deleteTxt(String fqdn, String value) throws Exception {
 *         send("DELETE", "{\"type\":\"TXT\",\"name\":\"" + fqdn + "\",\"content\":\"" + value + "\"}");
 *     }
 *
 *     private void send(String method, String json) throws Exception {
 *         HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://dns.example.net/v1/records"))
 *                 .header("Authorization", "Bearer " + token)
 *                 .method(method, HttpRequest.BodyPublishers.ofString(json)).build(),
 *                 HttpResponse.BodyHandlers.ofString());
 *         if (r.statusCode() / 100 != 2) {
 *             throw new IOException("the DNS API answered " + r.statusCode() + " to " + method
 *                     + ". Fix: check that the API token may edit the zone");
 *         }
 *     }
 *
 *     public String toString() { return "ExampleDnsApiProvider"; } // no token
 * }
 *
 * Dns01Solver dns01 = Dns01Solver.builder().provider(new ExampleDnsApiProvider(token)).build();
 * }</pre>
 */
public interface DnsProvider {

    /**
     * Adds the TXT value {@code value} at {@code fqdn}, keeping other values there.
     *
     * @param fqdn  absolute name without trailing dot, e.g. {@code "_acme-challenge.example.com"}
     * @param value the TXT value (ASCII, 43 characters for DNS-01)
     * @throws Exception if the DNS host did not accept the change; the message says why and how to fix it
     */
    void createTxt(String fqdn, String value) throws Exception;

    /**
     * Removes the TXT value {@code value} at {@code fqdn}, leaving other values there; no error if it is absent.
     *
     * @param fqdn  absolute name without trailing dot, e.g. {@code "_acme-challenge.example.com"}
     * @param value the TXT value that {@link #createTxt} added
     * @throws Exception if the DNS host did not accept the change; the message says why and how to fix it
     */
    void deleteTxt(String fqdn, String value) throws Exception;

    /**
     * Checks, before an order is placed at the CA, that this provider will be able to change TXT records at
     * {@code fqdn}, without changing what is served (e.g. a signed no-op update, or reading the zone through the
     * API with the configured credentials). A wrong credential or an unknown zone found here costs no order at the
     * CA. Throw an {@code IssuanceException} made with {@code IssuanceException.permanentFailure(...)} for a
     * configuration error (it is then not retried until {@code renewNow()} or a restart), anything else for a
     * failure that may pass (it is retried on the backoff schedule). Default: nothing is checked.
     *
     * @param fqdn absolute name without trailing dot, e.g. {@code "_acme-challenge.example.com"}
     * @throws Exception if the provider cannot make changes there; the message says why and how to fix it
     */
    default void check(String fqdn) throws Exception {
    }
}
