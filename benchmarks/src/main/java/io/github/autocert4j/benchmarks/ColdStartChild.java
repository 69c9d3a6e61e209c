package io.github.autocert4j.benchmarks;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.netty.AcmeHttpListener;

/**
 * The fresh JVM of the cold-start benchmark: what a new user's server does on its first start
 * with an empty store, up to its first certificate being live. Prints {@code T <label>
 * <epoch-ms>} at each step for the parent ({@link ColdStartBench}) to attribute the time.
 *
 * <p>Args: directory, acme-trust-pem, http-port, store-dir, name [, {@code exit}]. With {@code exit} the JVM ends
 * through {@code System.exit} (an orderly exit: what a training run for a class-data-sharing archive or an AOT cache
 * needs to write it); without, through {@code Runtime.halt} right after the certificate is live.
 *
 * <pre>{@code
 * java -cp ... io.github.autocert4j.benchmarks.ColdStartChild https://127.0.0.1:14000/dir ca.pem 5002 /tmp/store app.test
 * }</pre>
 */
public final class ColdStartChild {
    private ColdStartChild() {
    }

    public static void main(String[] args) throws Exception {
        mark("main");
        if (args[0].equals("breakdown")) {
            breakdown(Path.of(args[1]));
            return;
        }
        URI directory = URI.create(args[0]);
        Path trust = Path.of(args[1]);
        int httpPort = Integer.parseInt(args[2]);
        Path store = Path.of(args[3]);
        String name = args[4];
        CompletableFuture<Void> live = new CompletableFuture<>();
        AutoCert autoCert = AutoCert.builder().directory(directory).acmeServerTrust(trust).agreeToTermsOfService(true)
                .email("ops@autocert4j.test").certificate(name).storageDirectory(store)
                .listener(e -> {
                    if (e instanceof CertEvent.Issued) {
                        live.complete(null);
                    } else if (e instanceof CertEvent.Failed f) {
                        live.completeExceptionally(new IllegalStateException(f.error()));
                    }
                }).build();
        mark("built");
        AcmeHttpListener http = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress("127.0.0.1", httpPort));
        mark("listening");
        autoCert.start();
        mark("started");
        live.get(60, TimeUnit.SECONDS);
        mark("live");
        System.out.flush();
        if (args.length > 5 && args[5].equals("exit")) {
            http.close();
            autoCert.close();
            System.exit(0); // training run: the JVM writes its archive / AOT cache on this orderly exit
        }
        Runtime.getRuntime().halt(0); // the measurement ends at "live"; no orderly shutdown needed
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

    private static void mark(String label) {
        System.out.println("T " + label + " " + System.currentTimeMillis());
        System.out.flush();
    }
}
