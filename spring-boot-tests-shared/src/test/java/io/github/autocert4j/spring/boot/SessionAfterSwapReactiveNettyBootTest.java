package io.github.autocert4j.spring.boot;

/** {@link SessionAfterSwapBootContract} on Boot's ReactiveNetty. */
class SessionAfterSwapReactiveNettyBootTest extends SessionAfterSwapBootContract {
    @Override
    Server server() {
        return Server.REACTOR_NETTY;
    }
}
