package io.github.autocert4j.spring.boot;

import java.util.function.IntSupplier;
import java.util.regex.Pattern;

import org.springframework.core.env.Environment;

/**
 * Where a request that arrived on the plain-HTTP port is redirected: the same host (from the
 * request's {@code Host}) on the HTTPS port, same path and query. A host that is not a DNS name or
 * an IP literal gets no redirect (400), so a forged {@code Host} cannot send clients elsewhere in a
 * malformed way.
 */
final class HttpsRedirect {
    private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})");
    private static final Pattern IPV6 = Pattern.compile("\\[[0-9A-Fa-f:.]{2,45}\\]");

    private final IntSupplier httpsPort;

    /** @param httpsPort the HTTPS port as bound (Boot's local.server.port), or -1 while unknown */
    HttpsRedirect(IntSupplier httpsPort) {
        this.httpsPort = httpsPort;
    }

    /** Redirects to the HTTPS port as bound: Boot publishes it as local.server.port once the server runs. */
    static HttpsRedirect toLocalServerPort(Environment environment) {
        return new HttpsRedirect(() -> environment.getProperty("local.server.port", Integer.class, -1));
    }

    /**
     * The redirect target, or null if the host is unusable or the HTTPS port is not known yet.
     *
     * @param hostHeader the request's {@code Host} header (may carry a port)
     * @param pathAndQuery the raw request path with its query, starting with '/'
     */
    String location(String hostHeader, String pathAndQuery) {
        String host = hostOnly(hostHeader);
        int port = httpsPort.getAsInt();
        if (host == null || port <= 0) {
            return null;
        }
        String path = pathAndQuery == null || !pathAndQuery.startsWith("/") ? "/" : pathAndQuery;
        return "https://" + host + (port == 443 ? "" : ":" + port) + path;
    }

    /** 301 for GET and HEAD, 308 for other methods (keeps the method and body). */
    static int status(String method) {
        return "GET".equals(method) || "HEAD".equals(method) ? 301 : 308;
    }

    /** The host part of a {@code Host} header, or null if it is not a plausible host. */
    static String hostOnly(String hostHeader) {
        if (hostHeader == null) {
            return null;
        }
        String h = hostHeader.trim();
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            if (close < 0) {
                return null;
            }
            String v6 = h.substring(0, close + 1);
            return IPV6.matcher(v6).matches() && validPortSuffix(h.substring(close + 1)) ? v6 : null;
        }
        int colon = h.indexOf(':');
        String name = colon >= 0 ? h.substring(0, colon) : h;
        if (colon >= 0 && !validPortSuffix(h.substring(colon))) {
            return null;
        }
        return HOST_NAME.matcher(name).matches() ? name : null;
    }

    private static boolean validPortSuffix(String s) {
        return s.isEmpty() || s.matches(":[0-9]{1,5}");
    }
}
