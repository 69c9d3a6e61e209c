package io.github.autocert4j.internal.ondemand;

import io.github.autocert4j.OnDemand;
import io.github.autocert4j.internal.tls.CertificateSource;
import io.github.autocert4j.internal.tls.Handshake;
import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.util.Names;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * On-demand TLS as a link of the key manager's chain, asked after the live certificates for a
 * handshake whose SNI names a host none covers (JSSE stacks: the handshake's own thread waits,
 * bounded by {@link OnDemand#handshakeWait()}): serves the name's certificate once it is live, else
 * leaves the handshake to the default certificate ({@code OnTimeout.SERVE_FALLBACK}) or fails it.
 * Handshakes without SNI, and names of configured certificates not issued yet, go to the default.
 */
final class OnDemandSource implements CertificateSource {
    private final OnDemand config;
    private final Predicate<String> configured;
    private final Function<String, CompletableFuture<Boolean>> ready;
    private final Function<String, LiveKeyManager.Entry> live;

    OnDemandSource(OnDemand config, Predicate<String> configured, Function<String, CompletableFuture<Boolean>> ready,
                   Function<String, LiveKeyManager.Entry> live) {
        this.config = config;
        this.configured = configured;
        this.ready = ready;
        this.live = live;
    }

    @Override
    public LiveKeyManager.Entry select(Handshake handshake) {
        String host = handshake.sni();
        if (host == null || configured.test(Names.normalize(host))) {
            return null; // no SNI never orders; a configured certificate not issued yet: the default (or fallback) as always
        }
        boolean ok;
        try {
            ok = ready.apply(host).get(config.handshakeWait().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            ok = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ok = false;
        }
        LiveKeyManager.Entry e = ok ? live.apply(host) : null;
        if (e != null) {
            return e;
        }
        return config.onTimeout() == OnDemand.OnTimeout.SERVE_FALLBACK ? null : LiveKeyManager.NO_CERTIFICATE;
    }

    @Override
    public String toString() {
        return "OnDemandSource";
    }
}
