package io.github.autocert4j.internal.acme;

import java.net.http.HttpClient;
import java.time.Duration;

import javax.net.ssl.SSLContext;

/**
 * Internal: the one JDK HTTP client of an ACME CA, shared by every session of that CA so that connections and TLS
 * sessions are reused across orders. Made at first use ({@link AcmePreparation} makes it from {@code build()}, off the
 * caller's thread), let go by {@link #close()} at the end of {@code AutoCert.close()}.
 *
 * <p>Why close matters: the JDK's client runs a selector thread from its creation; on Java 21+ {@code shutdownNow}
 * ends it at once, on 17-20 (no close method) it ends once the client is unreachable, which {@link #close()} makes it
 * as far as this manager is concerned. A client is never made after {@link #close()}.
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
    private volatile HttpClient http;
    private boolean closed; // guarded by this
    private int holders; // guarded by this: orders past their finalization request ({@link #hold()})

    /** @param trust the SSL context for the CA's API, or null for the JDK's default trust */
    CaHttpClient(SSLContext trust, Duration connectTimeout) {
        this.trust = trust;
        this.connectTimeout = connectTimeout;
    }

    /** The client, made at the first call; an IllegalStateException after {@link #close()}. */
    HttpClient get() {
        HttpClient c = http;
        if (c == null) {
            synchronized (this) {
                if (closed) {
                    throw new IllegalStateException("this AutoCert was closed");
                }
                if (http == null) {
                    HttpClient.Builder b = HttpClient.newBuilder()
                            .followRedirects(HttpClient.Redirect.NORMAL)
                            .connectTimeout(connectTimeout)
                            .proxy(HttpClient.Builder.NO_PROXY);
                    if (trust != null) {
                        b.sslContext(trust);
                    }
                    http = b.build();
                }
                c = http;
            }
        }
        return c;
    }

    /**
     * An order past its finalization request (its certificate may be signed) uses the client until {@link #release()}:
     * {@link #close()} lets the client go only then. close() does not stop such an order, which may outlive close()'s wait
     * (a CA slower than that, the host's own executor, an on-demand order); on Java 21+ letting the client go would abort
     * its requests and lose the certificate.
     */
    synchronized void hold() {
        holders++;
    }

    /** The end of a {@link #hold()}; the last one after {@link #close()} lets the client go. */
    void release() {
        HttpClient c;
        synchronized (this) {
            holders--;
            c = takeIfUnused();
        }
        shutDown(c);
    }

    /** No client is made from now on; the one made is shut down (Java 21+) or let go (17-20), at once or at the last {@link #release()}. */
    void close() {
        HttpClient c;
        synchronized (this) {
            closed = true;
            c = takeIfUnused();
        }
        shutDown(c);
    }

    /** Guarded by this: the client, taken out, once closed and no order holds it; else null. */
    private HttpClient takeIfUnused() {
        if (!closed || holders > 0) {
            return null;
        }
        HttpClient c = http;
        http = null;
        return c;
    }

    private static void shutDown(HttpClient c) {
        if (c != null) {
            try {
                HttpClient.class.getMethod("shutdownNow").invoke(c);
            } catch (ReflectiveOperationException e) {
                // Java 17-20: no shutdownNow; the selector thread ends once the client is unreachable
            }
        }
    }
}
