package io.github.autocert4j.benchmarks;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;

/**
 * The fresh JVM of the scale benchmark's cold load: {@code build()} + {@code start()} of an
 * AutoCert managing the first N certificates of the scale store (no warmed JIT, and the parent
 * drops the page cache before starting it where it can). Prints {@code LOAD <build-s> <start-s> <valid>}.
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
        System.out.println("LOAD " + (t1 - t0) / 1e9 + " " + (t2 - t1) / 1e9 + " " + valid);
        System.out.flush();
        Runtime.getRuntime().halt(0);
    }
}
