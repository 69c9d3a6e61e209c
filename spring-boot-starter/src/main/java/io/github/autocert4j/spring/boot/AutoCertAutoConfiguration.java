package io.github.autocert4j.spring.boot;

import java.util.Set;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEventListener;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.ChallengeSolver;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;

/**
 * Auto-configuration of autocert4j for Spring Boot 3.5 and 4.0: an {@link AutoCert} built from the
 * {@code autocert4j.*} properties ({@link AutoCertProperties}), HTTPS with the live certificates on
 * {@code server.port} and a plain-HTTP port for the ACME challenge on Tomcat, Jetty (Spring MVC) and
 * Reactor Netty (WebFlux), an Actuator health indicator and endpoint, and Micrometer meters.
 *
 * <p>Beans of the application it uses when present: {@link CertEventListener}s (each receives every
 * event), a {@link CertStore} (instead of {@code autocert4j.storage-directory}), {@link ChallengeSolver}s
 * (e.g. dns-01 for wildcards), or a whole {@link AutoCert} (then the properties are not used to build one).
 * With {@code autocert4j.store.type=postgres} (and autocert4j-postgres on the class path) the store is
 * the PostgreSQL database of the application's DataSource ({@code PostgresStoreConfiguration}).
 *
 * <pre>{@code
 * @Bean
 * CertEventListener certificateAlerts(Alerts alerts) {
 *     return event -> {
 *         if (event instanceof CertEvent.Failed f) {
 *             alerts.warn(f.certificate() + ": " + f.error());
 *         }
 *     };
 * }
 * }</pre>
 */
@AutoConfiguration
@ConditionalOnClass(AutoCert.class)
@ConditionalOnProperty(prefix = "autocert4j", name = "enabled", havingValue = "true", matchIfMissing = true)
@EnableConfigurationProperties(AutoCertProperties.class)
@Import({ServletChallengeConfiguration.class, TomcatBoot3Configuration.class, TomcatBoot4Configuration.class,
        JettyBoot3Configuration.class, JettyBoot4Configuration.class, ReactorNettyConfiguration.class,
        ReactorNettyBoot3Configuration.class, ReactorNettyBoot4Configuration.class, HealthBoot3Configuration.class,
        HealthBoot4Configuration.class, AutoCertEndpointConfiguration.class, AutoCertMetricsConfiguration.class,
        PostgresStoreConfiguration.class})
public class AutoCertAutoConfiguration {

    /** Created by Spring Boot. */
    public AutoCertAutoConfiguration() {
    }

    @Bean
    ServerIntegrations autocert4jServerIntegrations() {
        return new ServerIntegrations();
    }

    @Bean
    ChallengeRequests autocert4jChallengeRequests() {
        return new ChallengeRequests();
    }

    /** The manager, built from the properties; fails start-up with every problem named if they are invalid. */
    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(AutoCert.class)
    public AutoCert autoCert(AutoCertProperties properties, Environment environment, ObjectProvider<CertEventListener> listeners,
            ObjectProvider<CertStore> store, ObjectProvider<ChallengeSolver> solvers, ApplicationContext context) {
        return AutoCertFactory.build(properties, environment, new CompositeListener(listeners.orderedStream().toList()),
                store.getIfUnique(), solvers.orderedStream().toList(), context.getClassLoader());
    }

    @Bean
    AutoCertLifecycle autocert4jLifecycle(AutoCert autoCert, ServerIntegrations integrations, ApplicationContext context) {
        return new AutoCertLifecycle(autoCert, integrations, hasWebServer(context));
    }

    /** Whether the context runs an embedded web server (Boot 3.5 and 4.0 keep that interface in different packages). */
    private static boolean hasWebServer(ApplicationContext context) {
        Set<Class<?>> interfaces = ClassUtils.getAllInterfacesForClassAsSet(context.getClass());
        return interfaces.stream().anyMatch(i -> i.getSimpleName().equals("WebServerApplicationContext"));
    }
}
