package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The same issue-and-renew loop on every supported Pebble: 2.4.0 (Debian 12, the floor), 2.6.0 (ARI) and 2.10.0 (ARI + profiles). */
@IntegrationTest
class NettyPebbleFlavorsTest {
    static final Duration T = Duration.ofSeconds(10);

    @ParameterizedTest
    @EnumSource(PebbleServer.Flavor.class)
    void issuesAndRenewsOnEveryPebble(PebbleServer.Flavor flavor, @TempDir Path store) throws Exception {
        int httpPort = FreePorts.loopback();
        try (PebbleServer pebble = PebbleServer.builder().httpPort(httpPort).flavor(flavor).start();
             AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                     .agreeToTermsOfService(true).certificate("floor.autocert4j.test").storageDirectory(store).build();
             NettyTestHost host = new NettyTestHost(autoCert, httpPort, 0, SslProvider.JDK, true)) {
            autoCert.start();
            CertificateStatus first = autoCert.renewNow("floor.autocert4j.test").get(30, TimeUnit.SECONDS);
            assertEquals(first.serial(), TlsProbe.handshake(host.httpsAddress(), "floor.autocert4j.test", pebble.issuanceRoot(), T).serial());
            CertificateStatus second = autoCert.renewNow("floor.autocert4j.test").get(30, TimeUnit.SECONDS);
            assertNotEquals(first.serial(), second.serial());
            assertEquals(second.serial(), TlsProbe.handshake(host.httpsAddress(), "floor.autocert4j.test", pebble.issuanceRoot(), T).serial());
        }
    }
}
