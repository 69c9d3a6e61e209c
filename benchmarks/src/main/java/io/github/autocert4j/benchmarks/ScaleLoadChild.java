package io.github.autocert4j.benchmarks;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.netty.AutoCertSsl;

/**
 * The fresh JVM of the scale benchmark's cold load: {@code build()} + {@code start()} of an
 * AutoCert managing the first N certificates of the scale store (no warmed JIT, and the parent
 * drops the page cache before starting it where it can), then {@code AutoCertSsl.serverContext(autoCert)}: what a
 * Netty server pays before serving (with OpenSSL: every certificate's key material converted). Prints
 * {@code LOAD <build-s> <start-s> <valid> <server-context-s> <provider>}.
 *
 * <pre>{@code
 * java -cp ... io.github.autocert4j.benchmarks.ScaleLoadChild benchmarks/target/scale-store/store 100000
 * }</pre>
 */
public final class ScaleLoadChild {
    private ScaleLoadChild() {
    }

    public static void main(String[] args) {
        Path store = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        List<String> names = IntStream.range(0, n).mapToObj(ScaleBench::name).toList();
        long t0 = System.nanoTime();
        AutoCert ac = Bench.fromStore(store, names);
        long t1 = System.nanoTime();
        ac.start();
        long t2 = System.nanoTime();
        long valid = ac.status().stream().filter(s -> s.state() == CertificateStatus.State.VALID).count();
        // What a Netty server pays before it serves: the documented server context, which with the OpenSSL provider
        // converts every loaded certificate's key material (AutoCertSsl.prepareKeyMaterial) before it returns.
        try {
            AutoCertSsl.serverContext(ac);
        } catch (javax.net.ssl.SSLException e) {
            throw new IllegalStateException(e);
        }
        long t3 = System.nanoTime();
        System.out.println("LOAD " + (t1 - t0) / 1e9 + " " + (t2 - t1) / 1e9 + " " + valid + " " + (t3 - t2) / 1e9 + " " + AutoCertSsl.defaultProvider());
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
