package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testdoubles.CutOffStore;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * A Boot replica whose shared store cannot be reached (its database is cut off) answers a token it cannot decide
 * with 503 on the plain-HTTP port on every server (Tomcat and Jetty through the servlet filter, Reactor Netty
 * through its plain-port route), so a load balancer tries another replica (docs/cluster.md); its own token is still
 * answered 200 from memory, and the 503s are counted under {@code autocert4j.challenge.requests{status=503}}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@IntegrationTest
class ClusterPartitionSpringBootTest {
    private static final String NAME = "partition.autocert4j.test";
    private static final String TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    private static final String KEY_AUTHZ = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
    private static final String PREFIX = "/.well-known/acme-challenge/";

    @ParameterizedTest
    @EnumSource(Server.class)
    void aTokenTheCutOffStoreCannotDecideIs503(Server server) throws Exception {
        int plain = FreePorts.loopback();
        Map<String, String> props = new LinkedHashMap<>();
        props.put("autocert4j.domains", NAME);
        props.put("autocert4j.directory", "https://127.0.0.1:9/directory"); // nobody listens: no order is ever placed
        props.put("autocert4j.agree-terms-of-service", "true");
        props.put("autocert4j.http-port", Integer.toString(plain));
        try (BootApp app = BootApp.start(server, props, CutOffStoreConfiguration.class)) {
            app.autoCert().http01().present(new ChallengeSolver.Challenge("http-01", NAME, TOKEN, KEY_AUTHZ));
            Http.Response unknown = Http.plain(plain, "GET", NAME, PREFIX + "peersToken_1");
            assertEquals(503, unknown.status(), server + ": " + unknown);
            assertEquals("Service Unavailable\n", unknown.body(), server + ": " + unknown);
            assertEquals("no-store", unknown.header("cache-control"), server + ": answered by autocert4j");
            assertEquals(503, Http.plain(plain, "HEAD", NAME, PREFIX + "peersToken_2").status(), server.toString());
            Http.Response own = Http.plain(plain, "GET", NAME, PREFIX + TOKEN);
            assertEquals(200, own.status(), server + ": " + own);
            assertEquals(KEY_AUTHZ, own.body());
            MeterRegistry meters = app.context.getBean(MeterRegistry.class);
            assertEquals(2.0, meters.get("autocert4j.challenge.requests").tag("status", "503").functionCounter().count(), server.toString());
        }
    }

    /** The application's CertStore bean: a store whose database went away after this replica published its own challenge. */
    @Configuration(proxyBeanMethods = false)
    static class CutOffStoreConfiguration {
        @Bean
        CertStore cutOffStore() {
            return new CutOffStore();
        }
    }

}
