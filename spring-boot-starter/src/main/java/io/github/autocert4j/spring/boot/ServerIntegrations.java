package io.github.autocert4j.spring.boot;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which of Boot's embedded servers autocert4j has configured (filled in while Boot builds the
 * server), so start-up can warn when none was: then the certificates are managed but nothing
 * serves them.
 */
final class ServerIntegrations {
    static final String TOMCAT = "tomcat";
    static final String JETTY = "jetty";
    static final String REACTOR_NETTY = "reactor-netty";

    private final Set<String> applied = ConcurrentHashMap.newKeySet();

    void applied(String server) {
        applied.add(server);
    }

    boolean contains(String server) {
        return applied.contains(server);
    }

    boolean isEmpty() {
        return applied.isEmpty();
    }

    @Override
    public String toString() {
        return applied.toString();
    }
}
