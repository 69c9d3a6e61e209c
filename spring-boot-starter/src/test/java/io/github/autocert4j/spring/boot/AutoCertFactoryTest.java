package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.RenewalPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

/** Properties to AutoCert: shorthands, defaults, and problems reported in property terms. */
class AutoCertFactoryTest {

    private static StandardEnvironment environment(Map<String, Object> properties) {
        StandardEnvironment env = new StandardEnvironment();
        env.getPropertySources().addFirst(new MapPropertySource("test", properties));
        return env;
    }

    private static AutoCertProperties valid(Path store) {
        AutoCertProperties p = new AutoCertProperties();
        p.setDomains(List.of("app.example.test"));
        p.setDirectory("letsencrypt-staging");
        p.setAgreeTermsOfService(true);
        p.setStorageDirectory(store);
        return p;
    }

    @Test
    void directoryShorthandsAndUrls() {
        assertEquals(AutoCert.LETS_ENCRYPT_PRODUCTION, AutoCertFactory.directoryUri("letsencrypt"));
        assertEquals(AutoCert.LETS_ENCRYPT_STAGING, AutoCertFactory.directoryUri(" LetsEncrypt-Staging "));
        assertEquals("https://127.0.0.1:14000/dir", AutoCertFactory.directoryUri("https://127.0.0.1:14000/dir").toString());
        assertNull(AutoCertFactory.directoryUri("http://ca.example/dir"));
        assertNull(AutoCertFactory.directoryUri("lets encrypt"));
    }

    @Test
    void theRenewalDefaultsAreTheCoresDefaults() {
        assertEquals(RenewalPolicy.defaults(), AutoCertFactory.policy(new AutoCertProperties().getRenewal()));
    }

    @Test
    void validPropertiesBuildAManager(@TempDir Path store) {
        try (AutoCert autoCert = AutoCertFactory.build(valid(store), environment(Map.of()), e -> { }, null, List.of())) {
            assertEquals("app.example.test", autoCert.status().get(0).certificate());
        }
    }

    @Test
    void everyPropertyProblemIsNamedWithItsFix() {
        AutoCertProperties p = new AutoCertProperties();
        p.setHttpPort(8443);
        p.setRequireProfile(true);
        AutoCertConfigurationException e = assertThrows(AutoCertConfigurationException.class, () -> AutoCertFactory.build(p,
                environment(Map.of("server.port", "8443", "server.ssl.bundle", "mine")), ev -> { }, null, List.of()));
        List<String> problems = e.problems();
        assertTrue(problems.get(0).startsWith("autocert4j.domains: not set. Fix:"), problems.toString());
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("autocert4j.directory: not set. Fix: autocert4j.directory=letsencrypt-staging")));
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("autocert4j.agree-terms-of-service: not true. Fix:")));
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("autocert4j.http-port: 8443 is also server.port")));
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("server.ssl: configured")));
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("autocert4j.require-profile: true without autocert4j.profile")));
        assertEquals(6, problems.size(), problems.toString());
        assertTrue(e.getMessage().startsWith("invalid autocert4j configuration:\n  - autocert4j.domains"));
    }

    @Test
    void serverSslSwitchedOffIsNoClash(@TempDir Path store) {
        AutoCertProperties p = valid(store);
        assertEquals(List.of(), AutoCertFactory.check(p, environment(Map.of("server.ssl.enabled", "false", "server.ssl.bundle", "x"))));
    }

    @Test
    void whatTheCoreRejectsIsReportedUnderThePropertyThatSetIt(@TempDir Path store) {
        AutoCertProperties p = valid(store);
        p.setDomains(List.of("*.example.test"));
        p.setEmail("not-an-address");
        p.getRenewal().setCheckInterval(java.time.Duration.ZERO);
        AutoCertConfigurationException e = assertThrows(AutoCertConfigurationException.class,
                () -> AutoCertFactory.build(p, environment(Map.of()), ev -> { }, null, List.of()));
        List<String> problems = e.problems();
        assertTrue(problems.contains("autocert4j.domains / autocert4j.certificates (certificate): '*.example.test' is a wildcard, which "
                + "CAs validate only by DNS-01. Fix: define a dns-01 ChallengeSolver bean or list the host names instead"), problems.toString());
        assertTrue(problems.contains("autocert4j.email (email): 'not-an-address' is not an e-mail address. Fix: "
                + "autocert4j.email=ops@example.com, or leave it out"), problems.toString());
        assertTrue(problems.contains("autocert4j.renewal.check-interval (renewal.checkInterval) is PT0S: must be a positive duration, e.g. 12h"),
                problems.toString());
    }
}
