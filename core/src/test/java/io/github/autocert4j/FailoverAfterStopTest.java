package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A removal (stop()) while the first CA's order is past its finalization request, which waits through interrupts, and
 * that CA then refuses it: the next CA is not asked. Before, failover went on to the next CA with the interrupt pending,
 * whose first request (a new order at that CA) could reach it before the interrupt cut the exchange.
 */
@Timeout(60)
class FailoverAfterStopTest {
    static final String NAME = "failover.stop.test";

    @TempDir
    Path dir;

    @Test
    void aStoppedOrderThatTheFirstCaRefusesAsksNoOtherCa() throws Exception {
        FakeIssuer first = new FakeIssuer("ca-1", Clock.systemUTC());
        FakeIssuer second = new FakeIssuer("ca-2", Clock.systemUTC());
        AutoCert[] holder = new AutoCert[1];
        CompletableFuture<Boolean> removal = new CompletableFuture<>();
        first.then((i, r) -> {
            // as an order past its finalization request: it goes on through the interrupt, then the CA refuses it
            FakeIssuer.removeAndAwaitInterrupt(holder, NAME, removal);
            throw IssuanceException.transientFailure("ca-1 failed to finalize the order", null);
        });
        try (AutoCert a = AutoCert.builder().issuer(first).issuer(second).storageDirectory(dir).certificate(NAME).build()) {
            holder[0] = a;
            a.start();
            assertTrue(removal.get(30, TimeUnit.SECONDS), "removed");
            assertEquals(1, first.requests.size(), "ca-1 was asked");
            assertEquals(List.of(), second.requests, "ca-2 was not asked after the stop");
        }
    }
}
