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

    /** No client is made from now on; the one made is shut down (Java 21+) or let go (17-20). */
    void close() {
        HttpClient c;
        synchronized (this) {
            closed = true;
            c = http;
            http = null;
        }
        if (c != null) {
            try {
                HttpClient.class.getMethod("shutdownNow").invoke(c);
            } catch (ReflectiveOperationException e) {
                // Java 17-20: no shutdownNow; the selector thread ends once the client is unreachable
            }
        }
    }
}
