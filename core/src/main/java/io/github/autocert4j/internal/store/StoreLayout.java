package io.github.autocert4j.internal.store;

import java.net.URI;
import java.util.Locale;

/**
 * Where things live inside a {@link CertStore}.
 *
 * <p>Accounts are per CA (like CertMagic): an account belongs to one ACME directory. Certificates
 * are per certificate id, whichever issuer issued them; their metadata records the issuer, so a
 * certificate from a CA that is no longer configured (say, staging after a switch to production)
 * is replaced at the first check, and a certificate from a failover CA is found like any other.
 *
 * <pre>
 * acme/127.0.0.1-14000-dir/account/account.key.pem   ACME account key pair (0600)
 * acme/127.0.0.1-14000-dir/account/account.url       account location at that CA
 * acme/127.0.0.1-14000-dir/account/account.key.pending.pem  new key of a key rollover in progress (or interrupted)
 * acme/127.0.0.1-14000-dir/account/deactivated       when and which account was deactivated: no more orders
 * acme/127.0.0.1-14000-dir/account/rolled-over       the last key rollover: old and new key thumbprint, signed by the old key
 * acme/127.0.0.1-14000-dir/account/issuers/{sha256}.crt  an issuer certificate presented at issuance ({@link IssuerRecord})
 * certs/example.com/example.com.pem                  private key + chain, one atomic file
 * certs/example.com/example.com.properties           names, issuer, profile, issuedAt, serial,
 *                                                    ari.* (ARI window, the fleet's pick, next fetch)
 * challenges/http-01/{token}                          HTTP-01 key authorization while an order is pending
 * challenges/tls-alpn-01/{identifier}                 TLS-ALPN-01 key authorization while an order is pending
 * </pre>
 */
public final class StoreLayout {
    private final String base;

    public StoreLayout(URI directory) {
        this.base = "acme/" + caId(directory);
    }

    /** The id of an ACME CA: host, non-default port and path, e.g. {@code acme-v02.api.letsencrypt.org-directory}. */
    public static String caId(URI directory) {
        // https://ca/dir and https://ca:443/dir are one CA: the default port is left out.
        boolean explicitPort = directory.getPort() > 0 && directory.getPort() != 443;
        String id = directory.getHost() + (explicitPort ? "-" + directory.getPort() : "")
                + (directory.getPath() == null ? "" : directory.getPath());
        return sanitize(id);
    }

    /**
     * A store key segment for {@code s}: lower case, '*' spelled "wildcard_", every run of characters
     * other than a-z, 0-9, '.', '_', '@' and '-' one '-', no leading or trailing '-', no "..". What
     * {@code replaceAll("[^a-z0-9._@-]+", "-").replaceAll("^-+|-+$", "")} did, as a loop: start-up
     * computes it for every certificate (StoreLayoutTest checks the two agree).
     */
    public static String sanitize(String s) {
        String lower = s.toLowerCase(Locale.ROOT).replace("*", "wildcard_");
        StringBuilder b = new StringBuilder(lower.length());
        boolean inRun = false;
        for (int i = 0; i < lower.length(); i++) {
            char c = lower.charAt(i);
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' || c == '-') {
                b.append(c);
                inRun = false;
            } else if (!inRun) {
                b.append('-');
                inRun = true;
            }
        }
        int from = 0;
        int to = b.length();
        while (from < to && b.charAt(from) == '-') {
            from++;
        }
        while (to > from && b.charAt(to - 1) == '-') {
            to--;
        }
        return b.substring(from, to).replace("..", "-");
    }

    public String accountKey() {
        return base + "/account/account.key.pem";
    }

    public String accountLocation() {
        return base + "/account/account.url";
    }

    /** The new account key of a key rollover, written before the CA is asked and promoted after (RFC 8555 §7.3.5). */
    public String accountKeyPending() {
        return base + "/account/account.key.pending.pem";
    }

    /** The last key rollover's hand-over, signed with the old key ({@code RolloverRecord}). */
    public String accountKeyRolledOver() {
        return base + "/account/rolled-over";
    }

    /** Present once the account was deactivated (RFC 8555 §7.3.6): orders are refused until a new account is asked for. */
    public String accountDeactivated() {
        return base + "/account/deactivated";
    }

    public String accountLock() {
        return sanitize(base) + "-account";
    }

    public static String certBundle(String certId) {
        String id = sanitize(certId);
        return certsPrefix() + id + "/" + id + ".pem";
    }

    /** The directory name ({@code sanitize(certId)}) of a {@link #certBundle} key, or null if the key is not a bundle. */
    public static String certDirOfBundle(String key) {
        String prefix = certsPrefix();
        int slash = key.indexOf('/', prefix.length());
        return key.startsWith(prefix) && key.endsWith(".pem") && slash > prefix.length() ? key.substring(prefix.length(), slash) : null;
    }

    public static String certMeta(String certId) {
        String id = sanitize(certId);
        return certsPrefix() + id + "/" + id + ".properties";
    }

    /**
     * The lock under which the library writes the value at {@code key}: a certificate bundle's
     * {@link #certLock}, an account key's {@link #accountLock}; null for every other key.
     */
    public static String lockOfKey(String key) {
        String[] p = key.split("/");
        if (p.length == 3 && (p[0] + "/").equals(certsPrefix()) && p[2].equals(p[1] + ".pem")) {
            return "cert-" + p[1];
        }
        if (p.length == 4 && p[0].equals("acme") && p[2].equals("account")
                && (p[3].equals("account.key.pem") || p[3].equals("account.key.pending.pem"))) {
            return sanitize("acme/" + p[1]) + "-account";
        }
        return null;
    }

    public static String certLock(String certId) {
        return "cert-" + sanitize(certId);
    }

    /** Prefix under which every certificate lives. */
    public static String certsPrefix() {
        return "certs/";
    }

    /** Where a pending HTTP-01 key authorization is published for the other servers sharing the store. */
    public static String http01Challenge(String token) {
        return http01Prefix() + token;
    }

    public static String http01Prefix() {
        return "challenges/http-01/";
    }

    /**
     * Where a pending TLS-ALPN-01 key authorization for {@code identifier} is published for the other
     * servers (IPv6 colons become underscores, so distinct addresses never share a key).
     */
    public static String tlsAlpn01Challenge(String identifier) {
        return "challenges/tls-alpn-01/" + sanitize(identifier.replace(':', '_'));
    }
}
