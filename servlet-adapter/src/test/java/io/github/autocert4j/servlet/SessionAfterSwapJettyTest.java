package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.IntegrationTest;

/** {@link SessionAfterSwapContract} on embedded Jetty 12 ({@code SslContextFactory.Server.setSslContext(autoCert.sslContext())}). */
@IntegrationTest
class SessionAfterSwapJettyTest extends SessionAfterSwapContract {
    @Override
    ServletTestHost host(AutoCert autoCert, Path baseDir) throws Exception {
        return new JettyTestHost(autoCert, 0, Registration.REGISTER);
    }
}
