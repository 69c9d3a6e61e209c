package io.github.autocert4j.internal.acme;

import io.github.autocert4j.internal.util.DaemonThreads;

import java.net.IDN;
import java.util.Date;
import java.util.List;

import org.shredzone.acme4j.toolbox.JSON;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the first order will need that involves no I/O with the CA, made on one daemon thread
 * ({@code autocert4j-acme-prepare}) that {@code build()} starts (issue 23): each ACME CA's HTTP client with its
 * TLS context (the trust's key store, trust manager factory and the JSSE provider's tables), jose4j's algorithm
 * tables, acme4j's JSON parser, IDN (for acme4j's identifiers) and the time zone names ({@code Properties.store}'s
 * date comment in the store's metadata). In a fresh JVM that is about 0.15 s of class loading and first-use set-up
 * (about 700 classes) that otherwise ran after {@code start()}, on the path to the first certificate; here it runs
 * beside the rest of {@code build()} and the host's own start-up.
 *
 * <p>Not done here, measured: a TLS handshake rehearsed in memory between two JSSE engines (throw-away certificates,
 * no socket) to load the handshake code ahead of the first connection. On two cores it cost more CPU than it saved
 * wall time: the first certificate came 14 % later (per-round median of 12 interleaved rounds), because the cold
 * start is CPU-bound and the rehearsal ran beside, not before, the real handshake.
 *
 * <p>Nothing here is required: a step that fails is logged at debug and left to the first order, which makes what
 * it needs itself and reports a failure exactly as before (an unusable trust fails the first ACME request, never
 * {@code build()}). The thread touches no network, no store and no shared state but the issuers' HTTP clients (made
 * under their own lock, once), and ends on its own. What it leaves: each ACME CA's HTTP client, an object without a
 * thread until its first exchange ({@link UrlConnectionHttpClient}), let go by {@code close()}
 * ({@link CaHttpClient#close()}). Without {@code acmeServerTrust} the
 * client uses the JDK's default {@code SSLContext}, which reads {@code javax.net.ssl.trustStore*} once, JVM-wide: from
 * this thread, i.e. at {@code build()}, no longer at {@code start()} (an application that sets those properties sets
 * them before {@code build()}). It starts last in {@code build()}, so that what {@code build()} itself loads is loaded
 * on the caller's thread.
 */
public final class AcmePreparation {
    private static final Logger LOG = LoggerFactory.getLogger(AcmePreparation.class);
    /** The name of the preparing thread. */
    public static final String THREAD_NAME = "autocert4j-acme-prepare";

    private AcmePreparation() {
    }

    /** Starts preparing for {@code issuers} (most preferred first) on a daemon thread; returns it, or null if there is none. */
    public static Thread start(List<AcmeIssuer> issuers) {
        if (issuers.isEmpty()) {
            return null;
        }
        List<AcmeIssuer> all = List.copyOf(issuers);
        Thread t = DaemonThreads.named(THREAD_NAME).newThread(() -> prepare(all));
        t.start();
        return t;
    }

    private static void prepare(List<AcmeIssuer> issuers) {
        long t0 = System.nanoTime();
        for (AcmeIssuer issuer : issuers) {
            try {
                issuer.prepareClient();
            } catch (RuntimeException | LinkageError e) {
                LOG.debug("autocert4j: preparing the ACME HTTP client for {} failed; the first request will say why", issuer.directory(), e);
            }
        }
        DirectoryPrefetch.warmJose();
        try {
            JSON.parse("{\"status\":\"valid\",\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.invalid\"}]}");
            // acme4j's Identifier.dns runs every name through IDN (the JDK's ICU StringPrep data: ~13 ms cold on the
            // order's thread between the account and the order).
            IDN.toASCII("autocert4j.invalid");
            // Properties.store writes a date comment (Date.toString: the default time zone and its CLDR names, ~30 ms
            // cold): the store's metadata of the first certificate, between its download and going live.
            String.valueOf(new Date());
        } catch (RuntimeException | LinkageError e) {
            LOG.debug("autocert4j: acme4j's JSON parser, IDN or the time zone names could not be prepared", e);
        }
        LOG.debug("autocert4j: ACME client prepared in {} ms", (System.nanoTime() - t0) / 1_000_000);
    }
}
