package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.autocert4j.internal.acme.Csr;
import io.github.autocert4j.internal.names.CompactPublicSuffixList;
import io.github.autocert4j.internal.names.PublicSuffixList;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.tls.SelfSigned;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.StringWriter;
import java.net.IDN;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.Signature;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 23 took BouncyCastle off the path to the first certificate: the CSR, PEM writing and PEM
 * certificate reading are the JDK's now. Each must give exactly what BouncyCastle gave (the code it
 * replaced is repeated here as the reference), and the public suffix list's lazy IDN conversion
 * must answer as converting every rule at once did.
 */
class JdkEncodingTest {
    static final List<List<String>> NAMES = List.of(List.of("example.com"), List.of("example.com", "www.example.com", "a.b.example.org"),
            List.of("192.0.2.7", "example.net"), List.of("2001:db8::1"), List.of("*.example.com", "example.com"));

    /** The CSR as BouncyCastle wrote it before issue 23. */
    static byte[] bouncyCastleCsr(List<String> names, KeyPair key) throws Exception {
        X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
        names.stream().filter(n -> !io.github.autocert4j.internal.util.Names.isIpAddress(n)).findFirst()
                .ifPresent(cn -> subject.addRDN(BCStyle.CN, cn));
        GeneralName[] sans = new GeneralName[names.size()];
        for (int i = 0; i < sans.length; i++) {
            String n = names.get(i);
            sans[i] = io.github.autocert4j.internal.util.Names.isIpAddress(n)
                    ? new GeneralName(GeneralName.iPAddress, new DEROctetString(InetAddress.getByName(n).getAddress()))
                    : new GeneralName(GeneralName.dNSName, n);
        }
        ExtensionsGenerator extensions = new ExtensionsGenerator();
        extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
        JcaPKCS10CertificationRequestBuilder builder = new JcaPKCS10CertificationRequestBuilder(subject.build(), key.getPublic());
        builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
        String algorithm = "EC".equals(key.getPrivate().getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
        return builder.build(new JcaContentSignerBuilder(algorithm).build(key.getPrivate())).getEncoded();
    }

    @ParameterizedTest
    @EnumSource(KeyType.class)
    void theCsrIsWhatBouncyCastleWrote(KeyType type) throws Exception {
        KeyPair key = type.generate();
        for (List<String> names : NAMES) {
            byte[] jdk = Csr.create(names, key);
            byte[] bc = bouncyCastleCsr(names, key);
            PKCS10CertificationRequest parsed = new PKCS10CertificationRequest(jdk);
            assertTrue(parsed.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key.getPublic())), names + ": bad signature");
            // RSA PKCS#1 v1.5 signatures are deterministic: the whole request is equal; ECDSA's are random: all but the signature.
            if (type.name().startsWith("RSA")) {
                assertArrayEquals(bc, jdk, names.toString());
            } else {
                PKCS10CertificationRequest expected = new PKCS10CertificationRequest(bc);
                assertArrayEquals(expected.toASN1Structure().getCertificationRequestInfo().getEncoded("DER"),
                        parsed.toASN1Structure().getCertificationRequestInfo().getEncoded("DER"), names.toString());
                assertEquals(expected.getSignatureAlgorithm(), parsed.getSignatureAlgorithm());
                Signature verify = Signature.getInstance("SHA256withECDSA");
                verify.initVerify(key.getPublic());
                verify.update(parsed.toASN1Structure().getCertificationRequestInfo().getEncoded("DER"));
                assertTrue(verify.verify(parsed.getSignature()));
            }
        }
    }

    /** PEM as BouncyCastle's JcaPEMWriter wrote it before issue 23. */
    static byte[] bouncyCastlePem(KeyPair key, List<java.security.cert.X509Certificate> chain, boolean withKey) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            if (withKey) {
                w.writeObject(new JcaPKCS8Generator(key.getPrivate(), null));
                if (chain.isEmpty()) {
                    w.writeObject(key.getPublic());
                }
            }
            for (java.security.cert.X509Certificate c : chain) {
                w.writeObject(c);
            }
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    @ParameterizedTest
    @EnumSource(KeyType.class)
    void pemIsWhatBouncyCastleWrote(KeyType type) throws Exception {
        KeyPair key = type.generate();
        var chain = List.of(SelfSigned.create(List.of("example.com"), Instant.now()).leaf(),
                SelfSigned.create(List.of("a.example.com", "192.0.2.1"), Instant.now()).leaf());
        assertArrayEquals(bouncyCastlePem(key, List.of(), true), Pem.encodeKeyPair(key));
        assertArrayEquals(bouncyCastlePem(key, chain, true), Pem.encodeBundle(key, chain));
        assertArrayEquals(bouncyCastlePem(key, chain, false), Pem.encodeCertificates(chain));
        assertEquals(chain, Pem.decodeCertificates(Pem.encodeBundle(key, chain)));
    }

    @Test
    void certificatesAreReadFromAnyPemAsBefore() throws Exception {
        var a = SelfSigned.create(List.of("example.com"), Instant.now()).leaf();
        var b = SelfSigned.create(List.of("example.org"), Instant.now()).leaf();
        String pem = new String(Pem.encodeCertificates(List.of(a, b)), StandardCharsets.US_ASCII);
        // Text around and between the blocks, CRLF line ends, another block type: skipped as BouncyCastle's PEMParser did.
        String messy = "subject=CN=example.com\r\n" + pem.replace("\n", "\r\n").replace("-----END CERTIFICATE-----\r\n-----BEGIN",
                "-----END CERTIFICATE-----\r\n-----BEGIN EC PARAMETERS-----\r\nBggqhkjOPQMBBw==\r\n-----END EC PARAMETERS-----\r\n-----BEGIN");
        assertEquals(List.of(a, b), Pem.decodeCertificates(messy.getBytes(StandardCharsets.US_ASCII)));
        // A block with RFC 1421 headers goes to BouncyCastle, which skips them.
        String headers = pem.replaceFirst("-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nProc-Type: 4,CRL\n\n");
        assertEquals(List.of(a, b), Pem.decodeCertificates(headers.getBytes(StandardCharsets.US_ASCII)));
        assertEquals(List.of(), Pem.decodeCertificates("no PEM here".getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void everyNonAsciiRuleOfTheBuiltInListBecomesAnXnLabel() throws Exception {
        List<String> rules = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(PublicSuffixList.class.getResourceAsStream("public_suffix_list.dat"),
                StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String rule = line.strip().split(" ")[0];
                if (!rule.isEmpty() && !rule.startsWith("//") && !rule.chars().allMatch(c -> c < 0x80)) {
                    rules.add(rule.replaceFirst("^[!]|^\\*\\.", ""));
                }
            }
        }
        assertTrue(rules.size() > 100, "the built-in list has few IDN rules: " + rules.size());
        PublicSuffixList list = PublicSuffixList.parsedBuiltIn();
        for (String rule : rules) {
            String ascii = IDN.toASCII(rule, IDN.ALLOW_UNASSIGNED).toLowerCase(java.util.Locale.ROOT);
            assertTrue(Arrays.stream(ascii.split("\\.")).anyMatch(l -> l.startsWith("xn--")), rule + " -> " + ascii);
        }
        // Looked up lazily: an IDN suffix is still one, and a name under it has its registrable domain.
        assertTrue(list.isPublicSuffix("xn--fiqs8s")); // .中国
        assertEquals("example.xn--fiqs8s", list.registrableDomain("www.example.xn--fiqs8s").orElseThrow());
        assertTrue(list.isPublicSuffix("co.uk"));
        assertEquals("example.co.uk", list.registrableDomain("www.example.co.uk").orElseThrow());
        // The bundled copy's compact form holds them converted (CompactPublicSuffixListTest compares it rule by rule).
        CompactPublicSuffixList compact = CompactPublicSuffixList.builtIn();
        assertTrue(compact.isPublicSuffix("xn--fiqs8s"));
        assertEquals("example.xn--fiqs8s", compact.registrableDomain("www.example.xn--fiqs8s").orElseThrow());
    }
}
