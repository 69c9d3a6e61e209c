package io.github.autocert4j.internal.acme;

import io.github.autocert4j.internal.util.DaemonThreads;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Authenticator;
import java.net.CookieHandler;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Flow;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * The transport under {@link AcmeHttpClient}: acme4j's requests over the JDK's {@code HttpURLConnection} (HTTP/1.1,
 * keep-alive, the TLS context's session cache), presented as the {@code java.net.http.HttpClient} acme4j asks for.
 *
 * <p>Why not the JDK's {@code HttpClient} (issue 23): in a fresh JVM its first exchange (selector thread, HTTP/2
 * machinery, its asynchronous TLS engine) loads about 280 classes more than the same exchange over
 * {@code HttpURLConnection}, on the path to the first certificate of every cold start (measured: the first certificate
 * about 0.13 s sooner, 0.3 s less CPU, docs/startup.md); an ACME exchange is a few small request/answer pairs, one at a
 * time per order, which HTTP/1.1 serves as well.
 *
 * <p>What it keeps of the JDK client's contract that acme4j and {@link AcmeHttpClient} rely on:
 * <ul>
 *   <li>{@link #sendAsync} runs each exchange on a daemon thread of this client ({@code autocert4j-acme-http}, made
 *       when needed, gone after 30 s idle or at {@link #shutdown()}); cancelling its future returns at once and closes
 *       the connection from another thread, so a caller bounds the whole exchange and an interrupt ends its wait (a
 *       socket read ignores interrupts); the exchange's own thread ends at its read timeout at the latest.</li>
 *   <li>A connect timeout fails with {@link HttpConnectTimeoutException}, a read timeout with
 *       {@link HttpTimeoutException}, any other failure to connect with a {@link java.net.ConnectException}, as the
 *       JDK client's: {@link AcmeFailures} and {@link CaHealth} read them.</li>
 *   <li>The CA's name is checked in every TLS handshake, whatever JVM-wide hostname verifier or socket factory an
 *       application gave {@code HttpsURLConnection}; the default trust is {@code SSLContext.getDefault()}'s.</li>
 *   <li>No proxy, no {@code Authenticator} (the JVM-wide one is not asked). A JVM-wide {@code CookieHandler}, if an
 *       application set one, sees the CA's cookies ({@code HttpURLConnection} has no per-connection switch; ACME CAs
 *       set none).</li>
 *   <li>Redirects followed (same scheme only; a redirected POST fails, as it cannot be sent again), the
 *       answer's body read in full (error answers too: acme4j reads their problem document), at most
 *       {@value #MAX_BODY} bytes.</li>
 * </ul>
 *
 * <pre>{@code
 * UrlConnectionHttpClient http = new UrlConnectionHttpClient(trustOrNull, Duration.ofSeconds(10));
 * HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
 * http.shutdown();   // its threads end once their exchange is done
 * }</pre>
 */
final class UrlConnectionHttpClient extends HttpClient {
    /** The largest answer read: ACME's are a few kB (a certificate chain, a problem document). */
    static final int MAX_BODY = 1 << 20;
    static final String THREAD_NAME = "autocert4j-acme-http";
    /** Answers every request for credentials with none. */
    private static final Authenticator NO_AUTHENTICATION = new Authenticator() { };

    private final SSLContext trust; // null: the JDK's default
    private final Duration connectTimeout;
    private final ExecutorService exchanges;
    // One factory for every connection: the JDK's keep-alive cache reuses an HTTPS connection only for the same factory
    // instance, and SSLContext.getSocketFactory() makes a new one per call.
    private volatile SSLSocketFactory socketFactory;

    /** @param trust the TLS context for the CA's API, or null for the JDK's default */
    UrlConnectionHttpClient(SSLContext trust, Duration connectTimeout) {
        this.trust = trust;
        this.connectTimeout = connectTimeout;
        this.exchanges = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new SynchronousQueue<>(),
                DaemonThreads.named(THREAD_NAME));
    }

    /** Loads what the first exchange needs and involves no I/O: the TLS socket factory, the URL connection classes. */
    void prepare() {
        socketFactory();
        try {
            new URL("https://autocert4j.invalid/").openConnection(Proxy.NO_PROXY);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * No request is sent from now on: an exchange not yet started, or still connecting, fails; one whose request is out
     * gets its answer. {@link CaHttpClient} shuts a client down only once no order past its finalization uses it, so
     * nothing that must finish is cut, and a closed manager sends nothing to the CA after {@code close()} returned (a
     * request of its last renewal check, say, still connecting). Overrides {@code HttpClient.shutdown()} on Java 21+.
     */
    public void shutdown() {
        exchanges.shutdown();
    }

    private SSLSocketFactory socketFactory() {
        SSLSocketFactory f = socketFactory;
        if (f == null) {
            synchronized (this) {
                // one, ever: a connection kept alive under a second factory would never be reused (the preparing thread
                // and the first order's directory fetch both ask at a cold start)
                f = socketFactory;
                if (f == null) {
                    // The JDK client's default is SSLContext.getDefault(), not HttpsURLConnection's JVM-wide default
                    // factory, which an application may have replaced.
                    f = new HostCheckingSocketFactory(sslContext().getSocketFactory());
                    socketFactory = f;
                }
            }
        }
        return f;
    }

    /**
     * Every socket checks the CA's name in its TLS handshake (endpoint identification "HTTPS", as the JDK client's
     * sockets do). Without it {@code HttpsURLConnection} checks the name only if its hostname verifier is the JDK's
     * default, and an application that installed a lenient JVM-wide one
     * ({@code HttpsURLConnection.setDefaultHostnameVerifier}) would have it accept any name for the CA too.
     */
    private static final class HostCheckingSocketFactory extends SSLSocketFactory {
        private final SSLSocketFactory delegate;

        HostCheckingSocketFactory(SSLSocketFactory delegate) {
            this.delegate = delegate;
        }

        private static Socket checking(Socket socket) {
            if (socket instanceof SSLSocket ssl) {
                SSLParameters p = ssl.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS");
                ssl.setSSLParameters(p);
            }
            return socket;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return delegate.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return checking(delegate.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return checking(delegate.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return checking(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return checking(delegate.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return checking(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
            return checking(delegate.createSocket(address, port, localAddress, localPort));
        }
    }

    @Override
    public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler) throws IOException, InterruptedException {
        try {
            return sendAsync(request, handler).get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(request.method() + " " + request.uri() + " failed: " + e.getCause(), e.getCause());
        }
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        Exchange<T> exchange = new Exchange<>();
        try {
            exchanges.execute(() -> exchange.run(request, handler));
        } catch (RuntimeException rejected) {
            exchange.completeExceptionally(new IOException("the ACME HTTP client was closed (AutoCert.close())", rejected));
        }
        return exchange;
    }

    @Override
    public <T> CompletableFuture<HttpResponse<T>> sendAsync(HttpRequest request, HttpResponse.BodyHandler<T> handler,
                                                            HttpResponse.PushPromiseHandler<T> push) {
        return sendAsync(request, handler); // HTTP/1.1: nothing is ever pushed
    }

    /**
     * One exchange. Cancelling it (a caller's timeout or interrupt) returns at once and closes its connection on a
     * thread of its own: closing a body stream waits for a read in progress (the JDK's streams take one lock for
     * both), so the exchange's thread ends at once if it waits for the headers, else at its read timeout at the latest.
     */
    private final class Exchange<T> extends CompletableFuture<HttpResponse<T>> {
        private volatile HttpURLConnection connection;

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            boolean cancelled = super.cancel(mayInterruptIfRunning);
            HttpURLConnection c = connection;
            if (c != null) {
                DaemonThreads.named(THREAD_NAME + "-cancel").newThread(() -> disconnect(c)).start();
            }
            return cancelled;
        }

        void run(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
            try {
                HttpResponse<byte[]> raw = exchange(request);
                complete(new AcmeHttpClient.Response<>(raw, AcmeHttpClient.convert(raw, handler)));
            } catch (IOException | InterruptedException | RuntimeException e) {
                completeExceptionally(e);
            } finally {
                connection = null;
            }
        }

        /**
         * Looked at before connecting and again before the request is sent: a cancel that came while the connection had
         * no socket yet (name lookup, connect) would be lost, and a client shut down meanwhile sends nothing more.
         */
        private void unlessCancelledOrShutDown(HttpURLConnection c, HttpRequest request) throws IOException {
            if (isCancelled() || exchanges.isShutdown()) {
                disconnect(c);
                throw new IOException(request.method() + " " + request.uri() + (isCancelled() ? " was cancelled"
                        : " not sent: the ACME HTTP client was closed (AutoCert.close())"));
            }
        }

        private HttpResponse<byte[]> exchange(HttpRequest request) throws IOException, InterruptedException {
            byte[] body = requestBody(request);
            HttpURLConnection c = (HttpURLConnection) request.uri().toURL().openConnection(Proxy.NO_PROXY);
            connection = c;
            unlessCancelledOrShutDown(c, request);
            if (c instanceof HttpsURLConnection https) {
                https.setSSLSocketFactory(socketFactory());
            }
            c.setConnectTimeout(millis(connectTimeout));
            c.setReadTimeout(millis(request.timeout().orElse(connectTimeout)));
            c.setInstanceFollowRedirects(true);
            c.setUseCaches(false);
            c.setAuthenticator(NO_AUTHENTICATION); // not the JVM-wide one: the CA is never sent a password
            c.setRequestMethod(request.method());
            request.headers().map().forEach((name, values) -> values.forEach(v -> c.addRequestProperty(name, v)));
            if (request.headers().firstValue("Accept").isEmpty()) {
                c.setRequestProperty("Accept", "*/*"); // else HttpURLConnection's own list (text/html, image/gif, ...)
            }
            if (body != null) {
                c.setDoOutput(true);
                c.setFixedLengthStreamingMode(body.length);
            }
            try {
                c.connect(); // with HTTPS, the TLS handshake too
            } catch (SocketTimeoutException e) {
                disconnect(c);
                throw timeout(new HttpConnectTimeoutException(request.method() + " " + request.uri() + ": connect timed out"), e);
            } catch (javax.net.ssl.SSLException | java.net.UnknownHostException | java.net.ConnectException e) {
                disconnect(c);
                throw e;
            } catch (IOException e) {
                // as the JDK client reports any failure to connect (no route to host, network unreachable, a reset):
                // AcmeFailures then names the fix for an unreachable CA
                disconnect(c);
                java.net.ConnectException connect = new java.net.ConnectException(request.method() + " " + request.uri() + ": " + e);
                connect.initCause(e);
                throw connect;
            }
            try {
                unlessCancelledOrShutDown(c, request);
                if (body != null) {
                    try (OutputStream out = c.getOutputStream()) {
                        out.write(body);
                    }
                }
                int status = c.getResponseCode();
                if (status < 0) {
                    throw new IOException(request.method() + " " + request.uri() + ": the answer is not HTTP");
                }
                HttpHeaders headers = headers(c);
                // read to the end and closed: the connection then goes back to the JDK's keep-alive cache
                byte[] answer = readAll(status >= 400 ? c.getErrorStream() : c.getInputStream());
                return new Received(answered(c, request), status, headers, answer);
            } catch (SocketTimeoutException e) {
                disconnect(c);
                throw timeout(new HttpTimeoutException(request.method() + " " + request.uri() + ": no answer in time"), e);
            } catch (IOException e) {
                disconnect(c); // never back into the keep-alive cache half read
                throw e;
            }
        }
    }

    /** Closes the connection; never throws (HttpURLConnection's disconnect races with its own end of a response). */
    private static void disconnect(HttpURLConnection c) {
        try {
            c.disconnect();
        } catch (RuntimeException e) {
            // it was ending anyway
        }
    }

    private static HttpTimeoutException timeout(HttpTimeoutException e, Throwable cause) {
        e.initCause(cause);
        return e;
    }

    /** The request's body (acme4j's are strings or none), or null for none. */
    private static byte[] requestBody(HttpRequest request) throws IOException, InterruptedException {
        Optional<HttpRequest.BodyPublisher> publisher = request.bodyPublisher();
        if (publisher.isEmpty() || publisher.get().contentLength() == 0) {
            return null;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CompletableFuture<byte[]> done = new CompletableFuture<>();
        publisher.get().subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ByteBuffer item) {
                byte[] b = new byte[item.remaining()];
                item.get(b);
                out.writeBytes(b);
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                done.complete(out.toByteArray());
            }
        });
        try {
            return done.get(5, TimeUnit.SECONDS); // the JDK's string and byte publishers complete within subscribe()
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("cannot read the body of " + request.method() + " " + request.uri(), e);
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        if (in == null) {
            return new byte[0];
        }
        try (in) {
            byte[] b = in.readNBytes(MAX_BODY + 1);
            if (b.length > MAX_BODY) {
                throw new IOException("the CA's answer is larger than " + MAX_BODY + " bytes");
            }
            return b;
        }
    }

    /**
     * The answer's headers in the order the CA sent them (acme4j takes the first {@code Link} of a relation;
     * {@code getHeaderFields()} would give each name's values reversed), without the status line; case-insensitive as
     * the JDK client's.
     */
    private static HttpHeaders headers(HttpURLConnection c) {
        Map<String, List<String>> named = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (int i = 0; i < 1000; i++) { // bounded: the JDK's parser keeps far fewer
            String value = c.getHeaderField(i);
            if (value == null) {
                break;
            }
            String name = c.getHeaderFieldKey(i);
            if (name != null) { // null: the status line
                named.computeIfAbsent(name, k -> new java.util.ArrayList<>()).add(value);
            }
        }
        return HttpHeaders.of(named, (k, v) -> true);
    }

    /** The request as answered: after a redirect, the same request to the final URL (acme4j resolves relative links against it). */
    private static HttpRequest answered(HttpURLConnection c, HttpRequest request) {
        try {
            URI last = c.getURL().toURI();
            return last.equals(request.uri()) ? request : HttpRequest.newBuilder(request, (name, value) -> true).uri(last).build();
        } catch (java.net.URISyntaxException | IllegalArgumentException e) {
            return request;
        }
    }

    private static int millis(Duration d) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, d.toMillis()));
    }

    /** An answer read in full. */
    private record Received(HttpRequest request, int statusCode, HttpHeaders headers, byte[] body) implements HttpResponse<byte[]> {
        @Override
        public URI uri() {
            return request.uri();
        }

        @Override
        public Optional<HttpResponse<byte[]>> previousResponse() {
            return Optional.empty();
        }

        @Override
        public Optional<javax.net.ssl.SSLSession> sslSession() {
            return Optional.empty();
        }

        @Override
        public Version version() {
            return Version.HTTP_1_1;
        }
    }

    @Override
    public Optional<CookieHandler> cookieHandler() {
        return Optional.empty();
    }

    @Override
    public Optional<Duration> connectTimeout() {
        return Optional.of(connectTimeout);
    }

    @Override
    public Redirect followRedirects() {
        return Redirect.NORMAL;
    }

    @Override
    public Optional<ProxySelector> proxy() {
        return Optional.of(HttpClient.Builder.NO_PROXY);
    }

    @Override
    public SSLContext sslContext() {
        if (trust != null) {
            return trust;
        }
        try {
            return SSLContext.getDefault();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("no default TLS context", e);
        }
    }

    @Override
    public SSLParameters sslParameters() {
        return sslContext().getDefaultSSLParameters();
    }

    @Override
    public Optional<Authenticator> authenticator() {
        return Optional.empty();
    }

    @Override
    public Version version() {
        return Version.HTTP_1_1;
    }

    @Override
    public Optional<Executor> executor() {
        return Optional.of(exchanges);
    }

    @Override
    public String toString() {
        return "UrlConnectionHttpClient[" + (trust != null ? "ACME server trust" : "default trust") + "]";
    }
}
