package io.github.autocert4j.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.Principal;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

import io.github.autocert4j.AutoCert;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

/**
 * What the live key manager costs a handshake, split in two: reading the SNI name from the handshake session (the
 * provider's work: with OpenSSL a JNI call and the JDK's {@code SNIHostName}) and choosing the certificate (the
 * library's). In-memory full handshakes as in section 1 ({@link EngineBench}), the server's key manager wrapped so that
 * it times, per call, {@code getRequestedServerNames()} on a session that has not read it yet and then the live key
 * manager's {@code chooseEngineServerAlias} (which reads the cached names again and selects). Without Netty's key
 * material cache (section 1's A has it), which does not change that call. Not a section: a tool for the figure
 * docs/benchmarks.md quotes; the class is in that class path from a run of 42d5aab on.
 *
 * <pre>{@code
 * ./bench.sh   # the whole benchmark (it has no build-only mode); it leaves its class path in benchmarks/target/lib
 * java -cp 'benchmarks/target/lib/*' io.github.autocert4j.benchmarks.KeyManagerCost 20000
 * }</pre>
 */
public final class KeyManagerCost {
    private KeyManagerCost() {
    }

    /** Times the calls it passes on; one handshake at a time, so plain fields suffice. */
    static final class Timed extends ServerKeyManagerWrapper {
        long sniNanos;
        long chooseNanos;
        long calls;

        Timed(X509ExtendedKeyManager live) {
            super(live);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            long t0 = System.nanoTime();
            ((ExtendedSSLSession) engine.getHandshakeSession()).getRequestedServerNames();
            long t1 = System.nanoTime();
            String alias = delegate.chooseEngineServerAlias(keyType, issuers, engine);
            long t2 = System.nanoTime();
            sniNanos += t1 - t0;
            chooseNanos += t2 - t1;
            calls++;
            return alias;
        }
    }

    public static void main(String[] args) throws Exception {
        int handshakes = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        String name = HandshakeBench.NAME;
        Path store = Files.createTempDirectory("bench-kmcost");
        BenchCa ca = BenchCa.create();
        KeyPair kp = BenchCa.ecKey();
        List<X509Certificate> chain = ca.chain(kp, List.of(name));
        BenchCa.writeBundle(store, BenchCa.DEAD_DIRECTORY, name, List.of(name), kp.getPrivate(), chain);
        try (AutoCert autoCert = Bench.fromStore(store, List.of(name)).start()) {
            SslContext client = Bench.unverifiedClientContext();
            for (SslProvider provider : List.of(SslProvider.OPENSSL, SslProvider.JDK)) {
                Timed timed = new Timed((X509ExtendedKeyManager) autoCert.keyManager());
                SslContext server = SslContextBuilder.forServer(timed).sslProvider(provider).build();
                long[] count = new long[2];
                for (int pass = 0; pass < 3; pass++) { // the first two warm the JIT up
                    timed.sniNanos = 0;
                    timed.chooseNanos = 0;
                    timed.calls = 0;
                    long cpu = 0;
                    for (int i = 0; i < handshakes; i++) {
                        cpu += EngineBench.handshake(client, name, () -> server.newEngine(ByteBufAllocator.DEFAULT), null, count);
                    }
                    System.out.printf("%s pass %d: %d handshakes, %d key manager calls; per call: SNI read %.0f ns, live key "
                                    + "manager's choice %.0f ns; server engine CPU per handshake %.1f µs (no key material cache here)%n",
                            provider, pass + 1, handshakes, timed.calls, timed.sniNanos / (double) timed.calls,
                            timed.chooseNanos / (double) timed.calls, cpu / 1e3 / handshakes);
                }
            }
        }
        System.exit(0);
    }
}
