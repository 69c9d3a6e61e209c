package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;

/** {@link OnDemandServletContract} on embedded Tomcat (11, and 10.1 in the second test run). */
class OnDemandTomcatTest extends OnDemandServletContract {
    @Override
    ServletTestHost host(AutoCert autoCert, int httpPort, Path base) throws Exception {
        return new TomcatTestHost(autoCert, httpPort, base, Registration.REGISTER);
    }
}
