package io.github.autocert4j;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where certificates come from. autocert4j's ACME client is one (configured with
 * {@code AutoCertBuilder.directory(...)}); anything else that signs certificates can be another
 * (a private CA, a test double), configured with {@code AutoCertBuilder.issuer(...)}. Several
 * issuers form a failover list: an attempt that fails at one tries the next.
 *
 * <p>An issuer only obtains certificates: autocert4j generates the key, verifies what comes back
 * (key, names, validity, chain signatures), stores it, serves it and decides when to renew.
 * Failures must be thrown as {@link IssuanceException}, classified (permanent or not, the CA's
 * Retry-After); the private key never leaves autocert4j (the issuer gets a CSR and the public key).
 *
 * <pre>{@code
 * Issuer myCa = new Issuer() {
 *     public String id() { return "my-ca"; }
 *     public Result issue(Request r) throws IssuanceException {
 *         return new Result(myCa.sign(r.csr()), null);
 *     }
 * };
 * AutoCert.builder().issuer(myCa).certificate("app.internal.example").build();
 * }</pre>
 */
public interface Issuer {

    /**
     * A short, stable identifier of this issuer (for an ACME CA: its directory's host and path),
     * recorded with every certificate it issued and shown in status and logs.
     */
    String id();

    /**
     * Obtains a certificate for {@code request.names()} and {@code request.publicKey()}, within
     * {@code request.timeout()}. Called on autocert4j's renewal thread; may block; must honour
     * interruption (autocert4j interrupts an order when it is closed), except once the certificate may
     * have been signed: it may then finish (within the timeout) and return it, and autocert4j stores a
     * certificate returned after it was stopped (not served), so the next start does not order it again.
     */
    Result issue(Request request) throws IssuanceException, InterruptedException;

    /**
     * The issuer's suggested renewal window for {@code certificate} (ACME Renewal Information,
     * RFC 9773), or empty if the issuer has none. The default has none.
     */
    default Optional<Window> renewalWindow(X509Certificate certificate) throws IssuanceException, InterruptedException {
        return Optional.empty();
    }

    /**
     * One certificate to obtain.
     *
     * @param names DNS names (or IP addresses) the certificate must cover, the first being the certificate's id
     * @param publicKey the certificate's public key
     * @param csr a DER-encoded PKCS#10 request for {@code names}, signed with the matching private key
     * @param profile the ACME profile asked for, or null for the issuer's default
     * @param profileRequired whether to fail (permanently) rather than fall back when the profile is not offered
     * @param replaces the certificate this one replaces (for ARI's {@code replaces}), or null
     * @param timeout how long the whole issuance may take
     */
    record Request(List<String> names, PublicKey publicKey, byte[] csr, String profile, boolean profileRequired,
                   X509Certificate replaces, Duration timeout) {
        /** Copies the names. */
        public Request {
            names = List.copyOf(names);
        }
    }

    /**
     * What the issuer returned.
     *
     * @param chain leaf first, then the intermediates
     * @param profile the profile the certificate was issued under, as the CA reported it, or null if unknown
     */
    record Result(List<X509Certificate> chain, String profile) {
        /** Copies the chain. */
        public Result {
            chain = List.copyOf(chain);
        }
    }

    /**
     * A suggested renewal window.
     *
     * @param start renew no earlier than this
     * @param end renew before this
     * @param explanationUrl the CA's explanation of an unusual window, or null
     * @param retryAfter when to ask again, or null
     */
    record Window(Instant start, Instant end, String explanationUrl, Instant retryAfter) {
    }
}
