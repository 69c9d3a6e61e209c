package io.github.autocert4j.internal.util;

/**
 * Makes text that came from outside (a CA's problem detail, an exception message carrying a
 * server's bytes) safe to put in a log line, an event or a status: control characters are escaped
 * as {@code \\uXXXX} (so a NUL or a newline cannot forge or cut a log line), and so are invisible
 * format characters (Unicode category Cf: the bidi controls U+202A..U+202E, U+2066..U+2069,
 * U+200E/F and U+061C, which reorder what a terminal or log viewer shows, zero-width characters,
 * the BOM) and unpaired surrogates; the length is bounded.
 */
public final class LogSafe {
    public static final int MAX_LENGTH = 2_000;

    private LogSafe() {
    }

    public static String text(String s) {
        if (s == null) {
            return null;
        }
        StringBuilder sb = null;
        int n = Math.min(s.length(), MAX_LENGTH);
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            boolean unsafe = Character.isISOControl(c) || c == '\u2028' || c == '\u2029'
                    || Character.getType(c) == Character.FORMAT || Character.isSurrogate(c)
                    && !(Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))
                    || Character.isLowSurrogate(c) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)));
            if (unsafe && sb == null) {
                sb = new StringBuilder(n + 16).append(s, 0, i);
            }
            if (sb != null) {
                if (unsafe) {
                    sb.append(String.format("\\u%04x", (int) c));
                } else {
                    sb.append(c);
                }
            }
        }
        String out = sb == null ? s.substring(0, n) : sb.toString();
        return s.length() > MAX_LENGTH ? out + "...(" + (s.length() - MAX_LENGTH) + " more characters)" : out;
    }
}
