package io.github.autocert4j.spring.boot;

import java.time.Instant;
import java.util.List;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;

/**
 * The Actuator endpoint {@code autocert4j}: every managed certificate's status, the JVM's
 * {@code certbot certificates}. Expose it with
 * {@code management.endpoints.web.exposure.include=health,autocert4j}; then
 * {@code GET /actuator/autocert4j} lists all certificates and {@code GET /actuator/autocert4j/{name}}
 * the one covering {@code name} (404 if none does).
 *
 * <pre>{@code
 * {"certificates":[{"certificate":"example.com","names":["example.com","www.example.com"],"state":"VALID",
 *   "serial":"3a9f...","issuer":"CN=R11,O=Let's Encrypt,C=US","notBefore":"2026-01-01T10:00:00Z",
 *   "notAfter":"2026-04-01T10:00:00Z","profile":null,"lastAttempt":"2026-01-01T10:00:00Z",
 *   "lastError":null,"consecutiveFailures":0,"nextCheck":"2026-01-01T21:48:00Z"}]}
 * }</pre>
 */
@Endpoint(id = "autocert4j")
public class AutoCertEndpoint {
    private final AutoCert autoCert;

    /** An endpoint reporting on {@code autoCert}. */
    public AutoCertEndpoint(AutoCert autoCert) {
        this.autoCert = autoCert;
    }

    /** Every managed certificate, in configuration order. */
    @ReadOperation
    public Certificates certificates() {
        return new Certificates(autoCert.status().stream().map(Certificate::of).toList());
    }

    /** The certificate covering {@code name}, or null (404) if none does. */
    @ReadOperation
    public Certificate certificate(@Selector String name) {
        return autoCert.status(name).map(Certificate::of).orElse(null);
    }

    /**
     * The endpoint's answer.
     *
     * @param certificates one entry per managed certificate
     */
    public record Certificates(List<Certificate> certificates) {
    }

    /**
     * One certificate's status, with times as ISO-8601 and the serial in hex (as {@code openssl} shows it).
     *
     * @param certificate the id (first name)
     * @param names every name it covers
     * @param state PENDING, VALID, EXPIRED or FAILED
     * @param serial serial of the live certificate (hex), null while none was obtained
     * @param issuer issuer DN of the live certificate
     * @param notBefore start of validity
     * @param notAfter end of validity
     * @param profile ACME profile it was issued under
     * @param lastAttempt when the last order started
     * @param lastError the last failure, cleared by a success
     * @param consecutiveFailures failures in a row
     * @param nextCheck when the next check or retry runs
     */
    public record Certificate(String certificate, List<String> names, String state, String serial, String issuer,
                              String notBefore, String notAfter, String profile, String lastAttempt, String lastError,
                              int consecutiveFailures, String nextCheck) {

        static Certificate of(CertificateStatus s) {
            return new Certificate(s.certificate(), s.names(), s.state().name(), s.serial() == null ? null : s.serial().toString(16),
                    s.issuer(), iso(s.notBefore()), iso(s.notAfter()), s.profile(), iso(s.lastAttempt()), s.lastError(),
                    s.consecutiveFailures(), iso(s.nextCheck()));
        }

        private static String iso(Instant t) {
            return t == null ? null : t.toString();
        }
    }
}
