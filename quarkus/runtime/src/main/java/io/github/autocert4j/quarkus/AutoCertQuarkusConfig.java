package io.github.autocert4j.quarkus;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import io.quarkus.runtime.annotations.ConfigPhase;
import io.quarkus.runtime.annotations.ConfigRoot;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;

/**
 * The {@code quarkus.autocert4j.*} configuration, read at run time.
 *
 * <pre>
 * quarkus.autocert4j.names=example.com,www.example.com
 * quarkus.autocert4j.directory=https://acme-v02.api.letsencrypt.org/directory
 * quarkus.autocert4j.agree-to-terms-of-service=true
 * quarkus.autocert4j.email=ops@example.com
 * quarkus.autocert4j.store.directory=/var/lib/myapp/certs
 * </pre>
 */
@ConfigMapping(prefix = "quarkus.autocert4j")
@ConfigRoot(phase = ConfigPhase.RUN_TIME)
public interface AutoCertQuarkusConfig {

    /**
     * Whether autocert4j manages the HTTPS server's certificate. False: the extension does
     * nothing (the application's own TLS configuration, if any, applies).
     */
    @WithDefault("true")
    boolean enabled();

    /**
     * The names of the certificate (one certificate; the first name is its id). Optional only
     * with on-demand TLS.
     */
    Optional<List<String>> names();

    /**
     * The ACME directory URL of the CA. Without it, in dev and test mode the HTTPS server presents
     * a self-signed certificate and nothing is ordered; in prod mode the start fails.
     */
    Optional<String> directory();

    /** Contact e-mail for the CA's expiry and policy mail. */
    Optional<String> email();

    /** Whether you read and agree to the CA's terms of service (required to order). */
    @WithDefault("false")
    boolean agreeToTermsOfService();

    /** A PEM file with the CA certificates to trust for the ACME API's HTTPS (only for a private CA such as Pebble). */
    Optional<Path> trust();

    /** The ACME profile to order under (e.g. Let's Encrypt's {@code shortlived}); the CA's default if unset. */
    Optional<String> profile();

    /** The challenge types, in order of preference. */
    @WithDefault("http-01")
    List<String> challengeTypes();

    /** Where keys and certificates are kept. */
    Store store();

    /** On-demand TLS: certificates for names first seen in a handshake. */
    OnDemandConfig onDemand();

    /** The store of keys, certificates and account. */
    interface Store {
        /**
         * {@code file}, {@code postgres} (the application's default datasource; needs
         * {@code io.github.autocert4j:autocert4j-postgres} and {@code quarkus-agroal}), or
         * {@code auto}: postgres when both are present, else file.
         */
        @WithDefault("auto")
        String type();

        /** The directory of the file store. */
        @WithDefault("autocert4j")
        Path directory();
    }

    /** On-demand TLS settings. */
    interface OnDemandConfig {
        /** Whether a handshake for an unconfigured name obtains a certificate for it. */
        @WithDefault("false")
        boolean enabled();

        /**
         * The names on-demand TLS may obtain certificates for: exact names, or
         * {@code *.example.com} for any single label below example.com. Empty: none.
         */
        Optional<List<String>> allow();

        /** How long a handshake waits for a new name's certificate. */
        @WithDefault("10s")
        Duration handshakeWait();
    }
}
