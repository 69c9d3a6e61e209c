package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.InetSocketAddress;

import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Http01Responder;
import io.github.autocert4j.testkit.Http01Table;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * testkit's {@link Http01Table} (the table core decides) against {@link AcmeChallengeHandler} in a real
 * Netty server ({@link AcmeHttpListener}, whose own 404 stands for the host) over raw sockets.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Http01TableNettyTest {
    final Http01Responder responder = new Http01Responder();
    AcmeHttpListener listener;

    @BeforeAll
    void start() throws Exception {
        responder.present(new ChallengeSolver.Challenge("http-01", "app.autocert4j.test", Http01Table.TOKEN, Http01Table.KEY_AUTHORIZATION));
        listener = AcmeHttpListener.bind(responder, new InetSocketAddress("127.0.0.1", 0));
    }

    @AfterAll
    void stop() {
        listener.close();
    }

    @ParameterizedTest
    @MethodSource("io.github.autocert4j.testkit.Http01Table#rows")
    void table(Http01Table.Row row) throws Exception {
        Http01Table.Reply reply = Http01Table.send(listener.localAddress(), row);
        Http01Table.check(row, reply, host -> {
            assertEquals(404, host.status(), "the listener's own 404: " + row + " " + host);
            assertNull(host.header("cache-control"), "not an autocert4j answer: " + row + " " + host);
        });
        if (row.status() == 400) {
            assertEquals("close", reply.header("connection"), row.toString());
        }
    }
}
