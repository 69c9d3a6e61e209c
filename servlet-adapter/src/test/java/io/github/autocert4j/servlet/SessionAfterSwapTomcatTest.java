package io.github.autocert4j.servlet;

import java.nio.file.Files;
import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.IntegrationTest;

/** {@link SessionAfterSwapContract} on embedded Tomcat (NIO + JSSE, {@code SSLUtil.createSSLContext(autoCert.sslContext(), ...)}). */
@IntegrationTest
class SessionAfterSwapTomcatTest extends SessionAfterSwapContract {
    @Override
    ServletTestHost host(AutoCert autoCert, Path baseDir) throws Exception {
        return new TomcatTestHost(autoCert, 0, Files.createDirectories(baseDir), Registration.REGISTER);
    }
}
