package io.github.autocert4j.spring.boot;

import java.util.function.Supplier;

import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.HealthIndicator;

/** Boot 3.5's {@link HealthIndicator} over {@link HealthEvaluation}. */
final class Boot3HealthIndicator implements HealthIndicator {
    private final Supplier<HealthEvaluation> evaluation;

    Boot3HealthIndicator(Supplier<HealthEvaluation> evaluation) {
        this.evaluation = evaluation;
    }

    @Override
    public Health health() {
        HealthEvaluation e = evaluation.get();
        return Health.status(e.status()).withDetails(e.details()).build();
    }
}
