package io.github.autocert4j;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The certificate a handshake for some server name gets right now: what the key manager would
 * choose. For TLS stacks that want to build their own per-certificate contexts (for example a Netty
 * {@code SniHandler} with one static OpenSSL context per certificate) and cache them by
 * {@link #alias()}: a renewal always yields a new alias.
 *
 * <pre>{@code
 * ServedCertificate c = autoCert.servedCertificate("example.com");
 * SslContext ctx = cache.computeIfAbsent(c.alias(), a -> SslContextBuilder.forServer(c.privateKey(), c.chain()).build());
 * }</pre>
 *
 * <p>Add {@code .trustManager(NoClientCertificates.factory())} to such a context that asks for no client
 * certificate ({@link NoClientCertificates}): Netty's default trust copies the JDK's whole trust store into every OpenSSL
 * context.
 */
public final class ServedCertificate {
    private final String alias;
    private final PrivateKey privateKey;
    private final List<X509Certificate> chain;

    ServedCertificate(String alias, PrivateKey privateKey, List<X509Certificate> chain) {
        this.alias = alias;
        this.privateKey = privateKey;
        this.chain = chain;
    }

    /** Identifies this certificate generation; changes with every swap. */
    public String alias() {
        return alias;
    }

    /** The private key. Never log it. */
    public PrivateKey privateKey() {
        return privateKey;
    }

    /** Leaf first, then intermediates. */
    public List<X509Certificate> chain() {
        return chain;
    }

    /** Never includes the key. */
    @Override
    public String toString() {
        return "ServedCertificate[" + alias + ", serial=" + chain.get(0).getSerialNumber().toString(16) + "]";
    }
}
