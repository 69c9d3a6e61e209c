package io.github.autocert4j.internal.acme;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.connector.Connection;
import org.shredzone.acme4j.connector.DefaultConnection;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.connector.NonceHolder;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;
import org.shredzone.acme4j.toolbox.JSON;

/** acme4j provider handing every session this CA's shared HTTP client, wrapped for timeouts and Retry-After. */
final class AcmeProvider extends GenericAcmeProvider {
    private final Supplier<HttpClient> shared;
    private final Duration timeout;
    private final AtomicReference<Instant> retryAfter;
    private final DirectoryPrefetch prefetch; // null: always fetch
    private final BooleanSupplier committed;

    AcmeProvider(Supplier<HttpClient> shared, Duration timeout, AtomicReference<Instant> retryAfter, DirectoryPrefetch prefetch) {
        this(shared, timeout, retryAfter, prefetch, () -> false);
    }

    /** @param committed whether the session's order is past its finalization request (see {@link AcmeHttpClient}) */
    AcmeProvider(Supplier<HttpClient> shared, Duration timeout, AtomicReference<Instant> retryAfter, DirectoryPrefetch prefetch,
                 BooleanSupplier committed) {
        this.shared = shared;
        this.timeout = timeout;
        this.retryAfter = retryAfter;
        this.prefetch = prefetch;
        this.committed = committed;
    }

    /** The directory from the CA, always (the prefetch itself). */
    JSON fetch(Session session, URI serverUri) throws AcmeException {
        return super.directory(session, serverUri);
    }

    /** A connection that, before asking the CA for a nonce, takes the one fetched with the directory ({@link DirectoryPrefetch}). */
    @Override
    public Connection connect(URI serverUri, NetworkSettings settings, HttpClient httpClient) {
        if (prefetch == null) {
            return super.connect(serverUri, settings, httpClient);
        }
        return new DefaultConnection(createHttpConnector(settings, httpClient)) {
            @Override
            public void resetNonce(Session session) throws AcmeException {
                String ahead = prefetch.takeNonce(timeout);
                if (ahead == null) {
                    super.resetNonce(session);
                    return;
                }
                try (NonceHolder holder = session.lockNonce()) {
                    holder.setNonce(ahead);
                }
            }
        };
    }

    @Override
    public HttpClient createHttpClient(NetworkSettings settings) {
        return new AcmeHttpClient(shared.get(), timeout, retryAfter, committed);
    }

    /**
     * The directory once per session: acme4j asks for it again (a conditional GET) on every
     * resource lookup unless the CA sends an Expires header, which Pebble and many CAs do not;
     * that was about 13 directory GETs per order across three nodes.
     */
    @Override
    public JSON directory(Session session, URI serverUri) throws AcmeException {
        if (session.hasDirectory()) {
            return null;
        }
        JSON ahead = prefetch == null ? null : prefetch.take(timeout, retryAfter);
        return ahead != null ? ahead : super.directory(session, serverUri);
    }
}
