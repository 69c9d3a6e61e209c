package io.github.autocert4j.internal.store;

import io.github.autocert4j.internal.renewal.StoreWatch;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.Properties;

/**
 * Renewal requests kept in the store: {@code renewals/<certificate dir>}, a small properties entry
 * that an operator's tool (the CLI's {@code renew}, {@link StoreAdmin#requestRenewal}) writes and every
 * running manager sharing the store notices (through {@link CertStore#watch} where the store can
 * watch, else by listing {@code renewals/} every few seconds; see {@link StoreWatch}).
 *
 * <pre>
 * certificate=example.com          the certificate id (its first name)
 * replaces=3fa9...                  hex serial of the certificate to replace ("" if none was stored)
 * requestedAt=2026-12-06T18:00:00Z  when it was asked for (the requester's clock; informational)
 * requestedBy=autocert4j-cli root@host
 * </pre>
 *
 * <p>A request is satisfied once the stored certificate's serial differs from {@code replaces}: the node
 * that takes the certificate's store lock first orders, the others then find the new certificate in the
 * store and adopt it, so a fleet renews once. Requests stay in the store (the next one overwrites it);
 * a node handles each request it sees once, so a failing renewal follows the usual backoff instead of
 * being retried at every look.
 */
public final class RenewalRequests {
    private RenewalRequests() {
    }

    /** A renewal request. */
    public record Request(String certificate, BigInteger replaces, Instant requestedAt, String requestedBy) {
    }

    public static String prefix() {
        return "renewals/";
    }

    public static String key(String certId) {
        return prefix() + StoreLayout.sanitize(certId);
    }

    public static byte[] encode(Request r) {
        Properties p = new Properties();
        p.setProperty("certificate", r.certificate());
        p.setProperty("replaces", r.replaces() == null ? "" : r.replaces().toString(16));
        p.setProperty("requestedAt", r.requestedAt().toString());
        p.setProperty("requestedBy", r.requestedBy() == null ? "" : r.requestedBy());
        StringWriter out = new StringWriter();
        try {
            p.store(out, "autocert4j renewal request");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The request in {@code bytes}, or empty if they are not one. */
    public static Optional<Request> decode(byte[] bytes) {
        Properties p = new Properties();
        try {
            p.load(new StringReader(new String(bytes, StandardCharsets.UTF_8)));
            String cert = p.getProperty("certificate", "").trim();
            if (cert.isEmpty()) {
                return Optional.empty();
            }
            String replaces = p.getProperty("replaces", "").trim();
            String at = p.getProperty("requestedAt", "").trim();
            return Optional.of(new Request(cert, replaces.isEmpty() ? null : new BigInteger(replaces, 16),
                    at.isEmpty() ? null : Instant.parse(at), p.getProperty("requestedBy", "").trim()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
