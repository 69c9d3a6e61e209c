package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Netty quickstart with and without {@code netty-tcnative} (an optional dependency of
 * this module): {@code AutoCertTls.forServer(autoCert)} builds and a real TLS client gets the
 * certificate over a socket. netty-adapter's pom runs this class twice: in the default test run
 * (tcnative present, OpenSSL provider) and in the {@code without-tcnative} execution, whose class
 * path excludes every {@code io.netty:netty-tcnative*} artifact (JDK provider); the system property
 * {@code autocert4j.test.tcnative} says which run this is, so each run checks it got the class
 * path it is meant to test.
 */
class OptionalTcnativeTest {
    static final String NAME = "quickstart.tcnative.test";

    @TempDir
    Path store;

    @Test
    void forServerAndAHandshakeWorkWithTheClassPathOfThisRun() throws Exception {
        boolean present = !"absent".equals(System.getProperty("autocert4j.test.tcnative", "present"));
        if (present) {
            assertEquals(true, OpenSsl.isAvailable(), "tcnative is on this run's class path: " + OpenSsl.unavailabilityCause());
        } else {
            assertThrows(ClassNotFoundException.class, () -> Class.forName("io.netty.internal.tcnative.SSL"),
                    "the without-tcnative run must not have tcnative on its class path (netty-adapter/pom.xml classpathDependencyExcludes)");
            assertEquals(false, OpenSsl.isAvailable());
        }
        InMemoryCa ca = new InMemoryCa("prepare-test-ca", Duration.ofDays(30));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build().start()) {
            PrepareKeyMaterialTest.awaitValid(autoCert, NAME);
            assertEquals(present ? SslProvider.OPENSSL : SslProvider.JDK, AutoCertSsl.defaultProvider());
            AutoCertTls tls = AutoCertTls.forServer(autoCert); // the quickstart's line: threw NoClassDefFoundError without tcnative
            SslContext host = tls.hostContext();
            assertEquals(present ? 1 : 0, AutoCertSsl.prepareKeyMaterial(host, autoCert), "key material prepared only with OpenSSL");
            if (!present) {
                // Not Netty's JdkSslServerContext, whose static initialiser instantiates BouncyCastle's JCA provider
                // (0.5-0.9 s of a fresh JVM's start, docs/startup.md); the same SSLContext as SslContextBuilder would make.
                assertEquals(JdkSslContext.class, host.getClass(), "AutoCertSsl.jdkServerContext, not SslContextBuilder's JdkSslServerContext");
                assertSame(autoCert.tlsSessions().jsseProvider(), ((JdkSslContext) host).context().getProvider(),
                        "the session-renewing JSSE provider (TlsSessions), as contextBuilder sets it");
                assertEquals(false, host.isClient());
            }
            try (NettyTlsHost server = new NettyTlsHost(tls, 0)) {
                InetSocketAddress addr = server.address();
                assertEquals(autoCert.status(NAME).orElseThrow().serial(),
                        TlsProbe.handshake(addr, NAME, ca.root, Duration.ofSeconds(10)).serial(), "served over a real socket");
            }
        }
    }
}
