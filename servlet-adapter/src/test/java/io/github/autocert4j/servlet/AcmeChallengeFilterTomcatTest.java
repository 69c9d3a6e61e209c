package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;

/** {@link ChallengeFilterContract} on embedded Tomcat 11. */
class AcmeChallengeFilterTomcatTest extends ChallengeFilterContract {
    @Override
    ServletTestHost newHost(AutoCert autoCert, Registration registration, Path workDir) throws Exception {
        return new TomcatTestHost(autoCert, 0, workDir, registration);
    }
}
