package io.github.autocert4j;

import io.github.autocert4j.internal.store.IssuerRecord;
import io.github.autocert4j.internal.store.MemoryCertStore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import io.github.autocert4j.testkit.ForgedBundle;
import org.junit.jupiter.api.Test;

/**
 * The issuer record (issue 20) without a CA: what links to a recorded issuer is accepted, what does
 * not is rejected with a message naming it; a peer's newly recorded intermediate is found; the
 * migration window trusts the issuers of stored chains only on a store that had no record, only
 * while it is open, and never a chain without an issuer.
 */
class IssuerRecordTest {
    static final Instant NOW = Instant.now();
    static final String CA = "127.0.0.1-14000-dir";

    final FaultPki real = new FaultPki("Real Intermediate");

    List<X509Certificate> issued(FaultPki pki, String name) {
        return List.of(pki.leaf(FaultPki.ecKey().getPublic(), NOW.minusSeconds(60), NOW.plus(Duration.ofDays(90)), name), pki.ca);
    }

    @Test
    void aChainFromARecordedIssuerIsAcceptedAForgedOneIsNot() throws Exception {
        MemoryCertStore store = new MemoryCertStore();
        IssuerRecord record = new IssuerRecord(store);
        record.record("a.test", CA, issued(real, "a.test"));
        assertTrue(store.list(IssuerRecord.prefix(CA)).stream().allMatch(k -> k.endsWith(".crt")), store.list("").toString());
        assertNull(record.problem(issued(real, "b.test"), NOW), "another certificate of the same recorded issuer");
        assertNull(new IssuerRecord(store).problem(issued(real, "b.test"), NOW), "read back by another node");

        String ownCa = record.problem(ForgedBundle.withOwnCa("a.test", "Real Intermediate").chain(), NOW);
        assertTrue(ownCa.startsWith("chain not signed by a recorded issuer: certificate 1 of the chain (CN=Real Intermediate)"), ownCa);
        String selfSigned = record.problem(ForgedBundle.selfSigned("a.test").chain(), NOW);
        assertTrue(selfSigned.startsWith("chain not signed by a recorded issuer: CN=a.test"), selfSigned);
        // The real intermediate's name on a leaf it did not sign (a re-keyed impostor), without or with the real intermediate appended.
        FaultPki impostor = new FaultPki("Real Intermediate");
        X509Certificate fakeLeaf = issued(impostor, "a.test").get(0);
        assertNotNull(record.problem(List.of(fakeLeaf), NOW));
        assertNotNull(record.problem(List.of(fakeLeaf, real.ca), NOW));
    }

    @Test
    void anIntermediateAPeerRecordedIsFoundByReadingTheRecordAgain() throws Exception {
        MemoryCertStore store = new MemoryCertStore();
        IssuerRecord here = new IssuerRecord(store);
        here.record("a.test", CA, issued(real, "a.test"));
        assertNull(here.problem(issued(real, "a.test"), NOW));
        FaultPki rotated = new FaultPki("Rotated Intermediate");
        new IssuerRecord(store).record("b.test", CA, issued(rotated, "b.test"));
        assertNull(here.problem(issued(rotated, "b.test"), NOW), "the peer's new intermediate, read again on the miss");
    }

    @Test
    void aLeafWithoutChainIsPinnedAsIssued() throws Exception {
        MemoryCertStore store = new MemoryCertStore();
        IssuerRecord record = new IssuerRecord(store);
        List<X509Certificate> leafOnly = List.of(issued(real, "a.test").get(0));
        record.record("a.test", "my-ca", leafOnly);
        assertEquals(List.of(IssuerRecord.prefix("my-ca") + "leaf-a.test.crt"), store.list(IssuerRecord.prefix("my-ca")));
        assertNull(new IssuerRecord(store).problem(leafOnly, NOW));
        assertNotNull(new IssuerRecord(store).problem(List.of(issued(real, "a.test").get(0)), NOW), "another leaf of that CA was not pinned");
    }

    @Test
    void aStoreWithoutRecordTrustsTheIssuersOfItsChainsOnFirstUseWhileTheWindowIsOpen() throws Exception {
        MemoryCertStore store = new MemoryCertStore();
        IssuerRecord record = new IssuerRecord(store);
        assertNotNull(record.problem(ForgedBundle.selfSigned("a.test").chain(), NOW), "a chain without an issuer is never trusted");
        assertFalse(store.load(IssuerRecord.MIGRATION_KEY).isPresent(), "nothing opened by a chain that could not be trusted anyway");

        assertNull(record.problem(issued(real, "a.test"), NOW), "trusted on first use");
        assertTrue(store.load(IssuerRecord.MIGRATION_KEY).isPresent());
        FaultPki second = new FaultPki("Second Intermediate");
        IssuerRecord peer = new IssuerRecord(store);
        assertNull(peer.problem(issued(second, "b.test"), NOW.plus(Duration.ofMinutes(30))), "a peer within the shared window");
        assertNull(new IssuerRecord(store).problem(issued(real, "c.test"), NOW.plus(Duration.ofHours(2))), "recorded: no window needed");

        String late = new IssuerRecord(store).problem(issued(new FaultPki("Late Intermediate"), "d.test"), NOW.plus(IssuerRecord.TRUST_ON_FIRST_USE));
        assertTrue(late.startsWith("chain not signed by a recorded issuer"), "the window is closed: " + late);
    }

    @Test
    void aStoreThatHadARecordNeverTrustsOnFirstUse() throws Exception {
        MemoryCertStore store = new MemoryCertStore();
        new IssuerRecord(store).record("a.test", CA, issued(real, "a.test"));
        String p = new IssuerRecord(store).problem(issued(new FaultPki("Other"), "b.test"), NOW);
        assertTrue(p.startsWith("chain not signed by a recorded issuer"), p);
        assertFalse(store.load(IssuerRecord.MIGRATION_KEY).isPresent());
    }

    /**
     * A failed read of the record is remembered for 0.5 s so that checks do not each wait out the store's timeout; saving a
     * certificate just issued does not take that shortcut: if the store answers now, the issuers are recorded and the
     * certificate is kept (review of issue 23: the memo made that save fail and the issued certificate was discarded).
     */
    @Test
    void aRecentFailedReadDoesNotFailTheRecordingOfACertificateJustIssued() throws Exception {
        MemoryCertStore memory = new MemoryCertStore();
        java.util.concurrent.atomic.AtomicBoolean down = new java.util.concurrent.atomic.AtomicBoolean(true);
        CertStore store = new DelegatingStore(memory) {
            @Override
            public List<String> list(String prefix) throws java.io.IOException {
                if (down.get()) {
                    throw new java.io.IOException("ERROR: canceling statement due to statement timeout (57014)");
                }
                return super.list(prefix);
            }
        };
        IssuerRecord record = new IssuerRecord(store);
        record.preload(); // fails: remembered
        down.set(false);
        record.record("a.test", CA, issued(real, "a.test")); // within the 0.5 s: must read, not rethrow
        assertNull(new IssuerRecord(memory).problem(issued(real, "b.test"), NOW), "recorded");
    }
}
