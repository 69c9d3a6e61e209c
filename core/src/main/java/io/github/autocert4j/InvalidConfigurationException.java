package io.github.autocert4j;

import java.util.List;

/**
 * What {@link AutoCertBuilder#build()} found wrong, all at once: the message lists every problem
 * with its fix, and {@link #problems()} gives them one by one for frameworks that map them back to
 * their own settings (the Spring Boot starter names the property).
 *
 * <pre>{@code
 * try {
 *     builder.build();
 * } catch (InvalidConfigurationException e) {
 *     e.problems().forEach(p -> log.error("{}: {}", p.field(), p.description()));
 * }
 * }</pre>
 */
public final class InvalidConfigurationException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /**
     * One invalid setting.
     *
     * @param field the builder setting, e.g. {@code "directory"} or {@code "renewal.checkInterval"}
     * @param description what is wrong and the fix, e.g. {@code "not set. Fix: .directory(...)"}
     */
    public record Problem(String field, String description) {
        @Override
        public String toString() {
            return field + ": " + description;
        }
    }

    private final transient List<Problem> problems;

    InvalidConfigurationException(String heading, List<String> errors) {
        super(heading + "\n  - " + String.join("\n  - ", errors));
        this.problems = errors.stream().map(InvalidConfigurationException::parse).toList();
    }

    /** Every problem found, in the order the settings are checked. */
    public List<Problem> problems() {
        return problems;
    }

    private static final java.util.regex.Pattern FIELD = java.util.regex.Pattern.compile("([A-Za-z][A-Za-z0-9_.]*)(?:\\(\\))?(?::\\s|\\s)(.*)", java.util.regex.Pattern.DOTALL);

    /** Every message the builder writes starts with the field it is about: "field: what. Fix: how" or "renewal.field is ...". */
    private static Problem parse(String error) {
        java.util.regex.Matcher m = FIELD.matcher(error);
        return m.matches() ? new Problem(m.group(1), m.group(2)) : new Problem("configuration", error);
    }
}
