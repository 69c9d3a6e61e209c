package io.github.autocert4j.internal.names;

import java.util.Locale;
import java.util.Optional;

/**
 * Internal: a list that answers with the public suffix of a name by the list's own rules (the bundled compact copy,
 * {@link CompactPublicSuffixList}, and a user's {@code public_suffix_list.dat}, {@link PublicSuffixList}); the two
 * questions the guard asks follow from that answer alike for both.
 */
interface SuffixRules extends PublicSuffixes {
    /** The public suffix of {@code name} (lower case, ASCII; a leading {@code *.} is ignored). */
    String publicSuffix(String name);

    @Override
    default boolean isPublicSuffix(String name) {
        String n = withoutWildcard(name);
        return publicSuffix(n).equals(n);
    }

    /**
     * The registrable domain of {@code name}: its public suffix and one more label ({@code example.co.uk} for
     * {@code www.example.co.uk}), or empty if {@code name} is a public suffix.
     */
    @Override
    default Optional<String> registrableDomain(String name) {
        String n = withoutWildcard(name);
        String suffix = publicSuffix(n);
        if (suffix.equals(n)) {
            return Optional.empty();
        }
        String rest = n.substring(0, n.length() - suffix.length() - 1);
        int dot = rest.lastIndexOf('.');
        return Optional.of(rest.substring(dot + 1) + "." + suffix);
    }

    /** {@code name} as both lists look it up: lower case, without a leading {@code *.} and trailing dots. */
    static String normalized(String name) {
        String n = withoutWildcard(name);
        while (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
        }
        return n;
    }

    private static String withoutWildcard(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return n.startsWith("*.") ? n.substring(2) : n;
    }
}
