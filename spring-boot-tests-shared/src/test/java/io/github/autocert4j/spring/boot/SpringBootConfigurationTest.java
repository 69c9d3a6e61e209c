package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Start-up with bad {@code autocert4j.*} properties fails with every problem named (property and
 * fix), printed by Boot as a failure analysis; {@code autocert4j.enabled=false} leaves Boot's server
 * alone. Real applications; no CA is contacted.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@IntegrationTest
class SpringBootConfigurationTest {

    private static AutoCertConfigurationException startFails(Map<String, String> props) {
        RuntimeException e = assertThrows(RuntimeException.class, () -> BootApp.start(Server.TOMCAT, props).close());
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AutoCertConfigurationException c) {
                return c;
            }
        }
        throw new AssertionError("start-up failed, but not with AutoCertConfigurationException", e);
    }

    private static Map<String, String> valid(Path store) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("autocert4j.domains", "config.autocert4j.test");
        p.put("autocert4j.directory", "https://127.0.0.1:" + FreePorts.loopback() + "/dir");
        p.put("autocert4j.agree-terms-of-service", "true");
        p.put("autocert4j.storage-directory", store.toString());
        p.put("autocert4j.http-port", Integer.toString(FreePorts.loopback()));
        return p;
    }

    @Test
    void theStarterWithoutSettingsFailsNamingEachPropertyAndItsFix() {
        AutoCertConfigurationException e = startFails(Map.of("autocert4j.http-port", Integer.toString(FreePorts.loopback())));
        List<String> problems = e.problems();
        assertEquals(3, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith("autocert4j.domains: not set. Fix: list the names this server answers for"));
        assertTrue(problems.get(1).startsWith("autocert4j.directory: not set. Fix: autocert4j.directory=letsencrypt-staging to test"));
        assertTrue(problems.get(2).startsWith("autocert4j.agree-terms-of-service: not true. Fix: read your CA's terms of service"));

        FailureAnalysis analysis = new AutoCertFailureAnalyzer().analyze(new IllegalStateException("wrapped", e));
        assertNotNull(analysis, "Boot prints it as a failure analysis");
        assertTrue(analysis.getDescription().contains("autocert4j.domains: not set"));
        assertTrue(analysis.getAction().contains("autocert4j.enabled=false"));
    }

    @Test
    void valuesTheCoreRejectsAreReportedUnderTheirProperty(@TempDir Path store) {
        Map<String, String> p = valid(store);
        p.put("autocert4j.domains", "config.autocert4j.test,*.autocert4j.test");
        p.put("autocert4j.email", "ops-at-example");
        p.put("autocert4j.renewal.check-interval", "0s");
        List<String> problems = startFails(p).problems();
        assertTrue(problems.stream().anyMatch(s -> s.startsWith(
                "autocert4j.domains / autocert4j.certificates (certificate): '*.autocert4j.test' is a wildcard")), problems.toString());
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("autocert4j.email (email): 'ops-at-example' is not an e-mail address")),
                problems.toString());
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("autocert4j.renewal.check-interval (renewal.checkInterval) is PT0S")),
                problems.toString());
    }

    @Test
    void serverSslAndAPortClashAreRefused(@TempDir Path store) {
        int port = FreePorts.loopback();
        Map<String, String> p = valid(store);
        p.put("server.port", Integer.toString(port));
        p.put("autocert4j.http-port", Integer.toString(port));
        p.put("server.ssl.key-store", "classpath:nothing.p12");
        List<String> problems = startFails(p).problems();
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("autocert4j.http-port: " + port + " is also server.port")), problems.toString());
        assertTrue(problems.stream().anyMatch(s -> s.startsWith("server.ssl: configured, but autocert4j serves HTTPS on server.port")),
                problems.toString());
    }

    @Test
    void aDirectoryThatIsNoShorthandOrHttpsUrlIsRefused(@TempDir Path store) {
        Map<String, String> p = valid(store);
        p.put("autocert4j.directory", "http://ca.example/dir");
        List<String> problems = startFails(p).problems();
        assertEquals(List.of("autocert4j.directory: 'http://ca.example/dir' is neither letsencrypt, letsencrypt-staging nor an https URL. "
                + "Fix: use one of those shorthands or the https URL of your CA's ACME directory, e.g. " + AutoCert.LETS_ENCRYPT_STAGING), problems);
    }

    @Test
    void anUnknownKeyTypeFailsInBootsBinderNamingTheProperty(@TempDir Path store) {
        Map<String, String> p = valid(store);
        p.put("autocert4j.key-type", "dsa");
        RuntimeException e = assertThrows(RuntimeException.class, () -> BootApp.start(Server.TOMCAT, p).close());
        StringBuilder messages = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            messages.append(t.getMessage()).append('\n');
        }
        assertTrue(messages.toString().contains("autocert4j.key-type"), messages.toString());
    }

    @Test
    void whenDisabledBootsServerIsLeftAlone() throws Exception {
        try (BootApp app = BootApp.start(Server.TOMCAT, Map.of("autocert4j.enabled", "false"))) {
            assertTrue(app.context.getBeansOfType(AutoCert.class).isEmpty());
            Http.Response page = Http.plain(app.httpsPort(), "GET", "localhost", "/");
            assertEquals(200, page.status(), "plain HTTP on server.port, as without the starter");
            assertTrue(page.body().contains(TestApplication.PAGE));
        }
    }
}
