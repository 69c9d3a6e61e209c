/**
 * autocert4j core: obtains, stores, renews and hot-swaps ACME certificates for a JVM server.
 * Only {@code io.github.autocert4j} (the API and the SPIs: {@code CertStore}, {@code ChallengeSolver},
 * {@code Issuer}) is exported; the pipeline behind it lives in {@code io.github.autocert4j.internal.*}:
 * {@code assembly} (configuration and wiring), {@code renewal}, {@code acme}, {@code store},
 * {@code tls} (key material), {@code ondemand}, {@code cluster} and {@code util}.
 */
module io.github.autocert4j {
    exports io.github.autocert4j;

    requires org.shredzone.acme4j;
    requires org.bouncycastle.provider;
    requires org.bouncycastle.pkix;
    requires org.slf4j;
    requires java.management;
    requires java.naming;
    requires java.net.http;
    // optional: when present, Guava's InternetDomainName answers the public-suffix guard (internal.names.PublicSuffixes)
    requires static com.google.common;
}
