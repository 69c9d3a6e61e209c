package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;

/** {@link OnDemandServletContract} on embedded Jetty 12. */
class OnDemandJettyTest extends OnDemandServletContract {
    @Override
    ServletTestHost host(AutoCert autoCert, int httpPort, Path base) throws Exception {
        return new JettyTestHost(autoCert, httpPort, Registration.REGISTER);
    }
}
