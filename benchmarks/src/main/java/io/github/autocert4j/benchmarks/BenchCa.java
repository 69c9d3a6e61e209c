package io.github.autocert4j.benchmarks;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away two-level CA (root, intermediate) issuing ECDSA P-256 leaves, and writers for the
 * file-store layout the core reads, so benchmarks can start an AutoCert with valid stored
 * certificates and no ACME server.
 *
 * <pre>{@code
 * BenchCa ca = BenchCa.create();
 * KeyPair kp = BenchCa.ecKey();
 * List<X509Certificate> chain = ca.chain(kp, List.of("app.bench.test"));
 * ca.writeBundle(storeDir, directory, "app.bench.test", List.of("app.bench.test"), kp, chain);
 * }</pre>
 */
final class BenchCa {
    static final URI DEAD_DIRECTORY = URI.create("https://127.0.0.1:1/dir");
    private static final SecureRandom RANDOM = new SecureRandom();

    final KeyPair rootKey;
    final X509Certificate root;
    final KeyPair intermediateKey;
    final X509Certificate intermediate;

    private BenchCa(KeyPair rootKey, X509Certificate root, KeyPair intermediateKey, X509Certificate intermediate) {
        this.rootKey = rootKey;
        this.root = root;
        this.intermediateKey = intermediateKey;
        this.intermediate = intermediate;
    }

    static BenchCa create() {
        try {
            Instant now = Instant.now();
            KeyPair rk = ecKey();
            X500Name rootName = new X500Name("CN=autocert4j bench root");
            X509v3CertificateBuilder rb = new JcaX509v3CertificateBuilder(rootName, serial(), Date.from(now.minus(Duration.ofDays(1))),
                    Date.from(now.plus(Duration.ofDays(3650))), rootName, rk.getPublic());
            rb.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            rb.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            X509Certificate root = convert(rb.build(signer(rk.getPrivate())));
            KeyPair ik = ecKey();
            X500Name interName = new X500Name("CN=autocert4j bench intermediate");
            X509v3CertificateBuilder ib = new JcaX509v3CertificateBuilder(rootName, serial(), Date.from(now.minus(Duration.ofDays(1))),
                    Date.from(now.plus(Duration.ofDays(1825))), interName, ik.getPublic());
            ib.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            ib.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            X509Certificate inter = convert(ib.build(signer(rk.getPrivate())));
            return new BenchCa(rk, root, ik, inter);
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the benchmark CA", e);
        }
    }

    /** Reloads a CA written by {@link #save}. */
    static BenchCa load(Path dir) throws IOException {
        X509Certificate root = readCert(dir.resolve("root.pem"));
        X509Certificate inter = readCert(dir.resolve("intermediate.pem"));
        return new BenchCa(null, root, null, inter);
    }

    /** Writes the public certificates (the keys are not needed to trust or serve cached leaves). */
    void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("root.pem"), pem(root));
        Files.writeString(dir.resolve("intermediate.pem"), pem(intermediate));
    }

    /** Writes the public certificates and the intermediate's key pair (to extend a store later). */
    void saveWithKeys(Path dir) throws IOException {
        save(dir);
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(new JcaPKCS8Generator(intermediateKey.getPrivate(), null));
        }
        Files.writeString(dir.resolve("intermediate.key.pem"), out.toString());
    }

    /** Reloads a CA written by {@link #saveWithKeys}: it can issue leaves again. */
    static BenchCa loadWithKeys(Path dir) throws IOException {
        X509Certificate root = readCert(dir.resolve("root.pem"));
        X509Certificate inter = readCert(dir.resolve("intermediate.pem"));
        try (PEMParser p = new PEMParser(new StringReader(Files.readString(dir.resolve("intermediate.key.pem"))))) {
            org.bouncycastle.asn1.pkcs.PrivateKeyInfo info = (org.bouncycastle.asn1.pkcs.PrivateKeyInfo) p.readObject();
            PrivateKey key = new org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter().getPrivateKey(info);
            return new BenchCa(null, root, new KeyPair(inter.getPublicKey(), key), inter);
        }
    }

    static KeyPair ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Leaf + intermediate, as an ACME CA returns it; the leaf is valid from 1 h ago for 90 days. */
    List<X509Certificate> chain(KeyPair leafKey, List<String> names) {
        return List.of(leaf(leafKey, names), intermediate);
    }

    /** A chain for a public key only, as an {@code Issuer} gets it. */
    List<X509Certificate> chain(java.security.PublicKey leafKey, List<String> names) {
        return List.of(leaf(new KeyPair(leafKey, null), names), intermediate);
    }

    X509Certificate leaf(KeyPair leafKey, List<String> names) {
        try {
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(intermediate, serial(), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(90))), new X500Name("CN=" + names.get(0)), leafKey.getPublic());
            GeneralName[] san = names.stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new);
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(san));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            return convert(b.build(signer(intermediateKey.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException("cannot issue a benchmark leaf", e);
        }
    }

    /**
     * Writes key+chain (and the metadata the core writes after an order) in the store layout the
     * docs/how-it-works.md ("The store") documents for {@code FileCertStore}: {@code certs/<id>/<id>.pem} and {@code .properties}.
     */
    static void writeBundle(Path storeDir, URI directory, String certId, List<String> names, PrivateKey key, List<X509Certificate> chain)
            throws IOException {
        Path pem = storeDir.resolve("certs/" + certId + "/" + certId + ".pem");
        Files.createDirectories(pem.getParent());
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(new JcaPKCS8Generator(key, null));
            for (X509Certificate c : chain) {
                w.writeObject(c);
            }
        }
        Files.writeString(pem, out.toString(), StandardCharsets.US_ASCII);
        String meta = "names=" + String.join(",", names) + "\nissuedAt=" + Instant.now().toString().replace(":", "\\:") + "\n";
        Files.writeString(storeDir.resolve("certs/" + certId + "/" + certId + ".properties"), meta, StandardCharsets.UTF_8);
        if (chain.size() > 1) {
            StringWriter issuer = new StringWriter();
            try (JcaPEMWriter w = new JcaPEMWriter(issuer)) {
                w.writeObject(chain.get(1));
            }
            recordIssuer(storeDir, issuer.toString());
        }
    }

    /**
     * Records the issuer as an order does ({@code acme/<ca>/account/issuers/*.crt}, docs/security.md), so a
     * store written here is served like one the library wrote, not through the migration window (which a
     * store regenerated with a new benchmark CA, after the window closed, would no longer get). Once per issuer.
     */
    static void recordIssuer(Path storeDir, String issuerPem) throws IOException {
        String id;
        try {
            id = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(issuerPem.getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path file = storeDir.resolve("acme/bench/account/issuers/" + id + ".crt");
        if (!Files.exists(file)) {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "issuer", ".tmp");
            Files.writeString(tmp, issuerPem, StandardCharsets.US_ASCII);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** The PKCS#8 PEM text of {@code key}, encoded once and reused by {@link #writeBundle(Path, String, List, String, List)}. */
    static String keyPem(PrivateKey key) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(new JcaPKCS8Generator(key, null));
        }
        return out.toString();
    }

    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> FILE_MODE =
            java.nio.file.attribute.PosixFilePermissions.fromString("rw-------");
    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> DIR_MODE =
            java.nio.file.attribute.PosixFilePermissions.fromString("rwx------");

    /**
     * The same store layout as {@link #writeBundle(Path, URI, String, List, PrivateKey, List)}
     * ({@code certs/<id>/<id>.pem} = PKCS#8 key + leaf + intermediate, {@code .properties}), for
     * writing very many bundles: the key arrives PEM-encoded (several certificates share one key
     * pair), the leaf as DER ({@link #leafDer}), the intermediate as PEM; files are created 0600 in
     * 0700 directories (the modes {@code FileCertStore} uses), without fsync.
     */
    static void writeBundle(Path storeDir, String certId, List<String> names, String keyPem, byte[] leafDer, String intermediatePem)
            throws IOException {
        Path dir = storeDir.resolve("certs").resolve(certId);
        try {
            Files.createDirectory(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(DIR_MODE));
        } catch (java.nio.file.FileAlreadyExistsException e) {
            // a re-run over a partly written store
        }
        String pem = keyPem + "-----BEGIN CERTIFICATE-----\n" + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(leafDer)
                + "\n-----END CERTIFICATE-----\n" + intermediatePem;
        write(dir.resolve(certId + ".pem"), pem.getBytes(StandardCharsets.US_ASCII));
        String meta = "names=" + String.join(",", names) + "\nissuedAt=" + Instant.now().toString().replace(":", "\\:") + "\n";
        write(dir.resolve(certId + ".properties"), meta.getBytes(StandardCharsets.UTF_8));
        recordIssuer(storeDir, intermediatePem);
    }

    private final ThreadLocal<ContentSigner> signers = ThreadLocal.withInitial(this::intermediateSigner);

    private ContentSigner intermediateSigner() {
        try {
            return signer(intermediateKey.getPrivate());
        } catch (Exception e) {
            throw new IllegalStateException("cannot sign with the benchmark intermediate", e);
        }
    }

    /**
     * The DER encoding of a leaf like {@link #leaf}'s, made for bulk generation: a per-thread
     * signer (reused: {@code getSignature()} resets it) and no parsed certificate object.
     */
    byte[] leafDer(java.security.PublicKey leafKey, List<String> names) {
        try {
            Instant now = Instant.now();
            BigInteger serial = new BigInteger(127, java.util.concurrent.ThreadLocalRandom.current()).setBit(126);
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(intermediate, serial, Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(90))), new X500Name("CN=" + names.get(0)), leafKey);
            GeneralName[] san = names.stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new);
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(san));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            return b.build(signers.get()).getEncoded();
        } catch (Exception e) {
            throw new IllegalStateException("cannot issue a benchmark leaf", e);
        }
    }

    private static void write(Path file, byte[] bytes) throws IOException {
        try (java.nio.channels.SeekableByteChannel ch = Files.newByteChannel(file, java.util.Set.of(java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING),
                java.nio.file.attribute.PosixFilePermissions.asFileAttribute(FILE_MODE))) {
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
        }
    }

    /** Whether {@code leaf} has {@code host} among its DNS subject alternative names. */
    static boolean covers(X509Certificate leaf, String host) {
        try {
            var sans = leaf.getSubjectAlternativeNames();
            return sans != null && sans.stream().anyMatch(s -> Integer.valueOf(2).equals(s.get(0)) && host.equalsIgnoreCase((String) s.get(1)));
        } catch (Exception e) {
            return false;
        }
    }

    static String pem(X509Certificate c) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(c);
        }
        return out.toString();
    }

    static X509Certificate readCert(Path file) throws IOException {
        try (PEMParser p = new PEMParser(new StringReader(Files.readString(file)))) {
            return convert((X509CertificateHolder) p.readObject());
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    private static ContentSigner signer(PrivateKey key) throws Exception {
        return new JcaContentSignerBuilder("SHA256withECDSA").build(key);
    }

    private static X509Certificate convert(X509CertificateHolder h) throws GeneralSecurityException {
        return new JcaX509CertificateConverter().getCertificate(h);
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).setBit(126);
    }
}
