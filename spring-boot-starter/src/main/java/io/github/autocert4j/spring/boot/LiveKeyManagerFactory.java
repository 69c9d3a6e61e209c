package io.github.autocert4j.spring.boot;

import java.security.KeyStore;
import java.security.Provider;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;

import io.github.autocert4j.AutoCert;

/**
 * A {@link KeyManagerFactory} handing out the AutoCert's live key manager, for TLS stacks that take a
 * factory (Reactor Netty's {@code SslContextBuilder.forServer(KeyManagerFactory)}). Plain JDK, so it
 * works with both Netty lines (4.1 under Boot 3.5, 4.2 under Boot 4.0).
 */
final class LiveKeyManagerFactory extends KeyManagerFactory {
    private static final Provider PROVIDER = new Provider("autocert4j", "1.0", "autocert4j live key manager") {
        private static final long serialVersionUID = 1L;
    };

    LiveKeyManagerFactory(AutoCert autoCert) {
        super(new Spi(autoCert), PROVIDER, "autocert4j");
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
