package io.github.autocert4j;

import java.util.List;
import java.util.Map;

/**
 * The JMX management interface of one {@link AutoCert} (registered by {@link AutoCert#registerMBean()} as
 * {@code io.github.autocert4j:type=AutoCert,name=<name>}): the certificates' status, a forced renewal and a
 * dry run, for servers without Spring Boot's Actuator (plain Netty, Jetty, Tomcat). Everything is plain
 * strings, so JConsole, VisualVM, {@code jmxterm} or a Jolokia agent show it without autocert4j's classes.
 */
public interface AutoCertMXBean {

    /** The certificate ids (first names), configured first, then on-demand ones in memory. */
    List<String> getCertificates();

    /**
     * One line per certificate, by id: state, serial, issuer, notAfter, days left, next check, failures and
     * the last error (never key material).
     */
    Map<String, String> getStatus();

    /** How many certificates are not VALID (pending, failed, expired; not counting NOT_LOADED ones of lazy loading): alert when above 0 for long. */
    int getNotValidCount();

    /** The status line of the certificate covering {@code name}. */
    String status(String name);

    /**
     * Starts a forced renewal of the certificate covering {@code name} (like {@link AutoCert#renewNow}) and
     * returns at once; follow it with {@link #status}.
     */
    String renewNow(String name);

    /**
     * Runs a dry run ({@link AutoCert#dryRun(AcmeCa)}) against the test CA given at registration (Let's
     * Encrypt staging by default), waits for it (at most 10 minutes) and returns one line per certificate.
     */
    String dryRun();
}
