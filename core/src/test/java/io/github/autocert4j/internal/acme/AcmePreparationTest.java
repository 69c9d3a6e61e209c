package io.github.autocert4j.internal.acme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.internal.store.MemoryCertStore;

import java.net.URI;
import java.security.KeyStoreException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;

import org.junit.jupiter.api.Test;

/**
 * The ACME client prepared from {@code build()} (issue 23): a failure there is not reported by the preparation but by
 * the first request, exactly as without it; nothing failed is kept.
 */
class AcmePreparationTest {
    /** The discard port of loopback: nothing here connects anywhere (the TLS context fails before any connection). */
    private static final URI DIR = URI.create("https://127.0.0.1:9/dir");

    @Test
    void aTrustThatCannotBeSetUpFailsTheFirstRequestAsWithoutPreparation() throws Exception {
        AtomicInteger made = new AtomicInteger();
        AcmeIssuer prepared = issuer(made);
        Thread t = AcmePreparation.start(List.of(prepared));
        t.join(10_000);
        assertFalse(t.isAlive(), "the preparing thread ends on its own");
        assertEquals(AcmePreparation.THREAD_NAME, t.getName());
        assertTrue(t.isDaemon());
        assertEquals(1, made.get(), "the preparation tried to set up the TLS context (and failed quietly)");
        IssuanceException withPreparation = assertThrows(IssuanceException.class, () -> prepared.renewalWindow(null));
        assertEquals(2, made.get(), "the first request set it up again: the failure was not kept");

        IssuanceException without = assertThrows(IssuanceException.class, () -> issuer(new AtomicInteger()).renewalWindow(null));
        assertTrue(without.getMessage().contains("broken trust store (test)"), without.getMessage());
        assertEquals(without.getMessage(), withPreparation.getMessage(), "reported as without the preparation");
        assertEquals(without.permanent(), withPreparation.permanent());
    }

    @Test
    void nothingToPrepareWithoutAnAcmeCa() {
        assertNull(AcmePreparation.start(List.of()));
    }

    private static AcmeIssuer issuer(AtomicInteger made) {
        SSLContext broken = new LazySslContext(() -> {
            made.incrementAndGet();
            throw new KeyStoreException("broken trust store (test)");
        });
        return new AcmeIssuer(AcmeCa.of(DIR), broken, new MemoryCertStore(), null, Duration.ofSeconds(5), List.of(), List.of());
    }
}
