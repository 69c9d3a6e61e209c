package io.github.autocert4j.servlet;

import java.io.IOException;
import java.util.EnumSet;
import java.util.Optional;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.Http01Reply;
import io.github.autocert4j.Http01Responder;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.FilterRegistration;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers ACME HTTP-01 challenges inside the web application that already serves the plain-HTTP
 * port, and passes every other request down the filter chain unchanged, so the application's own
 * servlets (a redirect to HTTPS, a health check) keep answering on the same port.
 *
 * <pre>{@code
 * // Programmatically, e.g. in a ServletContextListener or embedded Jetty/Tomcat set-up:
 * AcmeChallengeFilter.register(servletContext, autoCert.http01());
 *
 * // Or declaratively (web.xml / @WebFilter) with the no-arg constructor; the host then stores
 * // the responder before the context starts:
 * servletContext.setAttribute(AcmeChallengeFilter.RESPONDER_ATTRIBUTE, autoCert.http01());
 * }</pre>
 *
 * <p>What to answer is decided by core, on the raw (undecoded) request URI inside the context
 * ({@link Http01Responder#respond}; the table is in {@link Http01Reply}: 200 / 404 / 503 for a token,
 * 400 for a malformed token or a disguised challenge path, 405 with {@code Allow: GET, HEAD} for other
 * methods); the filter renders it, adds {@code Connection: close} when a request body is left unread,
 * answers 400 when the container maps a request to the challenge path that core passed on (merged
 * slashes), and passes everything else down the chain untouched.
 *
 * <p>The filter never throws into the container: an unexpected error while answering a challenge
 * request becomes a 400.
 */
public final class AcmeChallengeFilter implements Filter {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeChallengeFilter.class);

    /** The {@code ServletContext} attribute the no-arg filter reads its {@link Http01Responder} from. */
    public static final String RESPONDER_ATTRIBUTE = "io.github.autocert4j.Http01Responder";

    /** The URL pattern {@link #register} maps the filter to. */
    public static final String URL_PATTERN = "/.well-known/acme-challenge/*";

    /** The name {@link #register} registers the filter under. */
    public static final String FILTER_NAME = "autocert4j-acme-challenge";

    private static final String PREFIX = Http01Responder.PATH_PREFIX;

    private volatile Http01Responder responder;

    /**
     * A filter that finds its responder at {@link #init} in the context attribute
     * {@link #RESPONDER_ATTRIBUTE} (or, failing that, takes {@code http01()} of an {@link AutoCert}
     * stored under {@link AutoCertServletInitializer#AUTOCERT_ATTRIBUTE}).
     */
    public AcmeChallengeFilter() {
    }

    /** A filter answering from {@code responder} (usually {@code autoCert.http01()}). */
    public AcmeChallengeFilter(Http01Responder responder) {
        if (responder == null) {
            throw new IllegalArgumentException("responder is null: pass autoCert.http01()");
        }
        this.responder = responder;
    }

    /**
     * Adds an {@code AcmeChallengeFilter} for {@code responder} to {@code context}, mapped to
     * {@value #URL_PATTERN} for {@code REQUEST} dispatches, ahead of filters declared in
     * {@code web.xml}. Call it before the context has started (from a
     * {@code ServletContainerInitializer}, a {@code ServletContextListener}, or the embedded
     * server's set-up code).
     *
     * @return the registration, e.g. to add further mappings
     * @throws IllegalStateException if the context has already started or a filter with the name
     *         {@value #FILTER_NAME} is already registered
     */
    public static FilterRegistration.Dynamic register(ServletContext context, Http01Responder responder) {
        if (context == null) {
            throw new IllegalArgumentException("context is null");
        }
        FilterRegistration.Dynamic reg = context.addFilter(FILTER_NAME, new AcmeChallengeFilter(responder));
        if (reg == null) {
            throw new IllegalStateException("a filter named '" + FILTER_NAME + "' is already registered in this context");
        }
        reg.setAsyncSupported(true);
        reg.addMappingForUrlPatterns(EnumSet.of(DispatcherType.REQUEST), false, URL_PATTERN);
        return reg;
    }

    @Override
    public void init(FilterConfig config) throws ServletException {
        if (responder != null) {
            return;
        }
        ServletContext context = config.getServletContext();
        Optional<Http01Responder> found = responderOf(context);
        if (found.isEmpty()) {
            throw new ServletException("AcmeChallengeFilter has no Http01Responder. Fix: set the ServletContext attribute \""
                    + RESPONDER_ATTRIBUTE + "\" to autoCert.http01() (or \"" + AutoCertServletInitializer.AUTOCERT_ATTRIBUTE
                    + "\" to the AutoCert) before the context starts, or construct the filter with new AcmeChallengeFilter(autoCert.http01())");
        }
        responder = found.get();
    }

    /** The responder stored in {@code context}, directly or via an {@link AutoCert} attribute. */
    static Optional<Http01Responder> responderOf(ServletContext context) {
        Object r = context.getAttribute(RESPONDER_ATTRIBUTE);
        if (r instanceof Http01Responder h) {
            return Optional.of(h);
        }
        Object a = context.getAttribute(AutoCertServletInitializer.AUTOCERT_ATTRIBUTE);
        if (a instanceof AutoCert autoCert) {
            return Optional.of(autoCert.http01());
        }
        return Optional.empty();
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        if (!(request instanceof HttpServletRequest req) || !(response instanceof HttpServletResponse res)) {
            chain.doFilter(request, response);
            return;
        }
        String method = req.getMethod();
        String raw = rawPath(req);
        Http01Responder r = responder;
        Http01Reply reply = (r != null ? r : new Http01Responder()).respond(method, raw); // 200, 404, or 503 when the shared store cannot tell
        if (reply.passToHost()) {
            if (!decodedPath(req).startsWith(PREFIX)) {
                chain.doFilter(request, response);
                return;
            }
            // The container maps this request to a challenge path that its raw path is not (merged slashes and
            // the like): never a CA, always a 400.
            reply = Http01Reply.of(400, method);
        }
        try {
            send(req, res, reply);
        } catch (RuntimeException e) {
            LOG.debug("autocert4j: bad challenge request {}: {}", raw, e.toString());
            try {
                if (!res.isCommitted()) {
                    res.reset();
                    send(req, res, Http01Reply.of(400, method));
                }
            } catch (RuntimeException | IOException ignored) {
                // the client is gone or the response is unusable: nothing more to do
            }
        }
    }

    /** Renders core's decision: status, headers, the body unless HEAD. */
    private static void send(HttpServletRequest req, HttpServletResponse res, Http01Reply reply) throws IOException {
        res.setStatus(reply.status());
        res.setContentType(reply.contentType());
        reply.headers().forEach(res::setHeader);
        if (reply.closeConnection() || req.getContentLengthLong() > 0 || req.getHeader("Transfer-Encoding") != null) {
            // A request body is left unread: close rather than leave the container to skip it on a
            // kept-alive connection (where a body that is still arriving can desynchronize it).
            res.setHeader("Connection", "close");
        }
        res.setContentLength(reply.contentLength());
        if (reply.sendBody()) {
            res.getOutputStream().write(reply.bodyBytes());
        }
        res.flushBuffer();
    }

    /** The request path inside the context, exactly as the client sent it (not decoded, not normalized). */
    static String rawPath(HttpServletRequest req) {
        String uri = req.getRequestURI();
        if (uri == null) {
            return null;
        }
        String context = req.getContextPath();
        if (context != null && !context.isEmpty() && uri.startsWith(context)) {
            uri = uri.substring(context.length());
        }
        return uri;
    }

    private static String decodedPath(HttpServletRequest req) {
        String servletPath = req.getServletPath();
        String pathInfo = req.getPathInfo();
        return (servletPath == null ? "" : servletPath) + (pathInfo == null ? "" : pathInfo);
    }

    @Override
    public void destroy() {
    }

    @Override
    public String toString() {
        return "AcmeChallengeFilter[" + responder + "]";
    }
}
