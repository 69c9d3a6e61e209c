package io.github.autocert4j;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.MemoryCertStore;
import io.github.autocert4j.internal.tls.CertificateSource;
import io.github.autocert4j.internal.tls.Handshake;
import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.tls.SelfSigned;
import io.github.autocert4j.internal.tls.SourceChain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.SSLEngine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key manager's one chain of certificate sources (issue 19): asked in order, the first answer
 * wins, "no certificate" ends the walk, aliases a source handed out resolve through it, and an
 * AutoCert wires challenge certificates, live certificates, on-demand and the default in that order.
 */
class SourceChainTest {
    private static final ChainVerifierTest.TestPki PKI = new ChainVerifierTest.TestPki("SRC");

    @TempDir
    Path dir;

    private final List<String> asked = new CopyOnWriteArrayList<>();

    private CertificateSource recording(String name, LiveKeyManager.Entry answer) {
        return h -> {
            asked.add(name + ":" + h.sni());
            return answer;
        };
    }

    private static LiveKeyManager.Entry entry(String alias, String name) {
        CertBundle b = PKI.bundle(KeyType.EC_P256, name);
        return new LiveKeyManager.Entry(alias, name, b.keyPair().getPrivate(), b.chain().toArray(new X509Certificate[0]));
    }

    @Test
    void theFirstAnswerWinsAndLaterSourcesAreNotAsked() {
        LiveKeyManager.Entry second = entry("second#1", "a.example.test");
        SourceChain chain = SourceChain.builder().then("one", recording("one", null)).then("two", recording("two", second))
                .then("three", recording("three", entry("third#1", "a.example.test"))).build();
        assertSame(second, chain.select(Handshake.of("EC", "a.example.test", (SSLEngine) null)));
        assertEquals(List.of("one:a.example.test", "two:a.example.test"), asked);
        assertEquals(List.of("one", "two", "three"), chain.names());
    }

    @Test
    void noCertificateEndsTheWalkAndTheKeyManagerChoosesNothing() {
        LiveKeyManager km = new LiveKeyManager("app.example.test", SelfSigned.create(List.of("app.example.test"), ChainVerifierTest.NOW));
        km.useSources(SourceChain.builder().then("refuse", recording("refuse", LiveKeyManager.NO_CERTIFICATE))
                .then("default", km.certificates().byDefault()).build());
        assertNull(km.chooseEngineServerAlias("EC", null, null), "a refused handshake gets no alias (the TLS stack sends an alert)");
        assertEquals(List.of("refuse:null"), asked, "the default certificate was not asked after the refusal");
    }

    @Test
    void skippedSourcesAreLeftOutAndAliasesResolveThroughTheSourceThatHandedThemOut() {
        LiveKeyManager.Entry challenge = entry("challenge#1", "v.example.test");
        CertificateSource source = new CertificateSource() {
            @Override
            public LiveKeyManager.Entry select(Handshake h) {
                return challenge;
            }

            @Override
            public LiveKeyManager.Entry byAlias(String alias) {
                return alias.equals(challenge.alias) ? challenge : null;
            }
        };
        LiveKeyManager km = new LiveKeyManager("app.example.test", SelfSigned.create(List.of("app.example.test"), ChainVerifierTest.NOW));
        km.useSources(SourceChain.builder().then("not enabled", null).then("challenge", source).build());
        assertEquals(List.of("challenge"), km.sources().names());
        assertEquals("challenge#1", km.chooseEngineServerAlias("EC", null, null));
        assertSame(challenge.key, km.getPrivateKey("challenge#1"));
        assertSame(challenge.chain[0], km.getCertificateChain("challenge#1")[0]);
        assertNull(km.chooseEngineServerAlias("RSA", null, null), "an EC certificate is not offered for an RSA key type");
        assertNull(km.getPrivateKey("unknown#1"));
    }

    @Test
    void aLiveNameIsServedWithoutAskingOnDemand() {
        LiveKeyManager km = new LiveKeyManager("app.example.test", SelfSigned.create(List.of("app.example.test"), ChainVerifierTest.NOW));
        CertBundle live = PKI.bundle(KeyType.EC_P256, "live.example.test");
        km.install("live.example.test", List.of("live.example.test"), live);
        km.useSources(SourceChain.builder().then("live", km.certificates().named()).then("on-demand", recording("on-demand", null))
                .then("default", km.certificates().byDefault()).build());
        assertEquals("live.example.test#1", km.sources().select(Handshake.of("EC", "live.example.test", (SSLEngine) null)).alias);
        assertEquals(List.of(), asked, "a live name never reaches on-demand");
        assertEquals("fallback#0", km.sources().select(Handshake.of("EC", "other.example.test", (SSLEngine) null)).alias);
        assertEquals(List.of("on-demand:other.example.test"), asked);
    }

    @Test
    void anAutoCertAsksChallengesThenLiveThenOnDemandThenTheDefault() {
        OnDemand onDemand = OnDemand.allow(n -> CompletableFuture.completedFuture(false)).build();
        try (AutoCert a = AutoCert.builder().issuer(new FakeIssuer("fake-ca", Clock.systemUTC())).store(new MemoryCertStore())
                .challengeTypes("tls-alpn-01").onDemand(onDemand).build();
             AutoCert b = AutoCert.builder().issuer(new FakeIssuer("fake-ca", Clock.systemUTC())).storageDirectory(dir)
                     .certificate("app.example.test").build()) {
            assertEquals(List.of("tls-alpn-01 challenges", "live certificates", "on-demand", "default or fallback"),
                    ((LiveKeyManager) a.keyManager()).sources().names());
            assertEquals(List.of("live certificates", "default or fallback"), ((LiveKeyManager) b.keyManager()).sources().names());
        }
    }
}
