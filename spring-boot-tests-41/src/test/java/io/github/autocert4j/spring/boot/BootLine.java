package io.github.autocert4j.spring.boot;

import java.util.Map;

/**
 * What differs on Boot 4.1 for the shared tests: which server runs. Each server is its own module
 * with its own auto-configuration, so a test application leaves out the others' auto-configuration,
 * as an application does by leaving out their starters.
 */
final class BootLine {
    static final String VERSION_PREFIX = "4.1.";

    private static final String TOMCAT_SERVLET = "org.springframework.boot.tomcat.autoconfigure.servlet.TomcatServletWebServerAutoConfiguration";
    private static final String JETTY_SERVLET = "org.springframework.boot.jetty.autoconfigure.servlet.JettyServletWebServerAutoConfiguration";
    private static final String TOMCAT_REACTIVE = "org.springframework.boot.tomcat.autoconfigure.reactive.TomcatReactiveWebServerAutoConfiguration";
    private static final String JETTY_REACTIVE = "org.springframework.boot.jetty.autoconfigure.reactive.JettyReactiveWebServerAutoConfiguration";

    private BootLine() {
    }

    static Class<?>[] sources(Server server) {
        return new Class<?>[0];
    }

    static Map<String, String> properties(Server server) {
        String exclude = switch (server) {
            case TOMCAT -> JETTY_SERVLET;
            case JETTY -> TOMCAT_SERVLET;
            case REACTOR_NETTY -> TOMCAT_REACTIVE + "," + JETTY_REACTIVE;
        };
        return Map.of("spring.autoconfigure.exclude", exclude);
    }
}
