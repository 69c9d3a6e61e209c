package io.github.autocert4j;

import io.github.autocert4j.internal.acme.AcmeIssuer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A failed validation is reported within seconds of the CA's verdict, with the CA's problem type
 * and detail and a fix, however the CA shows it: Pebble marks the challenge and the authorization
 * invalid; Caddy's CA (smallstep) keeps the challenge "pending" with an "error" and never validates
 * again on its own; a CA may mark only the challenge or only the authorization. A CA that says it
 * will validate again (Retry-After, RFC 8555 §8.2) is waited for, at its pace, until the order
 * timeout. The host's port 80 answers 404 for every token (no responder), so Pebble's real
 * validation fails; the fault proxy rewrites how the verdict is shown.
 */
@WithPebble
class FailureClassPendingChallengeTest {
    static final String APP = "pending.autocert4j.test";
    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path store;

    /** What a test saw: the failure and how long the order took. */
    record Outcome(IssuanceException failure, Duration took) {
    }

    /** The first attempt of a new manager (fresh account: no authorization reuse) with {@code orderTimeout}; returns its failure. */
    Outcome failedOrder(Duration orderTimeout) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = CA.builder().certificate(APP).storageDirectory(store).listener(events::add)
                .renewal(RenewalPolicy.defaults().withOrderTimeout(orderTimeout)).build()) {
            a.start();
            CertEvent.Failed failed = FaultMatrixTestAccess.await(events, CertEvent.Failed.class, orderTimeout.plusSeconds(30));
            Duration took = failed.took(); // the whole attempt, from taking the store lock to the failure
            IssuanceException f = failed.failure();
            assertFalse(f.permanent(), "a failed validation is retried: " + f.getMessage());
            assertTrue(f.getMessage().contains(CA.proxy().directoryUri().toString()), "names the CA: " + f.getMessage());
            assertTrue(f.getMessage().contains("Fix: "), "names a fix: " + f.getMessage());
            return new Outcome(f, took);
        }
    }

    /** The CA's own verdict (Pebble: a 404 from the host's port 80), as every variant must report it. */
    static void assertPebblesVerdict(IssuanceException f) {
        assertEquals("urn:ietf:params:acme:error:unauthorized", f.problemType().orElse(null), f.getMessage());
        assertTrue(f.detail().orElse("").contains("404"), "the CA's detail: " + f.detail());
        assertTrue(f.getMessage().contains("could not validate " + APP + " by http-01"), f.getMessage());
        assertTrue(f.getMessage().contains("Fix: make sure http://" + APP + "/.well-known/acme-challenge/"), f.getMessage());
    }

    /** Rewrites authorization and challenge answers: {@code top} edits the authorization's own fields, {@code inner} its challenges and a challenge's own answer. */
    static FaultProxy.Rule rewrite(UnaryOperator<String> top, UnaryOperator<String> inner, String... headerPairs) {
        return (req, fwd) -> {
            FaultProxy.Resp r = fwd.call();
            boolean authz = req.pathStarts("/authZ/");
            if (!authz && !req.pathStarts("/chalZ/") || r.status() != 200) {
                return r;
            }
            String body = r.bodyText();
            String out;
            if (authz) {
                int start = body.indexOf("\"challenges\"");
                int end = body.indexOf(']', start);
                out = top.apply(body.substring(0, start)) + inner.apply(body.substring(start, end)) + top.apply(body.substring(end));
            } else {
                out = inner.apply(body);
            }
            Map<String, List<String>> headers = new LinkedHashMap<>(r.headers());
            for (int i = 0; i + 1 < headerPairs.length; i += 2) {
                headers.put(headerPairs[i], List.of(headerPairs[i + 1]));
            }
            return new FaultProxy.Resp(r.status(), headers, out.getBytes(StandardCharsets.UTF_8), 0);
        };
    }

    static String invalidToPending(String json) {
        return json.replaceAll("\"status\":\\s*\"invalid\"", "\"status\": \"pending\"");
    }

    static String stripError(String json) {
        return json.replaceAll(",\\s*\"error\":\\s*\\{[^}]*\\}", "");
    }

    /**
     * Ended by the CA's verdict, not by the grace for a pending challenge (the message says which), within seconds:
     * Pebble decides in about 0.7 s here; 5 s allowed for a first, cold attempt on a loaded machine.
     */
    static void assertAtOnce(Outcome o) {
        assertTrue(o.failure().getMessage().contains("(the CA marked the "), o.failure().getMessage());
        assertFalse(o.failure().getMessage().contains("kept this error"), o.failure().getMessage());
        assertTrue(o.took().compareTo(Duration.ofSeconds(5)) < 0, "took " + o.took());
    }

    @Test
    void pebbleMarkingBothInvalidIsReportedAtOnce() throws Exception {
        Outcome o = failedOrder(Duration.ofSeconds(60));
        assertPebblesVerdict(o.failure());
        assertAtOnce(o);
        assertEquals(0, CA.proxy().requests("POST", "newOrder").stream().filter(s -> s.status() >= 400).count());
    }

    @Test
    void aChallengeKeptPendingWithAnErrorIsAFailureAfterTheGraceNotTheOrderTimeout() throws Exception {
        // Caddy 2.6 (smallstep): the challenge stays "pending" with its error, the authorization "pending", no Retry-After.
        CA.proxy().rule(rewrite(FailureClassPendingChallengeTest::invalidToPending, FailureClassPendingChallengeTest::invalidToPending));
        Outcome o = failedOrder(Duration.ofSeconds(60));
        assertPebblesVerdict(o.failure());
        assertTrue(o.failure().getMessage().contains("did not say it would validate again"), o.failure().getMessage());
        // At least the grace; at most the grace plus Pebble's own validation and ordering (about 0.7 s here, 3 s allowed
        // for a loaded machine; the poll after the grace comes when it ends): far from the 60 s order timeout of before.
        assertTrue(o.took().compareTo(AcmeIssuer.ERROR_GRACE) >= 0, "took " + o.took());
        assertTrue(o.took().compareTo(AcmeIssuer.ERROR_GRACE.plusSeconds(3)) < 0, "took " + o.took());
        assertEquals(1, CA.proxy().requests("POST", "newOrder").size());
        assertEquals(1, CA.proxy().seen.stream().filter(s -> s.path().startsWith("/chalZ/")).count(),
                "the challenge itself is posted once (its trigger), never polled: smallstep validates again on every POST to it");
    }

    @Test
    void aCaMarkingOnlyTheChallengeInvalidIsReportedAtOnce() throws Exception {
        CA.proxy().rule(rewrite(FailureClassPendingChallengeTest::invalidToPending, UnaryOperator.identity()));
        Outcome o = failedOrder(Duration.ofSeconds(60));
        assertPebblesVerdict(o.failure());
        assertTrue(o.failure().getMessage().contains("the CA marked the challenge INVALID"), o.failure().getMessage());
        assertAtOnce(o);
    }

    @Test
    void aCaMarkingOnlyTheAuthorizationInvalidIsReportedAtOnce() throws Exception {
        CA.proxy().rule(rewrite(UnaryOperator.identity(), FailureClassPendingChallengeTest::invalidToPending));
        Outcome o = failedOrder(Duration.ofSeconds(60));
        assertPebblesVerdict(o.failure());
        assertTrue(o.failure().getMessage().contains("the CA marked the authorization INVALID"), o.failure().getMessage());
        assertAtOnce(o);
    }

    @Test
    void anInvalidAuthorizationWithoutAnyErrorStillNamesTheCaAndTheFix() throws Exception {
        CA.proxy().rule(rewrite(UnaryOperator.identity(), json -> stripError(invalidToPending(json))));
        Outcome o = failedOrder(Duration.ofSeconds(60));
        assertTrue(o.failure().getMessage().contains("without saying why"), o.failure().getMessage());
        assertAtOnce(o);
    }

    @Test
    void aCaThatSaysItValidatesAgainIsPolledAtItsPaceUntilTheOrderTimeout() throws Exception {
        // RFC 8555 §8.2: a CA that will validate again keeps the error and sets Retry-After (here 3 s) on its answers.
        CA.proxy().rule(rewrite(FailureClassPendingChallengeTest::invalidToPending, FailureClassPendingChallengeTest::invalidToPending,
                "Retry-After", "3"));
        Duration orderTimeout = Duration.ofSeconds(10);
        Outcome o = failedOrder(orderTimeout);
        String m = o.failure().getMessage();
        assertTrue(m.contains("still PENDING when the order timeout ran out"), m);
        assertTrue(m.contains("the challenge's last error: urn:ietf:params:acme:error:unauthorized") && m.contains("404"),
                "the CA's last error is kept: " + m);
        assertTrue(m.contains("Fix: "), m);
        // The grace (3 s) did not end it; the order timeout did (at most one 3 s poll interval early: a poll that would
        // come after the deadline is not waited for).
        assertTrue(o.took().compareTo(orderTimeout.minusSeconds(4)) >= 0, "took " + o.took());
        List<java.time.Instant> polls = new ArrayList<>();
        CA.proxy().seen.stream().filter(s -> s.path().startsWith("/authZ/") && s.method().equals("POST")).forEach(s -> polls.add(s.at()));
        assertTrue(polls.size() >= 3, "polled: " + polls);
        // polls[0] is acme4j's first read of the authorization (before the trigger), polls[1] the first poll 20 ms after
        // it; from then on each answer carried Retry-After: 3, which acme4j counts from the answer's Date header (whole
        // seconds), so each later poll came at least 2 s after the one before; without it they come after 40, 80, 160 ms...
        for (int i = 2; i < polls.size(); i++) {
            Duration gap = Duration.between(polls.get(i - 1), polls.get(i));
            assertTrue(gap.compareTo(Duration.ofMillis(1_950)) >= 0, "poll " + i + " came " + gap + " after the one before: " + polls);
        }
        assertTrue(polls.size() <= 2 + orderTimeout.toSeconds() / 2, "no more polls than the CA's pace allows: " + polls);
    }
}
