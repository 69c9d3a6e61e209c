package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;

/** {@link ChallengeFilterContract} on embedded Jetty 12 (ee10). */
class AcmeChallengeFilterJettyTest extends ChallengeFilterContract {
    @Override
    ServletTestHost newHost(AutoCert autoCert, Registration registration, Path workDir) throws Exception {
        return new JettyTestHost(autoCert, 0, registration);
    }
}
