package io.github.autocert4j.internal.names;

import java.io.IOException;
import java.io.InputStream;

/**
 * Internal: the bundled Public Suffix List ({@code public_suffix_list.dat}, the source of truth next to it) in the
 * compact form generated from it, {@value #RESOURCE}: its rules only, each once with its kinds (exact, wildcard,
 * exception), the non-ASCII ones already converted to their {@code xn--} form as {@link PublicSuffixList} converts
 * them, sorted, and an open-addressing hash table over them. A lookup reads those bytes: no per-rule object is
 * made, so loading the list costs reading one resource (parsing the ~10,000 lines of the {@code .dat} into sets took
 * ~30 ms of a cold {@code build()}, issue 23), and a lookup hashes each suffix of the name once, right to left,
 * without a substring per level. It answers exactly what {@link PublicSuffixList} answers for the {@code .dat}
 * (same normalization, same matching algorithm: {@code CompactPublicSuffixListTest} checks every rule and a set of
 * tricky names, and regenerates the form from the {@code .dat} to check it is current).
 *
 * <p>Format (big-endian): magic {@code PSL1}, slot count (a power of two), entry count, entry bytes length; the
 * slots (an int each: 1 + the offset of an entry, 0 for none); the entries, sorted: kinds byte, length byte, the
 * rule's ASCII bytes (lower case, without its {@code *.} or {@code !} prefix). A rule's slot is
 * {@link #slot} of its {@link #hash}, then the next free one (linear probing).
 */
public final class CompactPublicSuffixList implements SuffixRules {
    /** The compact form's resource, next to this class. */
    static final String RESOURCE = "public_suffix_rules.bin";
    static final int EXACT = 1;
    static final int WILDCARD = 2;
    static final int EXCEPTION = 4;
    static final int MAGIC = 0x50534c31; // "PSL1"
    static final int HEADER = 16;
    private static final String FIX = "Fix: use an unmodified autocert4j-core jar, or point -D" + PublicSuffixList.PROPERTY + " (or "
            + PublicSuffixList.ENV + ") at a current public_suffix_list.dat";

    private final byte[] data;
    private final int mask;
    private final int shift;
    private final int entries;

    private CompactPublicSuffixList(byte[] data) {
        this.data = data;
        int slots = data.length < HEADER ? 0 : readInt(data, 4);
        if (data.length < HEADER || readInt(data, 0) != MAGIC || Integer.bitCount(slots) != 1
                || data.length != HEADER + 4L * slots + readInt(data, 12)) {
            throw new IllegalStateException("the built-in public suffix list " + RESOURCE + " in the autocert4j jar is damaged. " + FIX);
        }
        this.mask = slots - 1;
        this.shift = 32 - Integer.numberOfTrailingZeros(slots);
        this.entries = HEADER + 4 * slots;
    }

    /** The copy shipped in this jar, in its compact form. */
    public static CompactPublicSuffixList builtIn() {
        try (InputStream in = CompactPublicSuffixList.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the built-in public suffix list " + RESOURCE + " is missing from the autocert4j jar. " + FIX);
            }
            return new CompactPublicSuffixList(in.readAllBytes());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the built-in public suffix list " + RESOURCE + ": " + e.getMessage() + ". " + FIX, e);
        }
    }

    /** The hash of {@code s} (its chars from the last to the first), as a lookup computes it for each suffix of a name. */
    static int hash(CharSequence s) {
        int h = 0;
        for (int i = s.length() - 1; i >= 0; i--) {
            h = 31 * h + s.charAt(i);
        }
        return h;
    }

    /** The first slot for {@code hash} in a table of {@code 1 << (32 - shift)} slots. */
    static int slot(int hash, int shift) {
        return (hash * 0x9E3779B9) >>> shift;
    }

    static int readInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }

    /** The kinds of the rule {@code n.substring(from)} (whose {@link #hash} is {@code h}), 0 if it is no rule. */
    private int kinds(String n, int from, int h) {
        int length = n.length() - from;
        byte[] d = data;
        for (int s = slot(h, shift); ; s = (s + 1) & mask) {
            int at = readInt(d, HEADER + 4 * s) - 1;
            if (at < 0) {
                return 0;
            }
            int e = entries + at;
            if ((d[e + 1] & 0xff) == length && same(d, e + 2, n, from, length)) {
                return d[e];
            }
        }
    }

    private static boolean same(byte[] d, int at, String n, int from, int length) {
        for (int i = 0; i < length; i++) {
            if (d[at + i] != n.charAt(from + i)) { // a char above 0x7f never equals an (ASCII) byte
                return false;
            }
        }
        return true;
    }

    @Override
    public String source() {
        return "bundled copy of " + PublicSuffixList.BUILT_IN_VERSION;
    }

    /** The public suffix of {@code name} (lower case, ASCII; a leading {@code *.} is ignored), as {@link PublicSuffixList#publicSuffix}. */
    public String publicSuffix(String name) {
        String n = SuffixRules.normalized(name);
        // PublicSuffixList walks the suffixes from the whole name to its last label and answers at the first that
        // matches (an exception rule before the others). Here they are walked from the last label, each hashed on
        // from the previous one, and the longest that matches answers: the same suffix.
        int answer = -1;
        int parent = -1;
        int parentKinds = 0;
        int h = 0;
        for (int p = n.length() - 1; p >= 0; p--) {
            h = 31 * h + n.charAt(p);
            if (p == 0 || n.charAt(p - 1) == '.') {
                int k = kinds(n, p, h);
                if ((k & EXCEPTION) != 0) {
                    answer = parent < 0 ? p : parent;
                } else if ((k & EXACT) != 0 || (parentKinds & WILDCARD) != 0 || parent < 0) {
                    answer = p; // the last label also when no rule matches: the prevailing rule is "*"
                }
                parent = p;
                parentKinds = k;
            }
        }
        return answer <= 0 ? n : n.substring(answer);
    }
}
