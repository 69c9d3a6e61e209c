package io.github.autocert4j.spring.boot;

/** {@link BootContextPathContract} on Tomcat. */
class SpringBootTomcatContextPathPebbleTest extends BootContextPathContract {
    @Override
    Server server() {
        return Server.TOMCAT;
    }
}
