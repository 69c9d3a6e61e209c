package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;

/** {@link ServletPebbleContract} on embedded Jetty 12 (ee10); the filter comes from {@link AutoCertServletInitializer}. */
class JettyPebbleTest extends ServletPebbleContract {
    @Override
    ServletTestHost newHost(AutoCert autoCert, int httpPort, Path workDir) throws Exception {
        return new JettyTestHost(autoCert, httpPort, Registration.INITIALIZER);
    }
}
