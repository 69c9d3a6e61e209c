package io.github.autocert4j.spring.boot;

import io.github.autocert4j.Http01Responder;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Routes the CA's {@code /.well-known/acme-challenge/} requests into the application's context when
 * {@code server.servlet.context-path} is not {@code /}: the request is handed on as
 * {@code <context-path>/.well-known/acme-challenge/...}, where the challenge filter answers it
 * (the filter judges the path inside the context, so it sees what the CA sent). Without this,
 * Jetty would answer 404 for a path outside every context. Other requests pass unchanged.
 */
final class JettyChallengeRouting extends Handler.Wrapper {
    private final String contextPath;

    JettyChallengeRouting(Handler handler, String contextPath) {
        super(handler);
        this.contextPath = contextPath;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        HttpURI uri = request.getHttpURI();
        String raw = uri.getPath();
        String canonical = uri.getCanonicalPath();
        if (raw == null || !(raw.startsWith(Http01Responder.PATH_PREFIX)
                || (canonical != null && canonical.startsWith(Http01Responder.PATH_PREFIX)))) {
            return super.handle(request, response, callback);
        }
        HttpURI inContext = HttpURI.build(uri).path(contextPath + raw).asImmutable();
        return super.handle(new Request.Wrapper(request) {
            @Override
            public HttpURI getHttpURI() {
                return inContext;
            }
        }, response, callback);
    }

    /**
     * Wraps {@code server}'s handler when the application's context is not the root one (Boot has
     * set its context path by the time server customizers run); a root context needs nothing.
     */
    static void installIfNeeded(Server server) {
        ContextHandler context = server.getDescendant(ContextHandler.class);
        String path = context == null ? null : context.getContextPath();
        if (path == null || path.isEmpty() || path.equals("/")) {
            return;
        }
        server.setHandler(new JettyChallengeRouting(server.getHandler(), path.endsWith("/") ? path.substring(0, path.length() - 1) : path));
    }
}
