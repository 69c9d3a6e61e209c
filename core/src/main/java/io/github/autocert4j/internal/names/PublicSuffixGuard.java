package io.github.autocert4j.internal.names;

/**
 * Internal: refuses names that are public suffixes ({@code co.uk}, {@code github.io}; a wildcard over one,
 * {@code *.co.uk}), which no CA issues for and which no single party controls. The list is
 * {@link PublicSuffixes#configured} (the file named by {@value PublicSuffixList#PROPERTY} /
 * {@value PublicSuffixList#ENV}, else Guava's when Guava is on the class path, else the bundled copy), chosen
 * once per class loader at the first check.
 */
public final class PublicSuffixGuard {
    private PublicSuffixGuard() {
    }

    /** Loaded at first use; an unreadable configured list is reported at every check instead of throwing. */
    private static final class Holder {
        static final PublicSuffixes LIST;
        static final String ERROR;

        static {
            PublicSuffixes list = null;
            String error = null;
            try {
                list = PublicSuffixes.configured(System.getenv(), PublicSuffixGuard.class.getClassLoader());
            } catch (RuntimeException e) {
                error = e.getMessage();
            }
            LIST = list;
            ERROR = error;
        }
    }

    /** The list in use (null if the configured file could not be read: see {@link #problem}). */
    public static PublicSuffixes list() {
        return Holder.LIST;
    }

    /** Null if {@code name} (normalized, not an IP address) is not a public suffix, else the problem prefixed with {@code field}. */
    public static String problem(String field, String name) {
        if (Holder.LIST == null) {
            return field + ": cannot check '" + name + "' against the public suffix list: " + Holder.ERROR;
        }
        if (Holder.LIST.isPublicSuffix(name)) {
            return field + ": '" + name + "' is a public suffix (Public Suffix List: " + Holder.LIST.source() + "): names under it "
                    + "belong to different owners and no CA issues a certificate for it. Fix: use a name under it that you control, "
                    + "such as \"app." + (name.startsWith("*.") ? name.substring(2) : name).replaceFirst("^", "yourdomain.")
                    + "\"; if the list is out of date, point -D" + PublicSuffixList.PROPERTY + " (or " + PublicSuffixList.ENV
                    + ") at a current public_suffix_list.dat";
        }
        return null;
    }
}
