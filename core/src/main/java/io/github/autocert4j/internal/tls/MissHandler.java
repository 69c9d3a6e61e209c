package io.github.autocert4j.internal.tls;

/**
 * Consulted by {@link LiveKeyManager} when a handshake names a host no live certificate covers
 * (on-demand TLS): the source it asks after challenge certificates and managed ones, before the
 * fallback. May wait (bounded) for a certificate to be loaded or obtained. Returns the entry to
 * serve, null to serve the default certificate, or {@link LiveKeyManager#NO_CERTIFICATE} to fail
 * the handshake.
 */
public interface MissHandler {
    LiveKeyManager.Entry onMiss(String host);
}
