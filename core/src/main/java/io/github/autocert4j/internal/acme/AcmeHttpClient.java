package io.github.autocert4j.internal.acme;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

import io.github.autocert4j.internal.util.Uninterruptibly;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * The HTTP client acme4j talks to the CA through. Its transport is {@link UrlConnectionHttpClient} (the JDK's
 * {@code HttpURLConnection}, issue 23); this adds what an order needs on top of any transport:
 *
 * <ul>
 *   <li>Every exchange, body included, is bounded by the request's timeout (the policy's
 *       {@code httpTimeout}): a transport's own timeouts (the JDK client's, a socket's) bound only the
 *       wait for the headers or each read, so a CA that trickles its answer would hang an order forever.</li>
 *   <li>The {@code Retry-After} of a 429 or 503 answer is remembered in the order's own
 *       {@code AtomicReference} (one client per acme4j session, one session per order). acme4j
 *       keeps it only for {@code rateLimited} problems and throws a bare
 *       {@code AcmeException("HTTP 503")} for a plain 503, so without this the scheduler could not
 *       defer exactly as long as the CA asked.</li>
 *   <li>Once the order is committed (finalization asked for: the CA may have signed), an interrupt (close(), a removal)
 *       does not end the wait for an answer ({@link Uninterruptibly}): the request completes within its timeout.</li>
 * </ul>
 */
public final class AcmeHttpClient extends HttpClient {
    private static final Pattern DIGITS = Pattern.compile("\\d{1,10}");

    private final HttpClient delegate;
    private final Duration defaultTimeout;
    // The Retry-After of the latest 429/503 answer of this session (= this order), else null.
    private final AtomicReference<Instant> retryAfter;
    // Whether the order is past its finalization request: its requests are then waited for through interrupts.
    private final BooleanSupplier committed;

    public AcmeHttpClient(HttpClient delegate, Duration defaultTimeout, AtomicReference<Instant> retryAfter) {
        this(delegate, defaultTimeout, retryAfter, () -> false);
    }

    /** @param committed true once the order's certificate may exist at the CA: answers are then awaited through interrupts */
    public AcmeHttpClient(HttpClient delegate, Duration defaultTimeout, AtomicReference<Instant> retryAfter, BooleanSupplier committed) {
        this.delegate = delegate;
        this.defaultTimeout = defaultTimeout;
        this.retryAfter = retryAfter;
        this.committed = committed;
    }

    /** Parses a Retry-After value (delta-seconds or HTTP-date) relative to {@code now}; null if unparsable. */
    public static Instant parseRetryAfter(String value, Instant now) {
        if (value == null) {
            return null;
        }
        String v = value.trim();
        try {
            if (DIGITS.matcher(v).matches()) {
                return now.plusSeconds(Long.parseLong(v));
            }
            return ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) throws IOException, InterruptedException {
        retryAfter.set(null);
        Duration timeout = request.timeout().orElse(defaultTimeout);
        CompletableFuture<HttpResponse<byte[]>> future = delegate.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
        HttpResponse<byte[]> raw;
        try {
            raw = committed.getAsBoolean() ? Uninterruptibly.get(future, timeout.toNanos()) : future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new Unanswered(request.method() + " " + request.uri() + " took longer than " + timeout + " (httpTimeout)", null);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof HttpTimeoutException t) {
                // The JDK's own connect timeout: the CA did not answer either.
                throw new Unanswered(request.method() + " " + request.uri() + ": " + t.getMessage(), t);
            }
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(request.method() + " " + request.uri() + " failed: " + cause, cause);
        } catch (InterruptedException e) {
            future.cancel(true);
            throw e;
        }
        if (raw.statusCode() == 429 || raw.statusCode() == 503) {
            Instant at = parseRetryAfter(raw.headers().firstValue("Retry-After").orElse(null), Instant.now());
            if (at != null) {
                retryAfter.set(at);
            }
        }
        T body = convert(raw, handler);
        return new Response<>(raw, body);
    }

    /** Feeds the buffered body to the caller's handler (acme4j asks for an InputStream). */
    static <T> T convert(HttpResponse<byte[]> raw, HttpResponse.BodyHandler<T> handler) throws IOException, InterruptedException {
        HttpResponse.ResponseInfo info = new HttpResponse.ResponseInfo() {
            @Override
            public int statusCode() {
                return raw.statusCode();
            }

            @Override
            public HttpHeaders headers() {
                return raw.headers();
            }

            @Override
            public Version version() {
                return raw.version();
            }
        };
        HttpResponse.BodySubscriber<T> subscriber = handler.apply(info);
        subscriber.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
            }

            @Override
            public void cancel() {
            }
        });
        byte[] bytes = raw.body() == null ? new byte[0] : raw.body();
        if (bytes.length > 0) {
            subscriber.onNext(List.of(ByteBuffer.wrap(bytes)));
        }
        subscriber.onComplete();
        T body;
        try {
            body = subscriber.getBody().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("cannot read the CA's response body", e);
        }
        if (body instanceof InputStream jdkStream) {
            // acme4j reads every answer through an InputStream after send() returns. The JDK's (ofInputStream) takes each
            // buffer under an interruptible lock, and since Java 21 (JDK-8294047) an interrupted thread's read closes it and
            // throws: an order past its finalization request, which waits through interrupts (stop(), close()), would then
            // lose the certificate it just downloaded. The body is in memory already: a plain stream over it never blocks.
            jdkStream.close();
            @SuppressWarnings("unchecked")
            T inMemory = (T) new ByteArrayInputStream(bytes);
            return inMemory;
        }
        return body;
    }

    /**
     * The CA did not answer an exchange within its timeout (connect, headers or body). Its own
     * type, so that only the CA's silence (not a challenge solver's HTTP call) makes the CA rest.
     */
    public static final class Unanswered extends HttpTimeoutException {
        private static final long serialVersionUID = 1L;

        public Unanswered(String message, Throwable cause) {
            super(message);
            if (cause != null) {
                initCause(cause);
            }
        }
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        return delegate.sendAsync(request, handler);
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                                            HttpResponse.PushPromiseHandler<T> push) {
        return delegate.sendAsync(request, handler, push);
    }

    @Override
    public Optional<CookieHandler> cookieHandler() {
        return delegate.cookieHandler();
    }

    @Override
    public Optional<Duration> connectTimeout() {
        return delegate.connectTimeout();
    }

    @Override
    public Redirect followRedirects() {
        return delegate.followRedirects();
    }

    @Override
    public Optional<ProxySelector> proxy() {
        return delegate.proxy();
    }

    @Override
    public SSLContext sslContext() {
        return delegate.sslContext();
    }

    @Override
    public SSLParameters sslParameters() {
        return delegate.sslParameters();
    }

    @Override
    public Optional<Authenticator> authenticator() {
        return delegate.authenticator();
    }

    @Override
    public Version version() {
        return delegate.version();
    }

    @Override
    public Optional<Executor> executor() {
        return delegate.executor();
    }

    @Override
    public String toString() {
        return "AcmeHttpClient[" + delegate + "]";
    }

    record Response<T>(HttpResponse<byte[]> raw, T body) implements HttpResponse<T> {
        @Override
        public int statusCode() {
            return raw.statusCode();
        }

        @Override
        public HttpRequest request() {
            return raw.request();
        }

        @Override
        public Optional<HttpResponse<T>> previousResponse() {
            return Optional.empty();
        }

        @Override
        public HttpHeaders headers() {
            return raw.headers();
        }

        @Override
        public Optional<SSLSession> sslSession() {
            return raw.sslSession();
        }

        @Override
        public URI uri() {
            return raw.uri();
        }

        @Override
        public Version version() {
            return raw.version();
        }

        @Override
        public String toString() {
            return "Response[" + raw.statusCode() + " " + raw.uri() + "]";
        }
    }
}
