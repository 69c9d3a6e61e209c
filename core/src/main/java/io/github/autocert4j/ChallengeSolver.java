package io.github.autocert4j;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * Proves control of a name to the CA by publishing an ACME challenge response.
 *
 * <p>autocert4j ships {@link Http01Responder} (HTTP-01, answered by the host's own port-80 listener
 * through the Netty handler or the Servlet filter). Add a solver of type {@code dns-01} to obtain
 * wildcard certificates; it publishes {@link Challenge#dnsTxtValue()} as a TXT record at
 * {@link Challenge#dnsTxtName()}.
 *
 * <pre>{@code
 * class MyDnsSolver implements ChallengeSolver {
 *     public String challengeType() { return "dns-01"; }
 *     public void present(Challenge c) { myDns.addTxt(c.dnsTxtName(), c.dnsTxtValue()); }
 *     public void cleanUp(Challenge c) { myDns.removeTxt(c.dnsTxtName(), c.dnsTxtValue()); }
 * }
 * }</pre>
 */
public interface ChallengeSolver {

    /** The ACME challenge type this solver answers: {@code "http-01"}, {@code "dns-01"} or {@code "tls-alpn-01"}. */
    String challengeType();

    /**
     * Publishes the response; returns once the CA may look for it. If it throws, it must withdraw
     * whatever it already published: {@link #cleanUp} is only called for challenges whose
     * {@code present} returned. Throw an {@link IssuanceException} made with
     * {@link IssuanceException#permanentFailure} for a configuration error that retrying cannot fix
     * (a refused credential); anything else is retried along the backoff schedule.
     */
    void present(Challenge challenge) throws Exception;

    /**
     * Withdraws the response once the CA has decided, whether validation succeeded or failed (but
     * only for challenges whose {@link #present} returned normally).
     */
    void cleanUp(Challenge challenge) throws Exception;

    /**
     * Checks, before an order is placed at the CA, that this solver can answer for {@code identifiers} (the names of
     * the order it is the preferred solver for, wildcards with their {@code *.}), changing nothing the CA could see:
     * e.g. that a DNS server accepts the configured key. Throw an {@link IssuanceException} made with
     * {@link IssuanceException#permanentFailure} for a configuration error: the order is then not placed, and not
     * retried until {@code renewNow()} or a restart; anything else is a transient failure (retried with backoff, no
     * order placed either). Default: nothing to check.
     */
    default void preflight(java.util.List<String> identifiers) throws Exception {
    }

    /**
     * One challenge to answer.
     *
     * @param type the challenge type
     * @param identifier the DNS name being validated (without any {@code *.} prefix)
     * @param token the challenge token
     * @param keyAuthorization token + "." + account key thumbprint
     */
    record Challenge(String type, String identifier, String token, String keyAuthorization) {

        /** The DNS name of the dns-01 TXT record: {@code _acme-challenge.<identifier>}. */
        public String dnsTxtName() {
            return "_acme-challenge." + identifier;
        }

        /** The dns-01 TXT value: base64url(SHA-256(keyAuthorization)), unpadded. */
        public String dnsTxtValue() {
            try {
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(keyAuthorization.getBytes(StandardCharsets.US_ASCII));
                return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
