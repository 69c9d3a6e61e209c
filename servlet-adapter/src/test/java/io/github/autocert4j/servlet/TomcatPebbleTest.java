package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;

/** {@link ServletPebbleContract} on embedded Tomcat 11, and 10.1 in a second surefire execution (NIO, JSSE); the filter comes from {@link AcmeChallengeFilter#register}. */
class TomcatPebbleTest extends ServletPebbleContract {
    @Override
    ServletTestHost newHost(AutoCert autoCert, int httpPort, Path workDir) throws Exception {
        return new TomcatTestHost(autoCert, httpPort, workDir, Registration.REGISTER);
    }
}
