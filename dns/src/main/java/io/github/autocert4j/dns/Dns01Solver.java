package io.github.autocert4j.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.IssuanceException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The DNS-01 challenge solver (RFC 8555 §8.4): publishes the TXT record {@code _acme-challenge.<name>} through a
 * {@link DnsProvider}, waits until the zone's authoritative servers all serve it, and deletes it once the CA has
 * decided. DNS-01 is the only way to obtain wildcard certificates ({@code *.example.com}) and works for hosts the CA
 * cannot reach.
 *
 * <p><b>Propagation check.</b> After the provider created the record, {@link #present} finds the zone (SOA queries
 * walking up from the record name), its NS set and their addresses through the recursive resolvers (the system's,
 * or {@link Builder#resolvers}), then asks every name server directly, without recursion, for the TXT record,
 * every {@link Builder#propagationPollInterval} until each one serves the value. Only then may the CA look, so it
 * never sees a secondary that is behind. It gives up after {@link Builder#propagationTimeout} with a
 * {@link TimeoutException} naming the record and the servers that did not serve it, and deletes the record again.
 * With {@link Builder#checkServers} the listed servers are asked instead of the discovered ones (split-horizon DNS,
 * a firewall that blocks port 53 to the outside, or a test server on a loopback port).
 *
 * <pre>{@code
 * Dns01Solver dns01 = Dns01Solver.builder()
 *         .provider(Rfc2136Provider.builder()
 *                 .server(new InetSocketAddress("ns1.example.com", 53))
 *                 .tsigKey("acme-key", System.getenv("ACME_TSIG_SECRET"))
 *                 .build())
 *         .propagationTimeout(Duration.ofSeconds(60))     // default
 *         .propagationPollInterval(Duration.ofSeconds(2)) // default
 *         .build();
 * AutoCert autoCert = AutoCert.builder()
 *         .certificate("*.example.com", "example.com")
 *         .challengeSolver(dns01)
 *         // ... directory, agreeToTermsOfService, storageDirectory ...
 *         .build();
 * }</pre>
 *
 * <p>Thread-safe; one instance may serve several concurrent orders.
 */
public final class Dns01Solver implements ChallengeSolver {

    private static final Logger LOG = LoggerFactory.getLogger(Dns01Solver.class);
    /** Upper bound for one query of the propagation check; capped further by the time left. */
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(3);
    private static final int MAX_NAME_SERVERS = 16;

    private final DnsProvider provider;
    private final Duration propagationTimeout;
    private final Duration pollInterval;
    private final List<InetSocketAddress> checkServers;
    private final List<InetSocketAddress> resolvers;
    private final int nameServerPort;

    private Dns01Solver(Builder b) {
        this.provider = b.provider;
        this.propagationTimeout = b.propagationTimeout;
        this.pollInterval = b.pollInterval;
        this.checkServers = List.copyOf(b.checkServers);
        this.resolvers = List.copyOf(b.resolvers);
        this.nameServerPort = b.nameServerPort;
    }

    /** Starts a configuration; {@link Builder#provider} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /** {@code "dns-01"}. */
    @Override
    public String challengeType() {
        return "dns-01";
    }

    /**
     * Creates the TXT record through the provider and returns once every authoritative server serves it.
     *
     * @throws TimeoutException    if a server still does not serve it after the propagation timeout (the record is
     *                             deleted again)
     * @throws IssuanceException   permanent, when the DNS server refused the change for a reason retrying cannot fix
     *                             (a key it does not accept, a zone it does not serve, an update its policy refuses)
     * @throws Exception           whatever else the provider throws, or an {@link IOException} if the name servers
     *                             cannot be found
     */
    @Override
    public void present(Challenge challenge) throws Exception {
        String fqdn = challenge.dnsTxtName().toLowerCase(Locale.ROOT);
        String value = challenge.dnsTxtValue();
        try {
            provider.createTxt(fqdn, value);
        } catch (DnsConfigurationException e) {
            throw permanent(List.of(challenge.identifier()), "", e);
        }
        try {
            awaitPropagation(fqdn, value);
        } catch (Exception | Error e) {
            // The core cleans up only challenges whose present() returned: withdraw this one here.
            try {
                provider.deleteTxt(fqdn, value);
            } catch (Exception cleanUpFailure) {
                e.addSuppressed(cleanUpFailure);
            }
            throw e;
        }
    }

    /**
     * Before an order is placed: asks the provider to check, changing nothing that is served, that it can change the
     * TXT records of these names ({@link DnsProvider#check}; for {@link Rfc2136Provider} a signed update that deletes
     * a value nobody uses). A wrong TSIG key or secret, a zone the server does not serve, or an update its policy
     * refuses is then a permanent {@link IssuanceException} naming the server and the fix, and no order is placed at
     * the CA; a DNS server that does not answer is a transient one (retried on the backoff schedule).
     */
    @Override
    public void preflight(List<String> identifiers) throws Exception {
        List<String> fqdns = identifiers.stream().map(n -> n.startsWith("*.") ? n.substring(2) : n)
                .map(n -> "_acme-challenge." + n.toLowerCase(Locale.ROOT)).distinct().toList();
        for (String fqdn : fqdns) {
            try {
                provider.check(fqdn);
            } catch (DnsConfigurationException e) {
                throw permanent(identifiers, " (found before ordering: no order was placed)", e);
            } catch (IssuanceException e) {
                throw e;
            } catch (IOException e) {
                throw IssuanceException.transientFailure("DNS-01 for " + identifiers + ": checking " + fqdn
                        + " through " + provider + " before ordering failed: " + e.getMessage(), e);
            }
        }
    }

    private static IssuanceException permanent(List<String> identifiers, String when, DnsConfigurationException e) {
        return new IssuanceException("DNS-01 for " + identifiers + " cannot work with this configuration" + when + ": "
                + e.getMessage(), true, null, null, null, e);
    }

    /** Deletes the TXT record through the provider (also after a failed validation). */
    @Override
    public void cleanUp(Challenge challenge) throws Exception {
        provider.deleteTxt(challenge.dnsTxtName().toLowerCase(Locale.ROOT), challenge.dnsTxtValue());
    }

    /** The servers asked by the propagation check, each with the name it is known by in messages. */
    private record Target(String label, List<InetSocketAddress> addresses) {
    }

    void awaitPropagation(String fqdn, String value) throws IOException, TimeoutException, InterruptedException {
        long start = System.nanoTime();
        long deadline = start + propagationTimeout.toNanos();
        Name name = DnsLookup.absolute(fqdn);
        List<Target> targets = checkServers.isEmpty() ? discover(name, deadline) : configuredTargets();
        Map<Target, String> waiting = new LinkedHashMap<>();
        for (Target t : targets) {
            waiting.put(t, "not asked yet");
        }
        // bounded: every round sleeps pollInterval (> 0) and the loop ends at the deadline
        for (int round = 1; ; round++) {
            for (Map.Entry<Target, String> e : waiting.entrySet()) {
                e.setValue(check(e.getKey(), name, value, deadline));
            }
            waiting.values().removeIf(Objects::isNull);
            if (waiting.isEmpty()) {
                LOG.info("autocert4j: DNS-01 TXT {} is served by {} after {} ms", fqdn,
                        targets.stream().map(Target::label).toList(), (System.nanoTime() - start) / 1_000_000);
                return;
            }
            long left = deadline - System.nanoTime();
            if (left < pollInterval.toNanos()) {
                StringBuilder sb = new StringBuilder();
                waiting.forEach((t, why) -> sb.append(sb.length() == 0 ? "" : "; ").append(t.label()).append(": ")
                        .append(why));
                List<String> silent = waiting.entrySet().stream().filter(e -> e.getValue().startsWith("no answer"))
                        .map(e -> e.getKey().label()).toList();
                if (!silent.isEmpty()) {
                    throw new TimeoutException("DNS-01: the name server(s) " + silent + " did not answer the TXT query"
                            + " for " + fqdn + " within " + propagationTimeout.toMillis() + " ms (" + round
                            + " checks): " + sb + ". The record was created through " + provider + " and is deleted"
                            + " again. Fix: check that these servers run and answer DNS queries on UDP port "
                            + "53 (or the port given) from this host, that no firewall blocks them, or set"
                            + " Dns01Solver.builder().checkServers(...) to servers this host can reach");
                }
                throw new TimeoutException("DNS-01: the TXT record " + fqdn + " (value " + value + ") was not served"
                        + " by every authoritative server within " + propagationTimeout.toSeconds() + " s ("
                        + round + " checks); still missing on " + sb + ". It was created through " + provider
                        + " and is deleted again. Fix: check that the provider updates the zone these servers serve"
                        + " (a hidden primary must notify its secondaries), or raise"
                        + " Dns01Solver.builder().propagationTimeout(...)");
            }
            LOG.debug("autocert4j: DNS-01 TXT {} not yet served by {}", fqdn, waiting);
            Thread.sleep(pollInterval.toMillis());
        }
    }

    /** Null when one of the target's addresses serves {@code value} at {@code name}, else what it answered. */
    private static String check(Target target, Name name, String value, long deadline) throws InterruptedException {
        List<String> answers = new ArrayList<>();
        for (InetSocketAddress a : target.addresses()) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            Duration timeout = queryTimeout(deadline);
            if (timeout == null) {
                answers.add("not asked (out of time)");
                continue;
            }
            try {
                Message m = DnsLookup.query(a, name, Type.TXT, false, timeout);
                List<String> values = DnsLookup.txtValues(m, name);
                if (m.getRcode() == Rcode.NOERROR && values.contains(value)) {
                    return null;
                }
                answers.add(m.getRcode() != Rcode.NOERROR ? "answered " + Rcode.string(m.getRcode())
                        : values.isEmpty() ? "answered without a TXT record"
                        : "answered " + values.size() + " other TXT value(s)");
            } catch (IOException e) {
                answers.add("no answer from " + DnsLookup.text(a) + " within " + timeout.toMillis() + " ms ("
                        + DnsLookup.why(e) + ")");
            }
        }
        return String.join(", ", answers);
    }

    private static Duration queryTimeout(long deadline) {
        try {
            return DnsLookup.timeLeft(deadline, QUERY_TIMEOUT);
        } catch (IOException outOfTime) {
            return null;
        }
    }

    private List<Target> configuredTargets() {
        return checkServers.stream().map(a -> new Target(DnsLookup.text(a), List.of(a))).toList();
    }

    /** The zone's name servers, from its NS set, each with its addresses, found through the resolvers. */
    private List<Target> discover(Name name, long deadline) throws IOException {
        List<InetSocketAddress> via = resolvers.isEmpty() ? ResolverConfig.getCurrentConfig().servers() : resolvers;
        if (via.isEmpty()) {
            throw new IOException("DNS-01: no DNS resolver to find the name servers of " + DnsLookup.text(name)
                    + ". Fix: configure the system's resolvers, or set Dns01Solver.builder().resolvers(...) or"
                    + " .checkServers(...)");
        }
        Name zone;
        try {
            zone = DnsLookup.findZone(name, via, true, QUERY_TIMEOUT, deadline);
        } catch (IOException e) {
            throw new IOException("DNS-01: " + e.getMessage() + ". Fix: check that the name is in a public zone, or"
                    + " set Dns01Solver.builder().checkServers(...) to the servers that serve it", e);
        }
        Message ns = DnsLookup.queryAny(via, zone, Type.NS, true, QUERY_TIMEOUT, deadline);
        List<Name> hosts = new ArrayList<>();
        for (Record r : ns.getSection(Section.ANSWER)) {
            if (r instanceof NSRecord n && r.getName().equals(zone) && !hosts.contains(n.getTarget())
                    && hosts.size() < MAX_NAME_SERVERS) {
                hosts.add(n.getTarget());
            }
        }
        if (hosts.isEmpty()) {
            throw new IOException("DNS-01: the zone " + DnsLookup.text(zone) + " of " + DnsLookup.text(name)
                    + " has no NS records (answer " + Rcode.string(ns.getRcode()) + "). Fix: set"
                    + " Dns01Solver.builder().checkServers(...) to the servers that serve it");
        }
        List<Target> targets = new ArrayList<>();
        List<String> unresolved = new ArrayList<>();
        for (Name host : hosts) {
            List<InetSocketAddress> addresses = new ArrayList<>();
            for (int type : new int[] {Type.A, Type.AAAA}) {
                try {
                    Message m = DnsLookup.queryAny(via, host, type, true, QUERY_TIMEOUT, deadline);
                    for (Record r : m.getSection(Section.ANSWER)) {
                        InetAddress ip = r instanceof ARecord a ? a.getAddress()
                                : r instanceof AAAARecord aaaa ? aaaa.getAddress() : null;
                        if (ip != null && r.getName().equals(host)) {
                            addresses.add(new InetSocketAddress(ip, nameServerPort));
                        }
                    }
                } catch (IOException e) {
                    LOG.debug("autocert4j: DNS-01: no {} for name server {}: {}", Type.string(type), host, e.getMessage());
                }
            }
            if (addresses.isEmpty()) {
                unresolved.add(DnsLookup.text(host));
            } else {
                targets.add(new Target(DnsLookup.text(host), addresses));
            }
        }
        if (!unresolved.isEmpty()) {
            // a name server that cannot be asked may be the one the CA asks: do not pass it silently
            throw new IOException("DNS-01: cannot find the addresses of the name server(s) " + unresolved + " of zone "
                    + DnsLookup.text(zone) + " through " + via.stream().map(DnsLookup::text).toList() + ". Fix: check"
                    + " the zone's NS records, or set Dns01Solver.builder().checkServers(...)");
        }
        LOG.debug("autocert4j: DNS-01: zone {} of {} is served by {}", zone, name, targets);
        return targets;
    }

    /** Provider, timeouts and which servers are checked. */
    @Override
    public String toString() {
        return "Dns01Solver[provider " + provider + ", propagationTimeout " + propagationTimeout.toSeconds()
                + " s, poll " + pollInterval.toMillis() + " ms, "
                + (checkServers.isEmpty() ? "checks the zone's name servers"
                : "checks " + checkServers.stream().map(DnsLookup::text).toList()) + "]";
    }

    /**
     * Configures a {@link Dns01Solver}; {@link #build()} checks everything at once and names each wrong field
     * with its fix.
     *
     * <pre>{@code
     * Dns01Solver dns01 = Dns01Solver.builder()
     *         .provider(myProvider)
     *         .propagationTimeout(Duration.ofMinutes(5))   // slow secondaries
     *         .checkServers(new InetSocketAddress("10.0.0.53", 53))
     *         .build();
     * }</pre>
     */
    public static final class Builder {
        private DnsProvider provider;
        private Duration propagationTimeout = Duration.ofSeconds(60);
        private Duration pollInterval = Duration.ofSeconds(2);
        private final List<InetSocketAddress> checkServers = new ArrayList<>();
        private final List<InetSocketAddress> resolvers = new ArrayList<>();
        private final List<String> problems = new ArrayList<>();
        private int nameServerPort = 53;

        private Builder() {
        }

        /** Creates and deletes the TXT records, e.g. an {@link Rfc2136Provider}. Required. */
        public Builder provider(DnsProvider provider) {
            this.provider = provider;
            return this;
        }

        /**
         * How long {@link Dns01Solver#present} waits for every authoritative server to serve the record;
         * default 60 s. The whole order, this wait included, must finish within the renewal policy's
         * {@code orderTimeout} (2 minutes by default): raise that too when you raise this.
         */
        public Builder propagationTimeout(Duration timeout) {
            this.propagationTimeout = timeout;
            return this;
        }

        /** Pause between two rounds of the propagation check; default 2 s. */
        public Builder propagationPollInterval(Duration interval) {
            this.pollInterval = interval;
            return this;
        }

        /**
         * Asks these servers (address and port) instead of the zone's discovered name servers. For split-horizon
         * DNS, networks that block outgoing port 53, or a test server on a loopback port.
         */
        public Builder checkServers(InetSocketAddress... servers) {
            addAll(checkServers, "checkServers", servers);
            return this;
        }

        /**
         * Recursive resolvers used to find the zone, its name servers and their addresses; default: the system's
         * resolvers ({@code /etc/resolv.conf}). Not used with {@link #checkServers}.
         */
        public Builder resolvers(InetSocketAddress... resolvers) {
            addAll(this.resolvers, "resolvers", resolvers);
            return this;
        }

        /** Port of discovered name servers (53); other values only for tests on loopback. */
        Builder nameServerPort(int port) {
            this.nameServerPort = port;
            return this;
        }

        private void addAll(List<InetSocketAddress> list, String field, InetSocketAddress[] servers) {
            if (servers == null || servers.length == 0) {
                problems.add(field + ": no server given. Fix: ." + field + "(new InetSocketAddress(\"192.0.2.53\", 53))");
                return;
            }
            for (InetSocketAddress s : Arrays.asList(servers)) {
                if (s == null || s.isUnresolved() || s.getPort() < 1) {
                    problems.add(field + ": '" + s + "' is not a resolved address with a port. Fix: ." + field
                            + "(new InetSocketAddress(\"192.0.2.53\", 53))");
                } else {
                    list.add(s);
                }
            }
        }

        /**
         * Checks the configuration and creates the solver.
         *
         * @throws IllegalArgumentException naming every wrong field and its fix
         */
        public Dns01Solver build() {
            List<String> errors = new ArrayList<>(problems);
            if (provider == null) {
                errors.add("provider: not set. Fix: .provider(Rfc2136Provider.builder()...build()) or your own"
                        + " DnsProvider");
            }
            if (propagationTimeout == null || propagationTimeout.toMillis() < 1 || propagationTimeout.toHours() > 24) {
                errors.add("propagationTimeout: " + propagationTimeout + " is not between 1 ms and 24 h. Fix:"
                        + " .propagationTimeout(Duration.ofSeconds(60))");
            }
            if (pollInterval == null || pollInterval.toMillis() < 10) {
                errors.add("propagationPollInterval: " + pollInterval + " is shorter than 10 ms. Fix:"
                        + " .propagationPollInterval(Duration.ofSeconds(2))");
            } else if (propagationTimeout != null && pollInterval.compareTo(propagationTimeout) > 0) {
                errors.add("propagationPollInterval: " + pollInterval + " is longer than propagationTimeout "
                        + propagationTimeout + ", so the record would be checked only once. Fix: a shorter"
                        + " interval, e.g. Duration.ofSeconds(2)");
            }
            if (!checkServers.isEmpty() && !resolvers.isEmpty()) {
                errors.add("resolvers: not used when checkServers is set. Fix: drop one of them");
            }
            if (nameServerPort < 1 || nameServerPort > 65535) {
                errors.add("nameServerPort: " + nameServerPort + " is not a port. Fix: leave it at 53");
            }
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException("invalid Dns01Solver configuration:\n  - "
                        + String.join("\n  - ", errors));
            }
            return new Dns01Solver(this);
        }
    }
}
