package io.github.autocert4j;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * One ACME CA and the settings that belong to it alone: the directory, the certificates to trust
 * for its API (private CAs only), its external account binding, and the chain to prefer among
 * the ones it offers. Accounts are kept per CA in the store.
 *
 * <p>The builder's {@code directory(...)}, {@code acmeServerTrust(...)},
 * {@code externalAccountBinding(...)} and {@code preferredChain(...)} configure the first CA;
 * {@code acmeCa(...)} adds further CAs, tried in order when the ones before them fail (an outage,
 * a rate limit). The same value configures a dry run's CA ({@code AutoCert.dryRun(AcmeCa)}).
 *
 * <pre>{@code
 * AcmeCa zeroSsl = AcmeCa.of("https://acme.zerossl.com/v2/DV90")
 *         .withExternalAccountBinding("kid-from-zerossl", "hmac-key-base64url");
 * AutoCert autoCert = AutoCert.builder()
 *         .directory(AutoCert.LETS_ENCRYPT_PRODUCTION)
 *         .acmeCa(zeroSsl)                  // used when Let's Encrypt cannot issue
 *         ...
 *         .build();
 * }</pre>
 *
 * @param directory the CA's ACME directory URL (https)
 * @param serverTrust PEM file with the only CA certificates trusted for the CA's API, or null for the JDK's trust store
 * @param eabKeyId external account binding key id from the CA, or null
 * @param eabHmacKey external account binding HMAC key, base64url, or null; never printed
 * @param preferredChain the common name of the root (or top issuer) to prefer among the CA's chains, or null for the CA's default chain
 */
public record AcmeCa(URI directory, Path serverTrust, String eabKeyId, String eabHmacKey, String preferredChain) {

    /** A CA with no settings but its directory. */
    public static AcmeCa of(URI directory) {
        return new AcmeCa(directory, null, null, null, null);
    }

    /** A CA with no settings but its directory, given as a string. */
    public static AcmeCa of(String directory) {
        return of(URI.create(directory));
    }

    /** Trusts only the CA certificates in this PEM file for the CA's API (private CAs such as Pebble or step-ca). */
    public AcmeCa withServerTrust(Path pemFile) {
        return new AcmeCa(directory, pemFile, eabKeyId, eabHmacKey, preferredChain);
    }

    /**
     * Binds the new ACME account to an account at the CA (RFC 8555 §7.3.4), as ZeroSSL, Google
     * Trust Services and most commercial CAs require: the key id and the base64url HMAC key the CA
     * gave you. Signed with HS256.
     */
    public AcmeCa withExternalAccountBinding(String keyId, String hmacKeyBase64url) {
        return new AcmeCa(directory, serverTrust, keyId, hmacKeyBase64url, preferredChain);
    }

    /**
     * Prefers, among the chains the CA offers for each certificate, the one whose top certificate
     * was issued by (or is) the CA with this common name, e.g. {@code "ISRG Root X1"}. If the CA
     * offers no such chain its default chain is used, and a line is logged.
     */
    public AcmeCa withPreferredChain(String issuerCommonName) {
        return new AcmeCa(directory, serverTrust, eabKeyId, eabHmacKey, issuerCommonName);
    }

    /** Whether an external account binding is configured. */
    public boolean hasExternalAccountBinding() {
        return eabKeyId != null || eabHmacKey != null;
    }

    /** What is wrong with these settings, each with its fix; {@code field} names the builder method. */
    public List<String> problems(String field) {
        return problems(field, field, field + ": preferredChain");
    }

    /**
     * The same, naming the external account binding's problems after {@code eabField} and starting
     * the preferred chain's with {@code chainSubject} (the builder's own methods for the first CA).
     */
    public List<String> problems(String field, String eabField, String chainSubject) {
        List<String> errors = new ArrayList<>();
        if (directory == null) {
            errors.add(field + ": no directory. Fix: AcmeCa.of(\"https://ca.example/directory\")");
        } else if (!"https".equals(directory.getScheme()) || directory.getHost() == null) {
            errors.add(field + ": '" + directory + "' is not an https URL. Fix: use the CA's https directory URL, e.g. "
                    + AutoCert.LETS_ENCRYPT_STAGING);
        }
        if (hasExternalAccountBinding()) {
            if (eabKeyId == null || eabKeyId.isBlank()) {
                errors.add(eabField + ": the external account binding has no key id. Fix: pass the key id (\"kid\") the CA gave you");
            }
            if (eabHmacKey == null || eabHmacKey.isBlank()) {
                errors.add(eabField + ": the external account binding has no HMAC key. Fix: pass the base64url HMAC key the CA gave you");
            } else if (decodeHmacKey(eabHmacKey) == null) {
                errors.add(eabField + ": the external account binding's HMAC key is not base64url. Fix: pass the key exactly as the CA "
                        + "shows it (characters A-Z a-z 0-9 - _, no padding)");
            }
        }
        if (preferredChain != null && preferredChain.isBlank()) {
            errors.add(chainSubject + " is blank. Fix: pass the common name of the root to prefer, e.g. \"ISRG Root X1\", or leave it out");
        }
        return errors;
    }

    /** The HMAC key's bytes, or null if it is not base64url (padding tolerated) or empty. */
    public static byte[] decodeHmacKey(String key) {
        try {
            String k = key.trim();
            while (k.endsWith("=")) {
                k = k.substring(0, k.length() - 1);
            }
            byte[] bytes = Base64.getUrlDecoder().decode(k);
            return bytes.length == 0 ? null : bytes;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Never prints the HMAC key. */
    @Override
    public String toString() {
        return "AcmeCa[" + directory + (serverTrust == null ? "" : ", trust " + serverTrust)
                + (hasExternalAccountBinding() ? ", EAB key id " + eabKeyId : "")
                + (preferredChain == null ? "" : ", preferred chain '" + preferredChain + "'") + "]";
    }
}
