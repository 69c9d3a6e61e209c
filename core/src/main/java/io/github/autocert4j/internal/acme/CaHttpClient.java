package io.github.autocert4j.internal.acme;

import java.time.Duration;

import javax.net.ssl.SSLContext;

/**
 * Internal: the one HTTP client of an ACME CA ({@link UrlConnectionHttpClient}), shared by every session of that CA so
 * that connections and TLS sessions are reused across orders. Made at first use ({@link AcmePreparation} makes it from
 * {@code build()}, off the caller's thread), let go by {@link #close()} at the end of {@code AutoCert.close()}.
 *
 * <p>Why close matters: each exchange runs on a daemon thread of the client (idle ones end after 30 s); once closed,
 * no exchange starts and the threads end when theirs is done. A client is never made after {@link #close()}.
 *
 * <pre>{@code
 * CaHttpClient http = new CaHttpClient(trustOrNull, Duration.ofSeconds(10));
 * HttpClient client = http.get();   // made once
 * http.close();                     // at AutoCert.close()
 * }</pre>
 */
final class CaHttpClient {
    private final SSLContext trust;
    private final Duration connectTimeout;
    private volatile UrlConnectionHttpClient http;
    private boolean closed; // guarded by this
    private int holders; // guarded by this: orders past their finalization request ({@link #hold()})

    /** @param trust the SSL context for the CA's API, or null for the JDK's default trust */
    CaHttpClient(SSLContext trust, Duration connectTimeout) {
        this.trust = trust;
        this.connectTimeout = connectTimeout;
    }

    /** The client, made at the first call; an IllegalStateException after {@link #close()}. */
    UrlConnectionHttpClient get() {
        UrlConnectionHttpClient c = http;
        if (c == null) {
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("this AutoCert was closed");
                }
                if (http == null) {
                    http = new UrlConnectionHttpClient(trust, connectTimeout);
                }
                c = http;
            }
        }
        return c;
    }

    /**
     * An order past its finalization request (its certificate may be signed) uses the client until {@link #release()}:
     * {@link #close()} lets the client go only then. close() does not stop such an order, which may outlive close()'s wait
     * (a CA slower than that, the host's own executor, an on-demand order); closing the client would refuse its next
     * request (the download) and lose the certificate.
     */
    synchronized void hold() {
        holders++;
    }

    /** The end of a {@link #hold()}; the last one after {@link #close()} lets the client go. */
    void release() {
        UrlConnectionHttpClient c;
        synchronized (this) {
            holders--;
            c = takeIfUnused();
        }
        shutDown(c);
    }

    /** No client is made from now on; the one made is shut down, at once or at the last {@link #release()}. */
    void close() {
        UrlConnectionHttpClient c;
        synchronized (this) {
            closed = true;
            c = takeIfUnused();
        }
        shutDown(c);
    }

    /** Guarded by this: the client, taken out, once closed and no order holds it; else null. */
    private UrlConnectionHttpClient takeIfUnused() {
        if (!closed || holders > 0) {
            return null;
        }
        UrlConnectionHttpClient c = http;
        http = null;
        return c;
    }

    private static void shutDown(UrlConnectionHttpClient c) {
        if (c != null) {
            c.shutdown();
        }
    }
}
