package io.github.autocert4j.spring.boot;

import java.util.List;

/**
 * Thrown at start-up when the {@code autocert4j.*} properties (or settings that clash with them)
 * are invalid; each problem names the property and the fix. Spring Boot prints it as a failure
 * analysis instead of a stack trace.
 *
 * <pre>{@code
 * invalid autocert4j configuration:
 *   - autocert4j.domains: not set. Fix: list the names this server answers for, e.g. autocert4j.domains=example.com,www.example.com (or set autocert4j.enabled=false)
 * }</pre>
 */
public final class AutoCertConfigurationException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    /** One line per problem. */
    private final transient List<String> problems;

    AutoCertConfigurationException(List<String> problems) {
        super("invalid autocert4j configuration:\n  - " + String.join("\n  - ", problems));
        this.problems = List.copyOf(problems);
    }

    /** Each problem, naming the property and the fix. */
    public List<String> problems() {
        return problems;
    }
}
