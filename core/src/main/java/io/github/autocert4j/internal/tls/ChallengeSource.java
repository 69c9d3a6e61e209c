package io.github.autocert4j.internal.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;

/**
 * The first source of the chain: a handshake that negotiated {@link ChallengeCertificates#ACME_TLS_1}
 * (a TLS-ALPN-01 validation) gets the pending challenge certificate for its SNI, or no certificate
 * at all; every other handshake is left to the next source.
 */
public final class ChallengeSource implements CertificateSource {
    private final ChallengeCertificates certificates;

    public ChallengeSource(ChallengeCertificates certificates) {
        this.certificates = certificates;
    }

    @Override
    public LiveKeyManager.Entry select(Handshake handshake) {
        if (!ChallengeCertificates.ACME_TLS_1.equals(handshake.applicationProtocol())) {
            return null;
        }
        // A peer's challenge may be read from the store now: a JSSE handshake runs on a thread that may wait.
        String alias = certificates.chooseAlias(handshake.keyType(), handshake.sni(), true);
        LiveKeyManager.Entry e = alias == null ? null : byAlias(alias);
        return e == null ? LiveKeyManager.NO_CERTIFICATE : e;
    }

    @Override
    public LiveKeyManager.Entry byAlias(String alias) {
        if (alias == null || !alias.startsWith(ChallengeCertificates.ALIAS_PREFIX)) {
            return null;
        }
        PrivateKey key = certificates.key(alias);
        X509Certificate cert = certificates.certificate(alias);
        return key == null || cert == null ? null : new LiveKeyManager.Entry(alias, "", key, new X509Certificate[] {cert});
    }

    @Override
    public String toString() {
        return "ChallengeSource[tls-alpn-01]";
    }
}
