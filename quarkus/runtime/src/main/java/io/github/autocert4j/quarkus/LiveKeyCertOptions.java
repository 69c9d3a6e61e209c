package io.github.autocert4j.quarkus;

import java.security.KeyStore;
import java.security.Provider;
import java.util.function.Function;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;
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
    private static final Provider PROVIDER = new Provider("autocert4j", "1.0", "autocert4j live key manager") {
        private static final long serialVersionUID = 1L;
    };
    private final AutoCert autoCert;
    private final KeyManagerFactory factory;

    LiveKeyCertOptions(AutoCert autoCert) {
        this.autoCert = autoCert;
        this.factory = new KeyManagerFactory(new Spi(autoCert), PROVIDER, "autocert4j") {
        };
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

    private static final class Spi extends KeyManagerFactorySpi {
        private final AutoCert autoCert;

        Spi(AutoCert autoCert) {
            this.autoCert = autoCert;
        }

        @Override
        protected void engineInit(KeyStore keyStore, char[] password) {
            // the key material lives in the AutoCert
        }

        @Override
        protected void engineInit(ManagerFactoryParameters params) {
            // the key material lives in the AutoCert
        }

        @Override
        protected KeyManager[] engineGetKeyManagers() {
            return new KeyManager[] {autoCert.keyManager()};
        }
    }
}
