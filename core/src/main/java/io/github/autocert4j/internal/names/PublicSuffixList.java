package io.github.autocert4j.internal.names;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.IDN;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Internal: the Public Suffix List (publicsuffix.org) in its {@code public_suffix_list.dat} format, with
 * its matching algorithm (normal, wildcard and exception rules; the longest matching rule prevails; no rule
 * means the last label). Reads the user's own file (system property {@value #PROPERTY} or environment variable
 * {@value #ENV}). A copy of the list ships in this jar (its date and commit in {@code public_suffix_list.README}
 * next to it); the library looks it up in its compact form ({@link CompactPublicSuffixList}, generated from it by
 * this parser and checked against it by tests). See {@link PublicSuffixes} for which source is used.
 */
public final class PublicSuffixList implements SuffixRules {
    /** System property naming a {@code public_suffix_list.dat} that replaces the built-in copy. */
    public static final String PROPERTY = "autocert4j.publicSuffixList";
    /** Environment variable naming a {@code public_suffix_list.dat} that replaces the built-in copy. */
    public static final String ENV = "AUTOCERT4J_PUBLIC_SUFFIX_LIST";
    private static final String BUILT_IN = "public_suffix_list.dat";
    /** The bundled copy's date and publicsuffix/list commit (also in public_suffix_list.README). */
    public static final String BUILT_IN_VERSION = "2026-08-19, github.com/publicsuffix/list commit e8c9a2b2";

    private final Set<String> exact = new HashSet<>();
    private final Set<String> wildcard = new HashSet<>();
    private final Set<String> exception = new HashSet<>();
    /**
     * The rules with a non-ASCII character, as written (exact, wildcard and exception rules, each
     * with its prefix): converted to ASCII (IDN) only when a name with an {@code xn--} label is first
     * looked up, since only such a name can match one. IDN conversion loads the JDK's ICU data and
     * took about 80 ms of every {@code build()} (issue 23); few servers ever ask about such a name.
     */
    private final List<String> unicodeRules = new ArrayList<>();
    private volatile PublicSuffixList unicode;
    private final String source;

    private PublicSuffixList(Reader in, String source) throws IOException {
        this.source = source;
        try (BufferedReader r = new BufferedReader(in)) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String rule = line.strip();
                int space = rule.indexOf(' ');
                rule = space < 0 ? rule : rule.substring(0, space);
                if (rule.isEmpty() || rule.startsWith("//")) {
                    continue;
                }
                if (!isAscii(rule)) {
                    unicodeRules.add(rule);
                } else if (rule.startsWith("!")) { // IDN.toASCII leaves an ASCII rule as it is (or rejects it: then it was lower-cased too)
                    exception.add(rule.substring(1).toLowerCase(Locale.ROOT));
                } else if (rule.startsWith("*.")) {
                    wildcard.add(rule.substring(2).toLowerCase(Locale.ROOT));
                } else {
                    exact.add(rule.toLowerCase(Locale.ROOT));
                }
            }
        }
        if (exact.size() + unicodeRules.size() < 100) {
            throw new IOException("public suffix list " + source + " has only " + exact.size() + " rules: not a public_suffix_list.dat. "
                    + "Fix: download https://publicsuffix.org/list/public_suffix_list.dat and point " + PROPERTY + " at it");
        }
    }

    /** The converted non-ASCII rules of {@code of}. */
    private PublicSuffixList(PublicSuffixList of) {
        this.source = of.source;
        for (String rule : of.unicodeRules) {
            if (rule.startsWith("!")) {
                exception.add(ascii(rule.substring(1)));
            } else if (rule.startsWith("*.")) {
                wildcard.add(ascii(rule.substring(2)));
            } else {
                exact.add(ascii(rule));
            }
        }
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    /** The non-ASCII rules, converted at the first call. */
    private PublicSuffixList unicode() {
        PublicSuffixList u = unicode;
        if (u == null) {
            synchronized (unicodeRules) {
                u = unicode;
                if (u == null) {
                    u = new PublicSuffixList(this);
                    unicode = u;
                }
            }
        }
        return u;
    }

    private static String ascii(String rule) {
        try {
            return IDN.toASCII(rule, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return rule.toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The copy shipped in this jar, parsed line by line (~30 ms in a cold JVM): what {@link CompactPublicSuffixList}
     * is generated from and checked against (tests). The library itself uses {@link CompactPublicSuffixList#builtIn()}.
     */
    public static PublicSuffixList parsedBuiltIn() {
        try (InputStream in = PublicSuffixList.class.getResourceAsStream(BUILT_IN)) {
            if (in == null) {
                throw new IllegalStateException("the built-in public suffix list is missing from the autocert4j jar");
            }
            return new PublicSuffixList(new InputStreamReader(in, StandardCharsets.UTF_8), "bundled copy of " + BUILT_IN_VERSION);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the built-in public suffix list", e);
        }
    }

    /** The list in {@code file} (the format of publicsuffix.org's {@code public_suffix_list.dat}). */
    public static PublicSuffixList fromFile(Path file) throws IOException {
        if (!Files.isReadable(file)) {
            throw new IOException("public suffix list " + file + " cannot be read. Fix: download https://publicsuffix.org/list/"
                    + "public_suffix_list.dat to that path, or unset " + PROPERTY + " / " + ENV + " to use Guava's list (when Guava is on the class path) or the bundled copy");
        }
        return new PublicSuffixList(Files.newBufferedReader(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * The file named by {@value #PROPERTY} (or else {@value #ENV} in {@code env}), empty if neither is set.
     *
     * @throws IllegalStateException if the named file cannot be read or is not a list (the message names the fix)
     */
    public static Optional<PublicSuffixList> userFile(Map<String, String> env) {
        String path = System.getProperty(PROPERTY);
        if (path == null || path.isBlank()) {
            path = env.get(ENV);
        }
        if (path == null || path.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.of(fromFile(Path.of(path.strip())));
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /**
     * The rules of one kind ({@code '='} exact, {@code '*'} wildcard without its {@code *.}, {@code '!'} exception
     * without its {@code !}), the non-ASCII ones converted as a lookup converts them, sorted: what
     * {@link CompactPublicSuffixList}'s generator (a test) writes.
     */
    java.util.SortedSet<String> rules(char kind) {
        PublicSuffixList u = unicode();
        java.util.SortedSet<String> all = new java.util.TreeSet<>(kind == '!' ? exception : kind == '*' ? wildcard : exact);
        all.addAll(kind == '!' ? u.exception : kind == '*' ? u.wildcard : u.exact);
        return all;
    }

    /** Where the rules came from (a path, or the bundled copy with its date). */
    @Override
    public String source() {
        return source;
    }

    /** The public suffix of {@code name} (lower case, ASCII; a leading {@code *.} is ignored). */
    public String publicSuffix(String name) {
        String n = SuffixRules.normalized(name);
        // Every non-ASCII rule has an xn-- label once converted (nameprep maps no character the list uses to ASCII;
        // PublicSuffixListTest checks this for the built-in copy): other names need no conversion.
        PublicSuffixList u = n.contains("xn--") && !unicodeRules.isEmpty() ? unicode() : null;
        String s = n;
        while (true) {
            int dot = s.indexOf('.');
            String parent = dot < 0 ? null : s.substring(dot + 1);
            if (exception.contains(s) || (u != null && u.exception.contains(s))) {
                return parent == null ? s : parent;
            }
            if (exact.contains(s) || (parent != null && wildcard.contains(parent))
                    || (u != null && (u.exact.contains(s) || (parent != null && u.wildcard.contains(parent))))) {
                return s;
            }
            if (parent == null) {
                return s; // no rule: the prevailing rule is "*", the last label
            }
            s = parent;
        }
    }
}
