package io.github.autocert4j.spring.boot;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/** Prints an {@link AutoCertConfigurationException} as Boot's "APPLICATION FAILED TO START" report. */
final class AutoCertFailureAnalyzer extends AbstractFailureAnalyzer<AutoCertConfigurationException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, AutoCertConfigurationException cause) {
        return new FailureAnalysis(cause.getMessage(),
                "Fix the properties named above (application.yml / application.properties, environment variables such as "
                        + "AUTOCERT4J_DOMAINS), or set autocert4j.enabled=false to run without autocert4j.",
                cause);
    }
}
