package io.github.autocert4j.spring.boot;

/** {@link BootServerContract} on Reactor Netty (WebFlux). */
class SpringBootReactiveNettyPebbleTest extends BootServerContract {
    @Override
    Server server() {
        return Server.REACTOR_NETTY;
    }
}
