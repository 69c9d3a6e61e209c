package io.github.autocert4j.benchmarks;

import java.security.KeyStore;
import java.security.Principal;
import java.security.cert.X509Certificate;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

import io.github.autocert4j.AutoCert;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.SimpleKeyManagerFactory;

/**
 * Proves that handshakes spanned a swap: wraps the public {@code autoCert.keyManager()}, remembers
 * the alias chosen for each server engine when the certificate is selected, and at handshake
 * completion compares it with {@code autoCert.servedCertificate(name).alias()}. A difference means
 * a swap happened between selection and completion (and the handshake still completed with the
 * pair it chose). The context is built exactly like {@code AutoCertSsl.contextBuilder} builds it
 * (OpenSSL: Netty's caching key manager factory), only with the wrapper in between.
 *
 * <pre>{@code
 * SpanRecorder spans = new SpanRecorder(autoCert, "app.bench.test");
 * SslContext ctx = spans.serverContext(SslProvider.OPENSSL);
 * new TlsServer(ch -> ctx.newHandler(ch.alloc()), boss, workers, spans::completed);
 * ... spans.spanning() ...
 * }</pre>
 */
final class SpanRecorder extends ServerKeyManagerWrapper {
    private final AutoCert autoCert;
    private final String name;
    private final ConcurrentHashMap<SSLEngine, String> selected = new ConcurrentHashMap<>();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong spanning = new AtomicLong();
    private final AtomicLong unmatched = new AtomicLong();

    SpanRecorder(AutoCert autoCert, String name) {
        super(autoCert.keyManager());
        this.autoCert = autoCert;
        this.name = name;
    }

    SslContext serverContext(SslProvider provider) throws javax.net.ssl.SSLException {
        KeyManager[] managers = {this};
        KeyManagerFactory factory = new SimpleKeyManagerFactory() {
            @Override
            protected void engineInit(KeyStore keyStore, char[] password) {
            }

            @Override
            protected void engineInit(ManagerFactoryParameters params) {
            }

            @Override
            protected KeyManager[] engineGetKeyManagers() {
                return managers.clone();
            }
        };
        if (provider == SslProvider.OPENSSL) {
            factory = new OpenSslCachingX509KeyManagerFactory(factory, Math.max(1024, 2 * autoCert.status().size() + 16));
        }
        return SslContextBuilder.forServer(factory).sslProvider(provider).build();
    }

    /** Called on the event loop when a server handshake completed. */
    void completed(SSLEngine engine) {
        completed.incrementAndGet();
        String chosen = selected.remove(engine);
        if (chosen == null) {
            unmatched.incrementAndGet();
            return;
        }
        if (!chosen.equals(autoCert.servedCertificate(name).alias())) {
            spanning.incrementAndGet();
        }
    }

    long completed() {
        return completed.get();
    }

    /** Handshakes whose certificate was selected before a swap and that completed after it. */
    long spanning() {
        return spanning.get();
    }

    /** Completed handshakes whose selection was not seen (should be 0; reported). */
    long unmatched() {
        return unmatched.get();
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        String alias = delegate.chooseEngineServerAlias(keyType, issuers, engine);
        if (alias != null && engine != null) {
            selected.put(engine, alias);
        }
        return alias;
    }
}
