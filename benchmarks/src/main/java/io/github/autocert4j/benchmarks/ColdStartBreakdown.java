package io.github.autocert4j.benchmarks;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.netty.AcmeHttpListener;

import static io.github.autocert4j.benchmarks.ColdStartMarks.mark;

/**
 * The cold-start benchmark's breakdown JVM: times alone, in a fresh JVM, each first-touch step that {@code build()} and
 * {@code start()} meet before the first ACME request. Kept apart from {@link ColdStartChild} so that the measured
 * child's main class references no BouncyCastle class (see there).
 *
 * <pre>{@code
 * java -cp ... io.github.autocert4j.benchmarks.ColdStartBreakdown /tmp/scratch-store
 * }</pre>
 */
public final class ColdStartBreakdown {
    private ColdStartBreakdown() {
    }

    public static void main(String[] args) throws Exception {
        mark("main");
        breakdown(Path.of(args[0]));
    }

    /**
     * First-touch cost, in a fresh JVM, of what {@code build()} and {@code start()} do before the
     * first ACME request, each step timed separately in the order the library meets them.
     */
    private static void breakdown(Path store) throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
        g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
        java.security.KeyPair kp = g.generateKeyPair();
        mark("ec-keygen-done");
        javax.net.ssl.SSLContext.getInstance("TLS").init(null, null, null);
        mark("jsse-init-done");
        AutoCert autoCert = AutoCert.builder().directory(URI.create("https://127.0.0.1:1/dir")).agreeToTermsOfService(true)
                .certificate("breakdown.autocert4j.test").storageDirectory(store).build();
        mark("autocert-built");
        AcmeHttpListener http = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress("127.0.0.1", 0));
        mark("listener-bound");
        // Off the path to the first certificate now: the fallback is made when a handshake first needs it.
        autoCert.servedCertificate("breakdown.autocert4j.test");
        mark("fallback-made");
        // Not done any more: what registering BouncyCastle's JCA provider cost build() before.
        java.security.Security.addProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider());
        mark("bc-provider-done");
        http.close();
        autoCert.close();
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }

}
