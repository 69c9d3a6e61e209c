package io.github.autocert4j.benchmarks;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A server-side key manager that passes every call on to {@code delegate}, for the benchmarks that watch the live key
 * manager's choice ({@link SpanRecorder}, {@link KeyManagerCost}) by overriding {@code chooseEngineServerAlias}. It
 * never authenticates as a TLS client.
 *
 * <pre>{@code
 * X509ExtendedKeyManager seen = new ServerKeyManagerWrapper(autoCert.keyManager()) {
 *     public String chooseEngineServerAlias(String type, Principal[] issuers, SSLEngine engine) { ...; return super... }
 * };
 * }</pre>
 */
abstract class ServerKeyManagerWrapper extends X509ExtendedKeyManager {
    final X509ExtendedKeyManager delegate;

    ServerKeyManagerWrapper(X509ExtendedKeyManager delegate) {
        this.delegate = delegate;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return delegate.chooseEngineServerAlias(keyType, issuers, engine);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return delegate.chooseServerAlias(keyType, issuers, socket);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return delegate.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return delegate.getPrivateKey(alias);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return delegate.getServerAliases(keyType, issuers);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return null;
    }
}
