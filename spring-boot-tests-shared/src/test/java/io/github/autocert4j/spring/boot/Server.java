package io.github.autocert4j.spring.boot;

import org.springframework.boot.WebApplicationType;

/** The embedded servers the starter supports, and the web stack each one runs. */
enum Server {
    TOMCAT(WebApplicationType.SERVLET, "Tomcat"),
    JETTY(WebApplicationType.SERVLET, "Jetty"),
    REACTOR_NETTY(WebApplicationType.REACTIVE, "Netty");

    final WebApplicationType webType;
    /** How the simple class name of Boot's WebServer for this server starts (e.g. JettyWebServer, JettyServletWebServer). */
    final String webServerClass;

    Server(WebApplicationType webType, String webServerClass) {
        this.webType = webType;
        this.webServerClass = webServerClass;
    }
}
