package io.github.autocert4j.quarkus;

import java.util.function.Function;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;

import io.github.autocert4j.AutoCert;
import io.vertx.core.Vertx;
import io.vertx.core.net.KeyCertOptions;

/**
 * Vert.x 4 key material handing out {@link AutoCert#keyManager()}, which picks the current
 * certificate by SNI at each handshake: a renewal reaches the next connection with no reload.
 * The per-name mappers answer null, so Vert.x keeps its one context (no per-name cache).
 */
final class LiveKeyCertOptions implements KeyCertOptions {
    private final AutoCert autoCert;
    private final KeyManagerFactory factory;

    LiveKeyCertOptions(AutoCert autoCert) {
        this.autoCert = autoCert;
        this.factory = autoCert.keyManagerFactory();
    }

    @Override
    public KeyCertOptions copy() {
        return this;
    }

    @Override
    public KeyManagerFactory getKeyManagerFactory(Vertx vertx) {
        return factory;
    }

    @Override
    public Function<String, X509KeyManager> keyManagerMapper(Vertx vertx) {
        return serverName -> null;
    }

    @Override
    public Function<String, KeyManagerFactory> keyManagerFactoryMapper(Vertx vertx) {
        return serverName -> null;
    }

    @Override
    public String toString() {
        return "autocert4j live key material[" + autoCert + "]";
    }
}
