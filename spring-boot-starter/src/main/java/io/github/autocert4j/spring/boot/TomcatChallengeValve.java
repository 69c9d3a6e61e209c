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
 * Answers challenge requests that lie outside every context, at Tomcat's engine. With a
 * {@code server.servlet.context-path} such as {@code /app}, the CA's
 * {@code /.well-known/acme-challenge/} request maps to no context, so the filter registered in the
 * application's context never sees it and Tomcat would answer 404. Requests that map to a context
 * pass straight on (that context's filters, {@code ForwardedHeaderFilter} included, see them as
 * before), and so do requests Tomcat has already rejected. Outside a context only challenge paths
 * are answered, by a challenge filter without the HTTPS redirect (Catalina's own request and
 * response are servlet objects); everything else goes on to Tomcat's 404.
 */
final class TomcatChallengeValve extends ValveBase {
    private final Filter challenges;

    /** @param challenges a challenge filter without redirect ({@link ServletChallengeFilter#challengesOnly()}) */
    TomcatChallengeValve(Filter challenges) {
        super(true);
        this.challenges = challenges;
    }

    @Override
    public void invoke(Request request, Response response) throws IOException, ServletException {
        if (request.getContext() != null || response.isError()) {
            getNext().invoke(request, response);
            return;
        }
        // Outside every context there is no servlet path: the filter is shown Tomcat's decoded and normalized URI in its
        // place, so an encoded prefix (/.well-known/%61cme-challenge/...) is still recognized (400).
        HttpServletRequest view = new HttpServletRequestWrapper(request) {
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
