package io.github.autocert4j.spring.boot;

import java.time.Clock;

import io.github.autocert4j.AutoCert;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Micrometer meters when Micrometer is on the class path (Boot binds every MeterBinder bean to its registries). */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = "io.micrometer.core.instrument.binder.MeterBinder")
class AutoCertMetricsConfiguration {

    @Bean
    AutoCertMetrics autocert4jMetrics(ObjectProvider<AutoCert> autoCert, ChallengeRequests challenges) {
        return new AutoCertMetrics(autoCert::getObject, challenges, Clock.systemUTC());
    }
}
