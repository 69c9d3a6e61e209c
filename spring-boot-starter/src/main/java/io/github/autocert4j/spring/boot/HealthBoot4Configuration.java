package io.github.autocert4j.spring.boot;

import java.time.Clock;

import io.github.autocert4j.AutoCert;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Boot 4.0 (module spring-boot-health): the health indicator "autocert4j" (disable with management.health.autocert4j.enabled=false). */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = "org.springframework.boot.health.contributor.HealthIndicator")
@ConditionalOnEnabledHealthIndicator("autocert4j")
class HealthBoot4Configuration {

    @Bean
    Boot4HealthIndicator autocert4jHealthIndicator(AutoCert autoCert, AutoCertProperties properties) {
        return new Boot4HealthIndicator(() -> HealthEvaluation.of(autoCert, properties, Clock.systemUTC()));
    }
}
