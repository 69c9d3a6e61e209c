package io.github.autocert4j.spring.boot;

import java.io.IOException;
import java.io.PrintWriter;

import io.github.autocert4j.Http01Responder;
import io.github.autocert4j.servlet.AcmeChallengeFilter;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import org.springframework.core.Ordered;

/**
 * The servlet filter of the Tomcat and Jetty integrations, registered by Boot for every request
 * ahead of all other filters (Spring Security included), so the CA always gets through:
 * challenge requests are answered by autocert4j-servlet's {@link AcmeChallengeFilter} (and
 * counted); with {@code redirect-to-https}, every other request that did not arrive over TLS is
 * redirected to the HTTPS port; everything else goes down the chain untouched.
 */
final class ServletChallengeFilter implements Filter, Ordered {
    private final AcmeChallengeFilter challenges;
    private final ChallengeRequests counts;
    private final HttpsRedirect redirect;

    /** @param redirect null to serve the application on the plain-HTTP port too */
    ServletChallengeFilter(Http01Responder responder, ChallengeRequests counts, HttpsRedirect redirect) {
        this(new AcmeChallengeFilter(responder), counts, redirect);
    }

    private ServletChallengeFilter(AcmeChallengeFilter challenges, ChallengeRequests counts, HttpsRedirect redirect) {
        this.challenges = challenges;
        this.counts = counts;
        this.redirect = redirect;
    }

    /** The same answers and counts without the redirect: for requests outside the application's context. */
    ServletChallengeFilter challengesOnly() {
        return new ServletChallengeFilter(challenges, counts, null);
    }

    @Override
    public int getOrder() {
        return Ordered.HIGHEST_PRECEDENCE;
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain) throws IOException, ServletException {
        if (!(response instanceof HttpServletResponse http)) {
            chain.doFilter(request, response);
            return;
        }
        boolean[] passedOn = {false};
        CountingResponse counting = new CountingResponse(http);
        challenges.doFilter(request, counting, (req, res) -> {
            passedOn[0] = true;
            redirectOrContinue(request, response, chain); // the application gets the container's own objects
        });
        if (!passedOn[0]) {
            counting.count();
        }
    }

    /**
     * Counts an answered challenge request as its body is written or it is flushed, whichever comes
     * first: the status is final by then, and the count is there before the client has the answer.
     */
    private final class CountingResponse extends HttpServletResponseWrapper {
        private boolean counted;

        CountingResponse(HttpServletResponse response) {
            super(response);
        }

        @Override
        public ServletOutputStream getOutputStream() throws IOException {
            count();
            return super.getOutputStream();
        }

        @Override
        public PrintWriter getWriter() throws IOException {
            count();
            return super.getWriter();
        }

        @Override
        public void flushBuffer() throws IOException {
            count();
            super.flushBuffer();
        }

        void count() {
            if (!counted) {
                counted = true;
                counts.record(getStatus());
            }
        }
    }

    private void redirectOrContinue(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        if (redirect != null && request instanceof HttpServletRequest req && response instanceof HttpServletResponse res
                && !req.isSecure()) {
            String query = req.getQueryString();
            String location = redirect.location(req.getHeader("Host"), req.getRequestURI() + (query == null ? "" : "?" + query));
            if (location == null) {
                res.sendError(HttpServletResponse.SC_BAD_REQUEST, "no usable Host header to redirect to HTTPS");
                return;
            }
            res.setStatus(HttpsRedirect.status(req.getMethod()));
            res.setHeader("Location", location);
            res.setContentLength(0);
            return;
        }
        chain.doFilter(request, response);
    }

    @Override
    public String toString() {
        return "ServletChallengeFilter[" + counts + ", redirect=" + (redirect != null) + "]";
    }
}
