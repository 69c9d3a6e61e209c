package io.github.autocert4j.spring.boot;

import java.util.Map;

import org.springframework.boot.web.embedded.jetty.JettyServletWebServerFactory;
import org.springframework.boot.web.embedded.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * What differs on Boot 3.5 for the shared tests: which server runs. Boot 3.5 picks Tomcat whenever it
 * is on the class path (it is here, with Jetty and Reactor Netty), so each test application declares
 * its server's factory, exactly as an application choosing a server in code would; Boot's
 * {@code server.*} customizers and autocert4j's customizers apply to it as to Boot's own.
 */
final class BootLine {
    static final String VERSION_PREFIX = "3.5.";

    private BootLine() {
    }

    static Class<?>[] sources(Server server) {
        return switch (server) {
            case TOMCAT -> new Class<?>[] {Tomcat.class};
            case JETTY -> new Class<?>[] {Jetty.class};
            case REACTOR_NETTY -> new Class<?>[] {Netty.class};
        };
    }

    static Map<String, String> properties(Server server) {
        return Map.of();
    }

    @Configuration(proxyBeanMethods = false)
    static class Tomcat {
        @Bean
        TomcatServletWebServerFactory tomcat() {
            return new TomcatServletWebServerFactory();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Jetty {
        @Bean
        JettyServletWebServerFactory jetty() {
            return new JettyServletWebServerFactory();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Netty {
        @Bean
        NettyReactiveWebServerFactory netty() {
            return new NettyReactiveWebServerFactory();
        }
    }
}
