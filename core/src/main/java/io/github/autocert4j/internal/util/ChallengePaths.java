package io.github.autocert4j.internal.util;

/**
 * Where a request on the plain-HTTP port belongs, judged once for every host on the raw
 * (undecoded) request target: the host's own business, an ACME HTTP-01 challenge request (with
 * its raw token), or a disguised challenge path: one that is not literally under the prefix but
 * becomes one once percent-decoded, stripped of path parameters and of dot segments, as a
 * container or router might map it ({@code /.well-known/%61cme-challenge/t},
 * {@code /x/../.well-known/acme-challenge/t}). A CA never sends a disguised path.
 */
public final class ChallengePaths {
    /** The path prefix the CA requests. */
    public static final String PREFIX = "/.well-known/acme-challenge/";

    /** What a request target is. */
    public enum Kind {
        /** Not a challenge path, even once decoded: the host's business. */
        HOST,
        /** The raw path starts with {@link #PREFIX}: {@link Target#token()} is the rest, undecoded. */
        CHALLENGE,
        /** A challenge path only once decoded or normalized: never a CA's request. */
        DISGUISED
    }

    /**
     * The kind of a request target and, for {@link Kind#CHALLENGE}, its raw token (possibly empty).
     *
     * @param kind where the request belongs
     * @param token the raw rest of the path after the prefix for a challenge request, else null
     */
    public record Target(Kind kind, String token) {
    }

    private static final Target HOST = new Target(Kind.HOST, null);
    private static final Target DISGUISED = new Target(Kind.DISGUISED, null);

    private ChallengePaths() {
    }

    /** Classifies a request target in origin or absolute form (query and fragment ignored); never throws. */
    public static Target classify(String requestTarget) {
        String path = path(requestTarget);
        if (path == null) {
            return HOST;
        }
        if (path.startsWith(PREFIX)) {
            return new Target(Kind.CHALLENGE, path.substring(PREFIX.length()));
        }
        return normalized(path).startsWith(PREFIX) ? DISGUISED : HOST;
    }

    /**
     * The raw (undecoded) path of a request target in origin form ({@code /a?b}) or absolute form
     * ({@code http://h/a}), without query or fragment; null if it is neither.
     */
    public static String path(String requestTarget) {
        if (requestTarget == null || requestTarget.isEmpty()) {
            return null;
        }
        String path = requestTarget;
        if (!requestTarget.startsWith("/")) {
            int scheme = requestTarget.indexOf("://");
            if (scheme <= 0) {
                return null;
            }
            // The authority ends at the first '/', '?' or '#'; only a '/' starts a path.
            int end = scheme + 3;
            while (end < requestTarget.length() && "/?#".indexOf(requestTarget.charAt(end)) < 0) {
                end++;
            }
            if (end == requestTarget.length() || requestTarget.charAt(end) != '/') {
                return "/";
            }
            path = requestTarget.substring(end);
        }
        int cut = path.length();
        int q = path.indexOf('?');
        if (q >= 0) {
            cut = q;
        }
        int h = path.indexOf('#');
        if (h >= 0 && h < cut) {
            cut = h;
        }
        return path.substring(0, cut);
    }

    /**
     * {@code path} as a lenient container would map it: percent escapes decoded once (a malformed
     * escape stays as it is), backslashes read as slashes, path parameters ({@code ;...}) dropped
     * from each segment, then {@code .} and {@code ..} segments resolved (RFC 3986, 5.2.4).
     */
    static String normalized(String path) {
        StringBuilder decoded = new StringBuilder(path.length());
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            if (c == '%' && i + 2 < path.length() && hex(path.charAt(i + 1)) >= 0 && hex(path.charAt(i + 2)) >= 0) {
                c = (char) (hex(path.charAt(i + 1)) * 16 + hex(path.charAt(i + 2)));
                i += 2;
            }
            decoded.append(c == '\\' ? '/' : c);
        }
        String[] segments = decoded.toString().split("/", -1);
        java.util.ArrayDeque<String> out = new java.util.ArrayDeque<>();
        for (int i = 1; i < segments.length; i++) {
            String s = segments[i];
            int semicolon = s.indexOf(';');
            if (semicolon >= 0) {
                s = s.substring(0, semicolon);
            }
            boolean last = i == segments.length - 1;
            if (s.equals(".")) {
                if (last) {
                    out.addLast("");
                }
            } else if (s.equals("..")) {
                out.pollLast();
                if (last) {
                    out.addLast("");
                }
            } else {
                out.addLast(s);
            }
        }
        return "/" + String.join("/", out);
    }

    private static int hex(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }
}
