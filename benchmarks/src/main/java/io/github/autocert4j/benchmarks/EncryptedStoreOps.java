package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.EncryptedCertStore;
import io.github.autocert4j.KeyEncryptionKey;

/**
 * Part of section "storeops": what {@link EncryptedCertStore} (envelope encryption of private keys, KEK in
 * memory: AES-256 from a file or the environment) costs per load and per store, as a ratio of encrypted to
 * plaintext time per operation on the same store, with real certificate bundles (PKCS#8 EC key and chain).
 * Plaintext and encrypted alternate in every round (interleaved, order flipped each round).
 */
final class EncryptedStoreOps {
    static final int KEYS = 50;

    private EncryptedStoreOps() {
    }

    /** Measures on each of {@code stores}; appends a table to {@code md} and ratio rows to {@code summary}. */
    static void run(Map<String, CertStore> stores, boolean quick, StringBuilder md, Rows summary) throws Exception {
        int rounds = quick ? 2 : 6;
        Duration roundLength = Duration.ofMillis(quick ? 200 : 1000);
        byte[] kekBytes = new byte[32];
        new SecureRandom().nextBytes(kekBytes);
        KeyEncryptionKey kek = KeyEncryptionKey.aes256("bench", kekBytes);
        BenchCa ca = BenchCa.create();
        KeyPair kp = BenchCa.ecKey();
        List<X509Certificate> chain = ca.chain(kp, List.of("enc.bench.test"));
        StringWriter pem = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
            w.writeObject(new JcaPKCS8Generator(kp.getPrivate(), null));
            for (X509Certificate c : chain) {
                w.writeObject(c);
            }
        }
        byte[] bundle = pem.toString().getBytes(StandardCharsets.US_ASCII);
        md.append(f("\n**Encryption at rest.** `EncryptedCertStore` around each store (KEK: AES-256 in memory), against the "
                + "same store unwrapped, with a %d-byte certificate bundle (EC key + chain) on %d keys; %d interleaved rounds "
                + "of %.1f s per operation and variant. Ratio = encrypted time per operation / plaintext time per operation "
                + "(median of the per-round ratios; 1.0 = free).\n\n", bundle.length, KEYS, rounds, roundLength.toMillis() / 1000.0));
        md.append("| store | operation | plaintext ops/s | encrypted ops/s | encrypted / plaintext (time per op) |\n|---|---|---|---|---|\n");
        for (Map.Entry<String, CertStore> st : stores.entrySet()) {
            CertStore plain = st.getValue();
            CertStore enc = EncryptedCertStore.wrap(plain, kek);
            for (int i = 0; i < KEYS; i++) {
                plain.store(key("p", i), bundle);
                enc.store(key("e", i), bundle);
            }
            for (String op : List.of("load", "store")) {
                Map<String, List<Double>> perRound = new LinkedHashMap<>();
                measure(plain, "p", op, bundle, Duration.ofMillis(quick ? 50 : 300)); // warm-up
                measure(enc, "e", op, bundle, Duration.ofMillis(quick ? 50 : 300));
                for (int r = 0; r < rounds; r++) {
                    List<String> order = r % 2 == 0 ? List.of("plaintext", "encrypted") : List.of("encrypted", "plaintext");
                    for (String v : order) {
                        boolean e = v.equals("encrypted");
                        perRound.computeIfAbsent(v, x -> new ArrayList<>())
                                .add(measure(e ? enc : plain, e ? "e" : "p", op, bundle, roundLength));
                    }
                }
                List<Double> ratios = Bench.ratios(perRound.get("plaintext"), perRound.get("encrypted")); // time ratio = inverse ops/s
                double ratio = Bench.median(ratios);
                md.append(f("| %s | %s | %,.0f | %,.0f | %.3g |\n", st.getKey(), op, Bench.median(perRound.get("plaintext")),
                        Bench.median(perRound.get("encrypted")), ratio));
                // issue 20's rows: the file store's are encrypted_store_{load,store}_ratio, other stores get a suffix
                String id = "encrypted_store_" + op + "_ratio" + (st.getKey().equals("file") ? "" : "_" + st.getKey());
                summary.add(id, ratio, "ratio", "info", Rows.Spread.of(ratios),
                        f("%s store, %s of a %d-byte certificate bundle (EC key + chain): time per operation with EncryptedCertStore "
                                + "(AES-256-GCM data key wrapped by an in-memory AES-256 KEK) / without, same store, median of %d interleaved "
                                + "rounds of %.1f s; 1.0 = free. %s", st.getKey(), op, bundle.length, ratios.size(),
                                roundLength.toMillis() / 1000.0, op.equals("load")
                                        ? "A load decrypts a data key and the key block: a large ratio over a cached microsecond read, small in absolute terms"
                                        : "A store also reads the existing value and makes a data key; the fsync dominates"));
            }
            for (int i = 0; i < KEYS; i++) {
                plain.delete(key("p", i));
                plain.delete(key("e", i));
            }
        }
        md.append("\nA load decrypts one data key (AES-GCM unwrap) and one key block; a store additionally reads the existing "
                + "value (to refuse overwriting a key under a KEK it cannot open) and generates a data key. A PKCS#11 KEK "
                + "adds the token's round trip per wrap/unwrap (not measured here).\n\n");
    }

    /**
     * Smoke run on a file store in a temporary directory only (no PostgreSQL), printing the table:
     * {@code java -Dbench.quick=true -cp <benchmarks class path> io.github.autocert4j.benchmarks.EncryptedStoreOps}.
     */
    public static void main(String[] args) throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("autocert4j-bench-enc-");
        StringBuilder md = new StringBuilder();
        run(Map.of("file", io.github.autocert4j.FileCertStore.of(dir)), Bench.quick(), md, new Rows());
        System.out.println(md);
    }

    static String key(String kind, int i) {
        return "certs/" + kind + "enc" + i + "/" + kind + "enc" + i + ".pem";
    }

    /** ops/s of {@code op} run back to back for {@code d}. */
    private static double measure(CertStore store, String kind, String op, byte[] bundle, Duration d) throws IOException {
        long t0 = System.nanoTime();
        long end = t0 + d.toNanos();
        int n = 0;
        while (System.nanoTime() < end) {
            if (op.equals("load")) {
                store.load(key(kind, n % KEYS)).orElseThrow();
            } else {
                store.store(key(kind, n % KEYS), bundle);
            }
            n++;
        }
        return n / ((System.nanoTime() - t0) / 1e9);
    }
}
