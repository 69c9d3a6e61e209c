package io.github.autocert4j.spring.boot;

/** {@link BootServerContract} on Jetty (Spring MVC). */
class SpringBootJettyPebbleTest extends BootServerContract {
    @Override
    Server server() {
        return Server.JETTY;
    }
}
