package io.github.autocert4j.internal.tls;

import java.security.KeyStore;
import java.security.Provider;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A {@link KeyManagerFactory} that hands out one live key manager, for TLS stacks that take a
 * factory rather than a key manager (Reactor Netty, Vert.x, Quarkus). {@code init} does nothing:
 * the key material lives in the key manager. The one copy of what three adapters each wrote.
 */
public final class LiveKeyManagerFactory extends KeyManagerFactory {
    private static final Provider PROVIDER = new Provider("autocert4j", "1.0", "autocert4j live key manager") {
        private static final long serialVersionUID = 1L;
    };

    public LiveKeyManagerFactory(X509ExtendedKeyManager keyManager) {
        super(new Spi(keyManager), PROVIDER, "autocert4j");
    }

    private static final class Spi extends KeyManagerFactorySpi {
        private final X509ExtendedKeyManager keyManager;

        Spi(X509ExtendedKeyManager keyManager) {
            this.keyManager = keyManager;
        }

        @Override
        protected void engineInit(KeyStore keyStore, char[] password) {
            // the key material lives in the key manager
        }

        @Override
        protected void engineInit(ManagerFactoryParameters params) {
            // the key material lives in the key manager
        }

        @Override
        protected KeyManager[] engineGetKeyManagers() {
            return new KeyManager[] {keyManager};
        }
    }
}
