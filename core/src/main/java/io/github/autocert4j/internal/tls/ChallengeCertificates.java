package io.github.autocert4j.internal.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;

/**
 * The TLS-ALPN-01 challenge certificates (RFC 8737) that {@link ChallengeSource} serves, first in
 * the key manager's {@link SourceChain} (before live, on-demand and default certificates), on a
 * handshake that negotiated {@link #ACME_TLS_1}. Implemented by the public {@code TlsAlpn01Responder};
 * an interface here so that the key manager does not depend on the responder that depends on it.
 */
public interface ChallengeCertificates {

    /** The ALPN protocol of a validation handshake. */
    String ACME_TLS_1 = "acme-tls/1";

    /** Key aliases of challenge certificates start with this, so a key manager can tell them apart. */
    String ALIAS_PREFIX = "acme-tls-alpn-01#";

    /**
     * The alias of the challenge certificate for a validation handshake with SNI {@code sni},
     * counted as served; null if there is none or it is not of {@code keyType}.
     *
     * @param mayBlock whether a peer's challenge may be read from the store now (else memory only)
     */
    String chooseAlias(String keyType, String sni, boolean mayBlock);

    /** The challenge certificate's key for {@code alias}, or null. */
    PrivateKey key(String alias);

    /** The challenge certificate for {@code alias}, or null. */
    X509Certificate certificate(String alias);
}
