package io.github.autocert4j.spring.boot;

/** {@link BootServerContract} on Tomcat (Spring MVC). */
class SpringBootTomcatPebbleTest extends BootServerContract {
    @Override
    Server server() {
        return Server.TOMCAT;
    }
}
