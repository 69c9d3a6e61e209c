package io.github.autocert4j.spring.boot;

/** {@link BootContextPathContract} on Jetty. */
class SpringBootJettyContextPathPebbleTest extends BootContextPathContract {
    @Override
    Server server() {
        return Server.JETTY;
    }
}
