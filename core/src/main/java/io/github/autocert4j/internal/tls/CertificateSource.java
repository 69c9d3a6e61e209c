package io.github.autocert4j.internal.tls;

/**
 * One link of the key manager's {@link SourceChain}: a place a handshake's certificate can come
 * from (TLS-ALPN-01 challenge certificates, the live certificates, on-demand TLS, the default and
 * fallback). {@link LiveKeyManager} asks the sources in order and serves the first answer.
 */
@FunctionalInterface
public interface CertificateSource {

    /**
     * The certificate for {@code handshake}: an entry to serve it, null when this source has none
     * (the next source is asked), or {@link LiveKeyManager#NO_CERTIFICATE} to fail the handshake
     * (no later source is asked).
     */
    LiveKeyManager.Entry select(Handshake handshake);

    /**
     * The entry of {@code alias} if this source handed it out and the live certificates do not hold
     * it (challenge certificates), else null. Asked when the TLS stack fetches the key and chain.
     */
    default LiveKeyManager.Entry byAlias(String alias) {
        return null;
    }
}
