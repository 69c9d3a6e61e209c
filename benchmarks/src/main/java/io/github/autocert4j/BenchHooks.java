package io.github.autocert4j;

import java.io.IOException;
import java.net.URI;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * Benchmark-only access to package-private internals of the core (same package, benchmarks module
 * only; never shipped). Used for the swap benchmark, where 1,000+ real orders would take too long,
 * and for the cold-load cost breakdown.
 *
 * <pre>{@code
 * BenchHooks.install(autoCert, "app.example.test", List.of("app.example.test"), keyPair, chain);
 * }</pre>
 */
public final class BenchHooks {
    private BenchHooks() {
    }

    /** The store key of the key+chain bundle of certificate {@code certId} under ACME directory {@code directory}. */
    public static String bundleKey(URI directory, String certId) {
        return new StoreLayout(directory).certBundle(certId);
    }

    /** The store key of the metadata JSON of certificate {@code certId}. */
    public static String metaKey(URI directory, String certId) {
        return new StoreLayout(directory).certMeta(certId);
    }

    /** Swaps a certificate in exactly as a renewal does (LiveKeyManager.install), without an order. */
    public static void install(AutoCert autoCert, String certId, List<String> names, KeyPair keyPair, List<X509Certificate> chain) {
        ((LiveKeyManager) autoCert.keyManager()).install(AutoCert.normalize(certId), names, new CertBundle(keyPair, chain));
    }

    /**
     * Cost breakdown of loading stored bundles the way {@code AutoCert.start()} does: nanoseconds
     * spent in {read, PEM decode, usability check (names, validity dates; no signature check)} summed over {@code ids}.
     */
    public static long[] loadBreakdown(CertStore store, URI directory, List<String> ids) throws IOException {
        StoreLayout layout = new StoreLayout(directory);
        long read = 0, decode = 0, verify = 0;
        Instant now = Instant.now();
        for (String id : ids) {
            long t0 = System.nanoTime();
            byte[] pem = store.load(layout.certBundle(id)).orElseThrow();
            long t1 = System.nanoTime();
            CertBundle b = Pem.decodeBundle(pem);
            long t2 = System.nanoTime();
            try {
                ChainVerifier.verifyUsable(b, List.of(id), now); // what start() checks for its own stored bundles
            } catch (ChainVerifier.VerificationException e) {
                throw new IOException(e.getMessage(), e);
            }
            long t3 = System.nanoTime();
            read += t1 - t0;
            decode += t2 - t1;
            verify += t3 - t2;
        }
        return new long[] {read, decode, verify};
    }
}
