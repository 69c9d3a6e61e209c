package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.internal.names.CompactPublicSuffixList;
import io.github.autocert4j.internal.names.PublicSuffixList;
import io.github.autocert4j.internal.names.RegistrableDomainBudget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public-suffix guard: public suffixes ({@code com}, {@code co.uk}, {@code github.io}, {@code *.co.uk}) are
 * refused by the builder's {@code certificate(...)}, by {@code addCertificate} and for on-demand handshakes, with
 * a message naming the fix; the list's rules (wildcards, exceptions, no rule) and a user-supplied list; and the
 * on-demand limit of orders per registrable domain.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PublicSuffixGuardTest {
    static final CompactPublicSuffixList PSL = CompactPublicSuffixList.builtIn();

    @Test
    void builtInListRules() {
        for (String suffix : List.of("com", "co.uk", "github.io", "uk", "foo.ck", "*.co.uk")) {
            assertTrue(PSL.isPublicSuffix(suffix), suffix);
        }
        for (String owned : List.of("example.com", "example.co.uk", "me.github.io", "www.ck", "a.b.example.test")) {
            assertFalse(PSL.isPublicSuffix(owned), owned);
        }
        assertEquals(Optional.of("example.co.uk"), PSL.registrableDomain("a.b.example.co.uk"));
        assertEquals(Optional.of("me.github.io"), PSL.registrableDomain("shop.me.github.io"));
        assertEquals(Optional.of("www.ck"), PSL.registrableDomain("x.www.ck"), "exception rule !www.ck");
        assertEquals(Optional.of("example.test"), PSL.registrableDomain("a.example.test"), "no rule: the last label is the suffix");
        assertEquals(Optional.empty(), PSL.registrableDomain("co.uk"));
    }

    @Test
    void aUserSuppliedListReplacesTheBuiltInOne(@TempDir Path dir) throws Exception {
        StringBuilder dat = new StringBuilder("// test list\ncom\n");
        for (int i = 0; i < 120; i++) {
            dat.append("tld").append(i).append('\n');
        }
        dat.append("shops.example.com\n*.wild.test\n!keep.wild.test\n");
        Path file = dir.resolve("public_suffix_list.dat");
        Files.writeString(file, dat);
        PublicSuffixList own = PublicSuffixList.fromFile(file);
        assertTrue(own.isPublicSuffix("shops.example.com"));
        assertFalse(PSL.isPublicSuffix("shops.example.com"));
        assertTrue(own.isPublicSuffix("x.wild.test"));
        assertFalse(own.isPublicSuffix("keep.wild.test"));
        assertEquals(Optional.of("a.shops.example.com"), own.registrableDomain("www.a.shops.example.com"));
        IOException missing = assertThrows(IOException.class, () -> PublicSuffixList.fromFile(dir.resolve("none.dat")));
        assertTrue(missing.getMessage().contains("Fix: download https://publicsuffix.org/list/public_suffix_list.dat"), missing.getMessage());
        Files.writeString(dir.resolve("tiny.dat"), "com\n");
        IOException tiny = assertThrows(IOException.class, () -> PublicSuffixList.fromFile(dir.resolve("tiny.dat")));
        assertTrue(tiny.getMessage().contains("not a public_suffix_list.dat"), tiny.getMessage());
    }

    @Test
    void theBuilderAndAddCertificateRefusePublicSuffixes(@TempDir Path dir) {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class,
                () -> AutoCert.builder().issuer(issuer).storageDirectory(dir).certificate("co.uk").certificate("github.io").build());
        assertTrue(e.getMessage().contains("certificate: 'co.uk' is a public suffix") && e.getMessage().contains("'github.io' is a public suffix")
                && e.getMessage().contains("Fix: use a name under it that you control"), e.getMessage());
        try (AutoCert a = AutoCert.builder().issuer(issuer).storageDirectory(dir).certificate("app.example.co.uk").build()) {
            IllegalArgumentException add = assertThrows(IllegalArgumentException.class, () -> a.addCertificate("shop.example.com", "github.io"));
            assertTrue(add.getMessage().contains("addCertificate: 'github.io' is a public suffix"), add.getMessage());
            assertTrue(a.status("shop.example.com").isEmpty(), "nothing of the refused call was added");
        }
        assertEquals(0, issuer.issueCalls());
    }

    @Test
    void onDemandNeverAsksForOrOrdersAPublicSuffix(@TempDir Path dir) throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        List<String> asked = new CopyOnWriteArrayList<>();
        try (AutoCert a = AutoCert.builder().issuer(issuer).storageDirectory(dir).onDemand(OnDemand.allow(n -> {
            asked.add(n);
            return CompletableFuture.completedFuture(true);
        }).build()).build().start()) {
            for (String suffix : List.of("co.uk", "github.io", "com.au")) {
                assertFalse(a.certificateReady(suffix).get(10, TimeUnit.SECONDS), suffix);
            }
            assertTrue(asked.isEmpty(), asked.toString());
            assertTrue(a.certificateReady("shop.example.co.uk").get(10, TimeUnit.SECONDS));
        }
        assertEquals(1, issuer.issueCalls());
    }

    @Test
    void onDemandOrdersPerRegistrableDomainAreLimited(@TempDir Path dir) throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        try (AutoCert a = AutoCert.builder().issuer(issuer).storageDirectory(dir).onDemand(OnDemand.allow(n -> CompletableFuture.completedFuture(true))
                .maxOrdersPerRegistrableDomain(3).orderRate(10_000, 1_000).build()).build().start()) {
            List<Boolean> got = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                got.add(a.certificateReady("s" + i + ".example.co.uk").get(10, TimeUnit.SECONDS));
            }
            assertEquals(List.of(true, true, true, false, false), got);
            assertTrue(a.certificateReady("s0.other.co.uk").get(10, TimeUnit.SECONDS), "another registrable domain has its own budget");
        }
        assertEquals(4, issuer.issueCalls());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> OnDemand.allow(n -> null).maxOrdersPerRegistrableDomain(0).build())
                .getMessage().contains("onDemand.maxOrdersPerRegistrableDomain: 0. Fix"));
        assertEquals(50, OnDemand.allow(n -> null).build().maxOrdersPerRegistrableDomain());
    }

    @Test
    void theBudgetIsAWeeklyWindow() {
        RegistrableDomainBudget budget = new RegistrableDomainBudget(PSL, 2, Duration.ofDays(7));
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        assertNull(budget.tryOrder("a.example.com", t));
        assertNull(budget.tryOrder("b.example.com", t.plusSeconds(60)));
        String refused = budget.tryOrder("c.example.com", t.plus(Duration.ofDays(6)));
        assertTrue(refused != null && refused.contains("example.com") && refused.contains("Fix:"), refused);
        assertNull(budget.tryOrder("c.example.com", t.plus(Duration.ofDays(7)).plusSeconds(1)), "the first order left the window");
        assertNull(budget.tryOrder("127.0.0.1", t), "IP addresses are not counted here");
    }
}
