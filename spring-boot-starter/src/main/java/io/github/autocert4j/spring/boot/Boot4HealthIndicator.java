package io.github.autocert4j.spring.boot;

import java.util.function.Supplier;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** Boot 4.0's {@link HealthIndicator} over {@link HealthEvaluation}. */
final class Boot4HealthIndicator implements HealthIndicator {
    private final Supplier<HealthEvaluation> evaluation;

    Boot4HealthIndicator(Supplier<HealthEvaluation> evaluation) {
        this.evaluation = evaluation;
    }

    @Override
    public Health health() {
        HealthEvaluation e = evaluation.get();
        return Health.status(e.status()).withDetails(e.details()).build();
    }
}
