package io.github.autocert4j.spring.boot;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertEventListener;
import io.github.autocert4j.CertificateStatus;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

/**
 * Micrometer meters of autocert4j, bound by Boot to every meter registry; fed by the AutoCert's
 * events and the challenge counts.
 *
 * <ul>
 *   <li>{@code autocert4j.certificate.expiry} (gauge, seconds, tag {@code certificate}): time left
 *       until the live certificate expires; negative once expired, NaN while none was obtained.</li>
 *   <li>{@code autocert4j.renewal.attempts} (counter, tags {@code certificate}, {@code outcome} =
 *       {@code issued} | {@code failed}): orders, the first issuance included, by outcome.</li>
 *   <li>{@code autocert4j.certificate.loaded} (counter, tag {@code certificate}): valid stored
 *       certificates served without an order (at start, or renewed by a server sharing the store).</li>
 *   <li>{@code autocert4j.order.duration} (timer, tags {@code certificate}, {@code outcome}): from the
 *       start of an order to its {@code Issued} or {@code Failed} event.</li>
 *   <li>{@code autocert4j.challenge.requests} (counter, tag {@code status} = 200 | 400 | 404 | 405 | 503):
 *       requests for {@code /.well-known/acme-challenge/} answered on the plain-HTTP port; 200 are
 *       the CA's validations, 503 lookups the shared store could not answer.</li>
 * </ul>
 */
final class AutoCertMetrics implements MeterBinder, CertEventListener {
    static final String EXPIRY = "autocert4j.certificate.expiry";
    static final String ATTEMPTS = "autocert4j.renewal.attempts";
    static final String LOADED = "autocert4j.certificate.loaded";
    static final String ORDER_DURATION = "autocert4j.order.duration";
    static final String CHALLENGES = "autocert4j.challenge.requests";
    static final String ISSUED = "issued";
    static final String FAILED = "failed";

    private final Supplier<AutoCert> autoCert;
    private final ChallengeRequests challenges;
    private final Clock clock;
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();
    private final Map<String, List<Timer>> timers = new ConcurrentHashMap<>();

    /** @param autoCert resolved late: the AutoCert itself takes this object as a listener */
    AutoCertMetrics(Supplier<AutoCert> autoCert, ChallengeRequests challenges, Clock clock) {
        this.autoCert = autoCert;
        this.challenges = challenges;
        this.clock = clock;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        AutoCert ac = autoCert.get();
        for (CertificateStatus s : ac.status()) {
            String id = s.certificate();
            Gauge.builder(EXPIRY, ac, a -> secondsUntilExpiry(a, id))
                    .description("Seconds until the live certificate expires (negative once expired, NaN while none was obtained)")
                    .baseUnit("seconds").tag("certificate", id).strongReference(true).register(registry);
            for (String outcome : List.of(ISSUED, FAILED)) {
                FunctionCounter.builder(ATTEMPTS, counter(id, outcome), LongAdder::doubleValue)
                        .description("ACME orders (first issuance included) by outcome")
                        .tags("certificate", id, "outcome", outcome).register(registry);
                Timer timer = Timer.builder(ORDER_DURATION)
                        .description("Time from the start of an order to the certificate being live, or to the failure")
                        .tags("certificate", id, "outcome", outcome).register(registry);
                timers.computeIfAbsent(key(id, outcome), k -> new CopyOnWriteArrayList<>()).add(timer);
            }
            FunctionCounter.builder(LOADED, counter(id, "loaded"), LongAdder::doubleValue)
                    .description("Valid stored certificates served without an order").tag("certificate", id).register(registry);
        }
        for (int status : ChallengeRequests.STATUSES) {
            FunctionCounter.builder(CHALLENGES, challenges, c -> c.count(status))
                    .description("Requests for /.well-known/acme-challenge/ on the plain-HTTP port, by response status")
                    .tag("status", Integer.toString(status)).register(registry);
        }
    }

    @Override
    public void onEvent(CertEvent event) {
        if (event instanceof CertEvent.Issued issued) {
            counter(issued.certificate(), ISSUED).increment();
            recordOrder(issued.certificate(), ISSUED, issued.took());
        } else if (event instanceof CertEvent.Failed failed) {
            counter(failed.certificate(), FAILED).increment();
            recordOrder(failed.certificate(), FAILED, failed.took());
        } else if (event instanceof CertEvent.Loaded loaded) {
            counter(loaded.certificate(), "loaded").increment();
        }
    }

    /** The attempt's duration as the core measured it (from taking the certificate's lock to live or failed). */
    private void recordOrder(String id, String outcome, Duration took) {
        List<Timer> list = timers.get(key(id, outcome));
        if (list == null || took == null) {
            return;
        }
        for (Timer t : list) {
            t.record(took);
        }
    }

    private double secondsUntilExpiry(AutoCert ac, String id) {
        return ac.status(id).map(CertificateStatus::notAfter)
                .map(notAfter -> Duration.between(clock.instant(), notAfter).toMillis() / 1000.0)
                .orElse(Double.NaN);
    }

    private LongAdder counter(String id, String what) {
        return counts.computeIfAbsent(key(id, what), k -> new LongAdder());
    }

    private static String key(String id, String what) {
        return id + '\n' + what;
    }

    @Override
    public String toString() {
        return "AutoCertMetrics";
    }
}
