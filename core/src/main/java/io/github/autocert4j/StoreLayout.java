package io.github.autocert4j;

import java.net.URI;
import java.util.Locale;

/**
 * Where things live inside a {@link CertStore}, per CA (like CertMagic): an account and the
 * certificates it obtained from one directory never mix with another CA's.
 *
 * <pre>
 * acme/127.0.0.1-14000-dir/account/account.key.pem   account key pair (0600)
 * acme/127.0.0.1-14000-dir/account/account.url       account location at the CA
 * acme/127.0.0.1-14000-dir/certs/example.com/example.com.pem    private key + chain, one atomic file
 * acme/127.0.0.1-14000-dir/certs/example.com/example.com.json   profile, names, last renewal info
 * </pre>
 */
final class StoreLayout {
    private final String base;

    StoreLayout(URI directory) {
        // https://ca/dir and https://ca:443/dir are one CA: the default port is left out.
        boolean explicitPort = directory.getPort() > 0 && directory.getPort() != 443;
        String id = directory.getHost() + (explicitPort ? "-" + directory.getPort() : "")
                + (directory.getPath() == null ? "" : directory.getPath());
        this.base = "acme/" + sanitize(id);
    }

    static String sanitize(String s) {
        String lower = s.toLowerCase(Locale.ROOT).replace("*", "wildcard_");
        String cleaned = lower.replaceAll("[^a-z0-9._@-]+", "-").replaceAll("^-+|-+$", "");
        return cleaned.replace("..", "-");
    }

    String accountKey() {
        return base + "/account/account.key.pem";
    }

    String accountLocation() {
        return base + "/account/account.url";
    }

    String accountLock() {
        return sanitize(base) + "-account";
    }

    String certBundle(String certId) {
        String id = sanitize(certId);
        return base + "/certs/" + id + "/" + id + ".pem";
    }

    String certMeta(String certId) {
        String id = sanitize(certId);
        return base + "/certs/" + id + "/" + id + ".json";
    }

    String certLock(String certId) {
        return sanitize(base) + "-cert-" + sanitize(certId);
    }

    /** Prefix under which every certificate bundle of this CA lives. */
    String certsPrefix() {
        return base + "/certs/";
    }
}
