package io.github.autocert4j.spring.boot;

/** {@link SessionAfterSwapBootContract} on Boot's Jetty. */
class SessionAfterSwapJettyBootTest extends SessionAfterSwapBootContract {
    @Override
    Server server() {
        return Server.JETTY;
    }
}
