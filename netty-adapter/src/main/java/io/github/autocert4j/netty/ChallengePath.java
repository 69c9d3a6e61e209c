package io.github.autocert4j.netty;

/** Extracts the raw (undecoded) path of a request target, so that encoded tricks stay visible and get a 400. */
final class ChallengePath {
    private ChallengePath() {
    }

    /** The path of an origin-form ({@code /a?b}) or absolute-form ({@code http://h/a}) target; null if neither. */
    static String pathOf(String uri) {
        if (uri == null || uri.isEmpty()) {
            return null;
        }
        String path = uri;
        if (!uri.startsWith("/")) {
            int scheme = uri.indexOf("://");
            if (scheme <= 0) {
                return null;
            }
            // The authority ends at the first '/', '?' or '#'; only a '/' starts a path.
            int end = scheme + 3;
            while (end < uri.length() && "/?#".indexOf(uri.charAt(end)) < 0) {
                end++;
            }
            if (end == uri.length() || uri.charAt(end) != '/') {
                return "/";
            }
            path = uri.substring(end);
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
}
