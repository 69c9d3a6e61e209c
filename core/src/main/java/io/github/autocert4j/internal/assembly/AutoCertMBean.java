package io.github.autocert4j.internal.assembly;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertMXBean;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.DryRunResult;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The {@link AutoCertMXBean} of one manager: reads {@link AutoCert#status()}, calls {@code renewNow} and {@code dryRun}. */
public final class AutoCertMBean implements AutoCertMXBean {
    private final AutoCert autoCert;
    private final AcmeCa dryRunCa;

    public AutoCertMBean(AutoCert autoCert, AcmeCa dryRunCa) {
        this.autoCert = autoCert;
        this.dryRunCa = dryRunCa;
    }

    @Override
    public List<String> getCertificates() {
        return autoCert.status().stream().map(CertificateStatus::certificate).toList();
    }

    @Override
    public Map<String, String> getStatus() {
        Map<String, String> out = new LinkedHashMap<>();
        Instant now = Instant.now();
        for (CertificateStatus s : autoCert.status()) {
            out.put(s.certificate(), line(s, now));
        }
        return out;
    }

    @Override
    public int getNotValidCount() {
        // NOT_LOADED (lazy loading: stored, not read yet) is not "not valid": nothing is missing
        return (int) autoCert.status().stream().filter(s -> s.state() != CertificateStatus.State.VALID
                && s.state() != CertificateStatus.State.NOT_LOADED).count();
    }

    @Override
    public String status(String name) {
        return autoCert.status(name).map(s -> line(s, Instant.now()))
                .orElseThrow(() -> new IllegalArgumentException("no managed certificate covers '" + name + "'"));
    }

    @Override
    public String renewNow(String name) {
        autoCert.status(name).orElseThrow(() -> new IllegalArgumentException("no managed certificate covers '" + name + "'"));
        autoCert.renewNow(name);
        return "renewal of " + name + " started; follow it with status(\"" + name + "\")";
    }

    @Override
    public String dryRun() {
        try {
            DryRunResult r = autoCert.dryRun(dryRunCa).get(10, TimeUnit.MINUTES);
            StringBuilder b = new StringBuilder(r.succeeded() ? "dry run succeeded at " : "dry run FAILED at ").append(r.directory());
            for (DryRunResult.Outcome o : r.outcomes()) {
                b.append('\n').append(o.names()).append(": ")
                        .append(o.succeeded() ? "ok (test serial " + o.serial().toString(16) + ")" : "FAILED: " + o.failure().getMessage());
            }
            return b.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the dry run");
        } catch (ExecutionException e) {
            throw new IllegalStateException("the dry run could not start: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw new IllegalStateException("the dry run took longer than 10 minutes; it goes on in the background");
        }
    }

    public static String line(CertificateStatus s, Instant now) {
        StringBuilder b = new StringBuilder(s.state().name());
        if (s.serial() != null) {
            b.append(" serial=").append(s.serialHex()).append(" issuer=").append(s.issuerId()).append(" notAfter=").append(s.notAfter())
                    .append(" daysLeft=").append(Math.floorDiv(Duration.between(now, s.notAfter()).getSeconds(), 86_400L));
        }
        if (s.nextCheck() != null) {
            b.append(" nextCheck=").append(s.nextCheck());
        }
        b.append(" failures=").append(s.consecutiveFailures());
        if (s.lastError() != null) {
            b.append(" lastError=").append(s.lastError());
        }
        return b.toString();
    }
}
