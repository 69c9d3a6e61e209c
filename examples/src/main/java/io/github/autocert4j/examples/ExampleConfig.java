package io.github.autocert4j.examples;

import java.math.BigInteger;
import java.net.URI;
import java.nio.file.Path;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;

/**
 * Settings shared by the Netty, Jetty and Tomcat examples, read from a system property or else an
 * environment variable:
 * <pre>
 * acme.directory  ACME_DIRECTORY   ACME directory URL (required)
 * acme.trust      ACME_TRUST       PEM file to trust for the ACME API (private CAs such as Pebble)
 * names           NAMES            comma-separated names of the certificate (default app.autocert4j.test)
 * http.port       HTTP_PORT        plain-HTTP port (default 80)
 * https.port      HTTPS_PORT       HTTPS port (default 443)
 * bind            BIND             address to bind (default 127.0.0.1)
 * store           STORE            store directory (default ./autocert4j-store)
 * profile         PROFILE          ACME profile (optional)
 * email           EMAIL            contact e-mail (optional)
 * </pre>
 *
 * <pre>{@code
 * ExampleConfig config = ExampleConfig.fromEnvironment();
 * AutoCert autoCert = config.buildAutoCert();
 * }</pre>
 */
public record ExampleConfig(String directory, Path trust, List<String> names, int httpPort, int httpsPort, String bind,
                            Path store, String profile, String email) {

    /** Reads every setting; fails with the property to set when the directory is missing. */
    public static ExampleConfig fromEnvironment() {
        String directory = setting("acme.directory", "ACME_DIRECTORY", null);
        if (directory == null) {
            throw new IllegalArgumentException("set -Dacme.directory=<ACME directory URL> (or ACME_DIRECTORY), e.g. "
                    + AutoCert.LETS_ENCRYPT_STAGING);
        }
        String trust = setting("acme.trust", "ACME_TRUST", null);
        return new ExampleConfig(directory, trust == null ? null : Path.of(trust),
                Arrays.stream(setting("names", "NAMES", "app.autocert4j.test").split(",")).map(String::trim).toList(),
                Integer.parseInt(setting("http.port", "HTTP_PORT", "80")),
                Integer.parseInt(setting("https.port", "HTTPS_PORT", "443")),
                setting("bind", "BIND", "127.0.0.1"),
                Path.of(setting("store", "STORE", "autocert4j-store")),
                setting("profile", "PROFILE", null),
                setting("email", "EMAIL", null));
    }

    static String setting(String property, String env, String fallback) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            v = System.getenv(env);
        }
        return v == null || v.isBlank() ? fallback : v;
    }

    /** The certificate manager for these settings, printing a line each time a certificate goes live. */
    public AutoCert buildAutoCert() {
        AutoCertBuilder builder = AutoCert.builder()
                .directory(URI.create(directory))
                .agreeToTermsOfService(true)
                .certificate(names.toArray(String[]::new))
                .storageDirectory(store)
                .listener(ExampleConfig::printEvent);
        if (trust != null) {
            builder.acmeServerTrust(trust);
        }
        if (profile != null) {
            builder.profile(profile);
        }
        if (email != null) {
            builder.email(email);
        }
        return builder.build();
    }

    /**
     * Prints where to connect, in the lines the demo promises, once the first name's certificate is
     * live (served to clients, not the self-signed fallback), so that a client following the URL at
     * once gets a trusted certificate. Waits on a daemon thread, at most an hour (then prints nothing:
     * the {@code certificate-error:} lines say why).
     */
    void printEndpoints(AutoCert autoCert, int boundHttpsPort) {
        String name = names.get(0);
        Thread announcer = new Thread(() -> {
            long deadline = System.nanoTime() + TimeUnit.HOURS.toNanos(1);
            try {
                while (!live(autoCert, name)) {
                    if (System.nanoTime() > deadline) {
                        return;
                    }
                    Thread.sleep(20);
                }
            } catch (InterruptedException e) {
                return;
            }
            System.out.println("https-url: https://" + name + ":" + boundHttpsPort + "/");
            System.out.println("connect-to: " + bind + ":" + boundHttpsPort);
            System.out.flush();
        }, "example-endpoints");
        announcer.setDaemon(true);
        announcer.start();
    }

    /** Whether handshakes for {@code name} get its issued certificate now (not the fallback). */
    static boolean live(AutoCert autoCert, String name) {
        BigInteger serial = autoCert.status(name).map(CertificateStatus::serial).orElse(null);
        return serial != null && serial.equals(autoCert.servedCertificate(name).chain().get(0).getSerialNumber());
    }

    static void printEvent(CertEvent event) {
        if (event instanceof CertEvent.Issued i) {
            System.out.println("certificate: serial=" + i.serial().toString(16) + " notAfter=" + DateTimeFormatter.ISO_INSTANT.format(i.notAfter()));
        } else if (event instanceof CertEvent.Loaded l) {
            System.out.println("certificate: serial=" + l.serial().toString(16) + " notAfter=" + DateTimeFormatter.ISO_INSTANT.format(l.notAfter()));
        } else if (event instanceof CertEvent.Failed f) {
            System.out.println("certificate-error: " + f.error());
        }
        System.out.flush();
    }
}
