package io.github.autocert4j.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.TSIGRecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Update;

/**
 * A {@link DnsProvider} that changes TXT records by RFC 2136 dynamic updates signed with a TSIG key (RFC 8945),
 * sent over TCP to the zone's primary server: BIND, Knot, PowerDNS, NSD-fronting setups, Windows DNS with TSIG.
 *
 * <p>The server must allow the key to update TXT records of the zone (Knot: an {@code acl} with
 * {@code action: update} and {@code key}; BIND: {@code update-policy { grant KEY zonesub TXT; };}). Generate a key
 * with {@code tsig-keygen -a hmac-sha256 acme-key} (BIND) or {@code keymgr -t acme-key hmac-sha256} (Knot) and pass
 * its name and base64 secret. The zone is found by asking the server for the SOA unless given with {@link
 * Builder#zone}. The secret is never logged or shown in {@link #toString()}.
 *
 * <pre>{@code
 * Rfc2136Provider rfc2136 = Rfc2136Provider.builder()
 *         .server(new InetSocketAddress("ns1.example.com", 53))
 *         .tsigKey("acme-key", System.getenv("ACME_TSIG_SECRET"))   // hmac-sha256 unless .tsigAlgorithm(...)
 *         .zone("example.com")                                       // optional: found by SOA otherwise
 *         .build();
 * }</pre>
 */
public final class Rfc2136Provider implements DnsProvider {

    private static final Logger LOG = LoggerFactory.getLogger(Rfc2136Provider.class);

    private static final Map<String, Name> ALGORITHMS = Map.of(
            "hmac-sha256", TSIG.HMAC_SHA256,
            "hmac-sha384", TSIG.HMAC_SHA384,
            "hmac-sha512", TSIG.HMAC_SHA512,
            "hmac-sha224", TSIG.HMAC_SHA224,
            "hmac-sha1", TSIG.HMAC_SHA1,
            "hmac-md5", TSIG.HMAC_MD5);

    private final InetSocketAddress server;
    private final Name keyName;
    private final String algorithm;
    private final TSIG tsig;
    private final Name zone;
    private final long ttlSeconds;
    private final Duration timeout;

    private Rfc2136Provider(Builder b, Name keyName, Name algorithmName, Name zone) {
        this.server = b.server;
        this.keyName = keyName;
        this.algorithm = b.algorithm.toLowerCase(Locale.ROOT);
        this.tsig = new TSIG(algorithmName, keyName, b.secret);
        this.zone = zone;
        this.ttlSeconds = b.ttl.getSeconds();
        this.timeout = b.timeout;
    }

    /** Starts a configuration; {@link Builder#server} and {@link Builder#tsigKey} are required. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void createTxt(String fqdn, String value) throws IOException {
        Name name = checkedName(fqdn);
        Name z = zoneOf(name);
        Update update = new Update(z);
        update.add(new TXTRecord(name, DClass.IN, ttlSeconds, checkedValue(value)));
        send(update, "add TXT " + fqdn, name, z);
        LOG.debug("autocert4j: added TXT {} in zone {} on {}", fqdn, DnsLookup.text(z), DnsLookup.text(server));
    }

    @Override
    public void deleteTxt(String fqdn, String value) throws IOException {
        Name name = checkedName(fqdn);
        Name z = zoneOf(name);
        Update update = new Update(z);
        // class NONE, TTL 0: removes exactly this value (RFC 2136 §2.5.4); other values at the name stay
        update.delete(new TXTRecord(name, DClass.IN, 0, checkedValue(value)));
        send(update, "delete TXT " + fqdn, name, z);
        LOG.debug("autocert4j: deleted TXT {} in zone {} on {}", fqdn, DnsLookup.text(z), DnsLookup.text(server));
    }

    /** The TXT value the pre-flight check deletes: never a DNS-01 value (those are 43 base64url characters). */
    static final String PROBE_VALUE = "autocert4j-preflight-probe";

    /**
     * Checks, changing nothing that is served, that this server takes signed updates of TXT records at {@code fqdn}:
     * finds the zone, then sends a signed update that deletes a TXT value nobody uses (RFC 2136 §3.4.2.4: deleting
     * an absent record is no change), so the key, the secret, the zone and the server's update policy are all
     * exercised. A refusal is a {@code DnsConfigurationException} naming the server and the fix; a server that does
     * not answer is a plain {@link IOException}.
     */
    @Override
    public void check(String fqdn) throws IOException {
        Name name = checkedName(fqdn);
        Name z = zoneOf(name);
        Update update = new Update(z);
        update.delete(new TXTRecord(name, DClass.IN, 0, PROBE_VALUE));
        send(update, "pre-flight check: delete an unused TXT value at " + fqdn, name, z);
        LOG.debug("autocert4j: {} takes signed TXT updates at {} in zone {}", DnsLookup.text(server), fqdn, DnsLookup.text(z));
    }

    private static Name checkedName(String fqdn) {
        if (!DnsLookup.isFqdn(fqdn == null ? null : fqdn.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("fqdn: '" + fqdn + "' is not an absolute DNS name without trailing dot,"
                    + " e.g. \"_acme-challenge.example.com\"");
        }
        return DnsLookup.absolute(fqdn);
    }

    private static String checkedValue(String value) {
        if (value == null || value.isEmpty() || value.length() > 255 || !value.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("value: a TXT value of 1..255 printable ASCII characters is needed, got "
                    + (value == null ? "null" : value.length() + " characters"));
        }
        return value;
    }

    private Name zoneOf(Name name) throws IOException {
        if (zone != null) {
            if (!name.subdomain(zone)) {
                throw new DnsConfigurationException("cannot update " + DnsLookup.text(name) + ": it is not in the configured zone "
                        + DnsLookup.text(zone) + ". Fix: set .zone() to the zone that contains it, or leave zone out"
                        + " to find it by SOA");
            }
            return zone;
        }
        try {
            // the primary is authoritative for the zone: ask it, without recursion
            return DnsLookup.findZone(name, List.of(server), false, timeout, System.nanoTime() + timeout.toNanos());
        } catch (DnsLookup.NoAnswerException e) {
            throw new IOException("the DNS server " + DnsLookup.text(server) + " did not answer the SOA query for the"
                    + " zone of " + DnsLookup.text(name) + " within " + timeout.toMillis() + " ms (" + DnsLookup.why(e)
                    + "). Fix: check that the server runs and answers on port " + server.getPort() + " (UDP and TCP)"
                    + " there, that no firewall blocks it, or raise Rfc2136Provider.builder().timeout(...)", e);
        } catch (IOException e) {
            throw new DnsConfigurationException(e.getMessage() + ". Fix: check that " + DnsLookup.text(server)
                    + " is the primary server of the zone of " + DnsLookup.text(name) + ", or set .zone(\"example.com\")",
                    e);
        }
    }

    private void send(Update update, String what, Name name, Name z) throws IOException {
        SimpleResolver resolver = new SimpleResolver(server);
        resolver.setTCP(true);
        resolver.setTimeout(timeout);
        resolver.setTSIGKey(tsig);
        Message response;
        try {
            response = resolver.send(update);
        } catch (IOException e) {
            throw new IOException("the DNS server " + DnsLookup.text(server) + " did not answer the update (" + what
                    + ") within " + timeout.toMillis() + " ms (" + DnsLookup.why(e) + "). Fix: check that it runs and"
                    + " listens on TCP port " + server.getPort() + " there, that no firewall blocks it, or raise"
                    + " Rfc2136Provider.builder().timeout(...)", e);
        }
        int rcode = response.getRcode();
        TSIGRecord signature = response.getTSIG();
        int tsigError = signature == null ? Rcode.NOERROR : signature.getError();
        String prefix = "the DNS server " + DnsLookup.text(server) + " refused the update (" + what + " in zone "
                + DnsLookup.text(z) + "): ";
        if (tsigError != Rcode.NOERROR || rcode == Rcode.NOTAUTH && signature != null) {
            int error = tsigError == Rcode.NOERROR ? rcode : tsigError;
            // a clock skew (BADTIME) may be fixed by NTP on its own: retried; a key the server refuses is not
            throw error == Rcode.BADTIME ? new IOException(prefix + tsigProblem(error))
                    : new DnsConfigurationException(prefix + tsigProblem(error));
        }
        if (rcode == Rcode.NOERROR) {
            if (!response.isVerified()) {
                throw new DnsConfigurationException("the DNS server " + DnsLookup.text(server) + " answered the update (" + what
                        + ") without a valid signature of TSIG key '" + keyText() + "', so its success cannot be"
                        + " trusted. Fix: check that the server has the same key secret and algorithm (" + algorithm
                        + ")");
            }
            return;
        }
        boolean configuration = rcode == Rcode.REFUSED || rcode == Rcode.NOTAUTH || rcode == Rcode.NOTZONE
                || rcode == Rcode.NOTIMP;
        throw configuration ? new DnsConfigurationException(prefix + rcodeProblem(rcode, name, z))
                : new IOException(prefix + rcodeProblem(rcode, name, z));
    }

    private String tsigProblem(int error) {
        String key = "TSIG key '" + keyText() + "' (" + algorithm + ")";
        return switch (error) {
            case Rcode.BADSIG -> key + " not accepted (BADSIG): the signature did not verify. Fix: check the key name"
                    + " and secret; they must match the key configured on the server";
            case Rcode.BADKEY -> key + " is unknown to the server or not allowed to make this change (BADKEY)."
                    + " Fix: use the key name and algorithm configured on the server, and allow the key to update TXT"
                    + " records in the zone (Knot: acl with action: update and this key; BIND: update-policy { grant "
                    + keyText() + " zonesub TXT; };)";
            case Rcode.BADTIME -> key + " was rejected because the clocks differ by more than "
                    + TSIG.FUDGE.toSeconds() + " s (BADTIME). Fix: synchronise this machine's clock (NTP)";
            case Rcode.NOTAUTH -> key + " not accepted (NOTAUTH). Fix: check the key name, algorithm and secret";
            default -> key + " not accepted (" + Rcode.TSIGstring(error) + "). Fix: check the key name, algorithm"
                    + " and secret";
        };
    }

    private String rcodeProblem(int rcode, Name name, Name z) {
        return switch (rcode) {
            case Rcode.REFUSED -> "REFUSED: its policy does not let TSIG key '" + keyText() + "' change TXT records at "
                    + DnsLookup.text(name) + ". Fix: allow the key to update TXT records in the zone (Knot: acl with"
                    + " action: update and this key; BIND: update-policy { grant " + keyText() + " zonesub TXT; };)";
            case Rcode.NOTAUTH -> "NOTAUTH: it is not the primary (authoritative) server of " + DnsLookup.text(z)
                    + ". Fix: send updates to the zone's primary server, or set .zone() to the right zone";
            case Rcode.NOTZONE -> "NOTZONE: " + DnsLookup.text(name) + " is not in zone " + DnsLookup.text(z)
                    + ". Fix: set .zone() to the zone that contains it, or leave zone out to find it by SOA";
            case Rcode.SERVFAIL -> "SERVFAIL: the server failed to apply it. Fix: look at the DNS server's log";
            case Rcode.NOTIMP -> "NOTIMP: the server does not implement dynamic updates. Fix: enable dynamic"
                    + " updates for the zone on its primary server";
            default -> Rcode.string(rcode) + ". Fix: look at the DNS server's log";
        };
    }

    private String keyText() {
        return DnsLookup.text(keyName);
    }

    /** Server, zone, key name, algorithm and TTL; never the secret. */
    @Override
    public String toString() {
        return "Rfc2136Provider[server " + DnsLookup.text(server) + ", zone "
                + (zone == null ? "(found by SOA)" : DnsLookup.text(zone)) + ", TSIG key " + keyText() + " ("
                + algorithm + "), ttl " + ttlSeconds + " s]";
    }

    /**
     * Configures an {@link Rfc2136Provider}; {@link #build()} checks everything at once and names each wrong
     * field with its fix.
     *
     * <pre>{@code
     * Rfc2136Provider p = Rfc2136Provider.builder()
     *         .server("127.0.0.1", 5353)
     *         .tsigKey("acme-key", "base64secret...")
     *         .ttl(Duration.ofSeconds(30))
     *         .build();
     * }</pre>
     */
    public static final class Builder {
        private InetSocketAddress server;
        private String serverProblem;
        private String keyName;
        private String secret;
        private String algorithm = "hmac-sha256";
        private String zone;
        private Duration ttl = Duration.ofSeconds(60);
        private Duration timeout = Duration.ofSeconds(10);

        private Builder() {
        }

        /** The zone's primary server, which takes the updates (over TCP). Required. */
        public Builder server(InetSocketAddress server) {
            this.server = server;
            this.serverProblem = null;
            return this;
        }

        /** The zone's primary server by host name or address and port (usually 53); resolved now. Required. */
        public Builder server(String host, int port) {
            if (host == null || host.isBlank() || port < 1 || port > 65535) {
                this.server = null;
                this.serverProblem = "server: '" + host + "' port " + port + " is not a host and port. Fix:"
                        + " .server(\"ns1.example.com\", 53)";
            } else {
                this.server = new InetSocketAddress(host, port);
                this.serverProblem = null;
            }
            return this;
        }

        /**
         * The TSIG key that the server accepts for updates: its name (e.g. {@code "acme-key"}) and its secret in
         * base64, as in the key file. Required.
         */
        public Builder tsigKey(String name, String base64Secret) {
            this.keyName = name;
            this.secret = base64Secret;
            return this;
        }

        /**
         * The TSIG algorithm: {@code hmac-sha256} (default), {@code hmac-sha384}, {@code hmac-sha512},
         * {@code hmac-sha224}, or the legacy {@code hmac-sha1} and {@code hmac-md5}.
         */
        public Builder tsigAlgorithm(String algorithm) {
            this.algorithm = algorithm;
            return this;
        }

        /** The zone to update, e.g. {@code "example.com"}; optional: by default found by asking the server for the SOA. */
        public Builder zone(String zone) {
            this.zone = zone;
            return this;
        }

        /** TTL of the TXT records; default 60 s. Short is better: resolvers should not cache challenge records. */
        public Builder ttl(Duration ttl) {
            this.ttl = ttl;
            return this;
        }

        /** How long to wait for the server's answer to one update or SOA query; default 10 s. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /**
         * Checks the configuration and creates the provider.
         *
         * @throws IllegalArgumentException naming every wrong field and its fix
         */
        public Rfc2136Provider build() {
            List<String> errors = new ArrayList<>();
            if (serverProblem != null) {
                errors.add(serverProblem);
            } else if (server == null) {
                errors.add("server: not set. Fix: .server(\"ns1.example.com\", 53) with the zone's primary server");
            } else if (server.isUnresolved()) {
                errors.add("server: cannot resolve '" + server.getHostString() + "'. Fix: use a resolvable host name"
                        + " or an IP address");
            }
            Name key = null;
            if (keyName == null || keyName.isBlank()) {
                errors.add("tsigKey: no key name. Fix: .tsigKey(\"acme-key\", secret) with the name of the key"
                        + " configured on the server");
            } else if (!DnsLookup.isFqdn(keyName.toLowerCase(Locale.ROOT).replaceAll("\\.$", "") + ".key")) {
                errors.add("tsigKey: '" + keyName + "' is not a key name. Fix: use the key's name as configured on"
                        + " the server, e.g. \"acme-key\"");
            } else {
                key = DnsLookup.absolute(keyName);
            }
            if (secret == null || secret.isBlank()) {
                errors.add("tsigKey: no secret. Fix: pass the key's base64 secret from its key file");
            } else {
                try {
                    if (Base64.getDecoder().decode(secret.strip()).length < 16) {
                        errors.add("tsigKey: the secret is shorter than 16 bytes. Fix: generate a key with"
                                + " tsig-keygen -a hmac-sha256 or keymgr -t NAME hmac-sha256");
                    }
                } catch (IllegalArgumentException e) {
                    // never echo the secret itself
                    errors.add("tsigKey: the secret is not base64. Fix: pass the secret exactly as in the key file");
                }
            }
            Name algorithmName = algorithm == null ? null
                    : ALGORITHMS.get(algorithm.toLowerCase(Locale.ROOT).replaceAll("\\.$", ""));
            if (algorithmName == null) {
                errors.add("tsigAlgorithm: '" + algorithm + "' is not supported. Fix: use one of "
                        + ALGORITHMS.keySet().stream().sorted().toList() + " (the server's key has one of them)");
            }
            Name zoneName = null;
            if (zone != null) {
                String z = zone.toLowerCase(Locale.ROOT).replaceAll("\\.$", "");
                if (!DnsLookup.isFqdn(z)) {
                    errors.add("zone: '" + zone + "' is not a zone name. Fix: e.g. .zone(\"example.com\"), or leave it"
                            + " out to find the zone by SOA");
                } else {
                    zoneName = DnsLookup.absolute(z);
                }
            }
            if (ttl == null || ttl.isNegative() || ttl.getSeconds() < 1 || ttl.getSeconds() > 86400) {
                errors.add("ttl: " + ttl + " is not between 1 s and 1 day. Fix: .ttl(Duration.ofSeconds(60))");
            }
            if (timeout == null || timeout.isNegative() || timeout.toMillis() < 100) {
                errors.add("timeout: " + timeout + " is too short. Fix: .timeout(Duration.ofSeconds(10))");
            }
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException("invalid Rfc2136Provider configuration:\n  - "
                        + String.join("\n  - ", errors));
            }
            secret = secret.strip();
            return new Rfc2136Provider(this, key, algorithmName, zoneName);
        }
    }
}
