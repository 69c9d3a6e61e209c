package io.github.autocert4j.spring.boot;

/** {@link SessionAfterSwapBootContract} on Boot's Tomcat. */
class SessionAfterSwapTomcatBootTest extends SessionAfterSwapBootContract {
    @Override
    Server server() {
        return Server.TOMCAT;
    }
}
