package io.github.autocert4j.spring.boot;

import java.io.IOException;

import jakarta.servlet.Filter;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;

/**
 * Runs the challenge filter at Tomcat's engine, before a request is mapped to a context. With a
 * {@code server.servlet.context-path} such as {@code /app}, the CA's
 * {@code /.well-known/acme-challenge/} request lies outside the application's context, so the
 * filter registered in that context never sees it and Tomcat answers 404. Catalina's own request
 * and response are servlet objects, so the very filter the context uses answers here (and counts,
 * and redirects); everything else goes on to the context unchanged.
 */
final class TomcatChallengeValve extends ValveBase {
    private final Filter challenges;

    TomcatChallengeValve(Filter challenges) {
        super(true);
        this.challenges = challenges;
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        // A request outside every context has no servlet path: the filter is shown Tomcat's decoded and normalized
        // URI in its place, so an encoded prefix (/.well-known/%61cme-challenge/...) is still recognized (400).
        HttpServletRequest view = request.getContext() != null ? request : new HttpServletRequestWrapper(request) {
            @Override
            public String getContextPath() {
                return "";
            }

            @Override
            public String getServletPath() {
                String decoded = request.getDecodedRequestURI();
                return decoded == null ? "" : decoded;
            }

            @Override
            public String getPathInfo() {
                return null;
            }
        };
        // The chain goes on with Catalina's own objects, never the view.
        challenges.doFilter(view, response, (req, res) -> getNext().invoke(request, response));
    }
}
