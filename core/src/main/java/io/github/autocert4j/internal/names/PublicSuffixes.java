package io.github.autocert4j.internal.names;

import java.util.Map;
import java.util.Optional;

/**
 * Internal: the Public Suffix List as the guard asks it. Three sources, in this order:
 * <ol>
 * <li>a {@code public_suffix_list.dat} the user names ({@value PublicSuffixList#PROPERTY} or
 * {@value PublicSuffixList#ENV}): an offline copy the user keeps current; it wins;</li>
 * <li>Guava's {@code com.google.common.net.InternetDomainName} when Guava is on the class path (an
 * optional dependency of core; each Guava release carries the list of its day): {@link GuavaPublicSuffixes};</li>
 * <li>the copy bundled in this jar ({@link CompactPublicSuffixList#builtIn()}, generated from the
 * {@code public_suffix_list.dat} next to it; its date in {@code public_suffix_list.README}).</li>
 * </ol>
 */
public interface PublicSuffixes {
    /** Guava's class whose presence selects {@link GuavaPublicSuffixes}. */
    String GUAVA_CLASS = "com.google.common.net.InternetDomainName";

    /** Where the rules come from (a path, Guava with its version, or the bundled copy with its date). */
    String source();

    /** Whether {@code name} is itself a public suffix ({@code com}, {@code co.uk}, {@code github.io}); a leading {@code *.} is ignored. */
    boolean isPublicSuffix(String name);

    /**
     * The registrable domain of {@code name}: its public suffix and one more label ({@code example.co.uk} for
     * {@code www.example.co.uk}), or empty if {@code name} is a public suffix. A name under no rule has its last
     * label as public suffix (the list's default rule {@code *}).
     */
    Optional<String> registrableDomain(String name);

    /** The user's file if named in the system property or {@code env}, else Guava if {@code loader} sees it, else the bundled copy. */
    static PublicSuffixes configured(Map<String, String> env, ClassLoader loader) {
        // PublicSuffixList (the .dat parser) is loaded only when the user names a file (its constants are inlined)
        String property = System.getProperty(PublicSuffixList.PROPERTY);
        String variable = env.get(PublicSuffixList.ENV);
        if ((property != null && !property.isBlank()) || (variable != null && !variable.isBlank())) {
            Optional<PublicSuffixList> own = PublicSuffixList.userFile(env);
            if (own.isPresent()) {
                return own.get();
            }
        }
        if (guavaPresent(loader)) {
            return new GuavaPublicSuffixes();
        }
        return CompactPublicSuffixList.builtIn();
    }

    /** Whether {@code loader} can load Guava's {@code InternetDomainName}. */
    static boolean guavaPresent(ClassLoader loader) {
        try {
            Class.forName(GUAVA_CLASS, false, loader);
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
