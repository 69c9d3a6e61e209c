package io.github.autocert4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.RuntimeMBeanException;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AutoCert#registerMBean(String, AcmeCa)} through the platform MBeanServer, as JConsole or jmxterm see it
 * (open types only): the status per certificate, {@code renewNow} renewing at real Pebble, {@code dryRun} against
 * Pebble, an unknown name refused, a second bean of the same name refused, and unregistration at close.
 */
@WithPebble
class JmxMBeanTest {
    static final String NAME = "jmx.cli.autocert4j.test";
    static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path work;

    @Test
    void statusRenewNowAndDryRunThroughThePlatformMBeanServer(PebbleServer pebble) throws Exception {
        MBeanServer mbs = ManagementFactory.getPlatformMBeanServer();
        ObjectName on;
        try (CliTestSupport.Http01Listener http = new CliTestSupport.Http01Listener(pebble.httpPort());
             AutoCert server = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                     .agreeToTermsOfService(true).certificate(NAME).storageDirectory(work).build()) {
            http.responder = server.http01();
            server.start();
            on = server.registerMBean("jmx-test", AcmeCa.of(pebble.directoryUri()).withServerTrust(pebble.acmeServerCaPem()));
            assertEquals(new ObjectName("io.github.autocert4j:type=AutoCert,name=\"jmx-test\""), on);
            assertTrue(mbs.isRegistered(on));
            assertTrue(CliTestSupport.await(T, () -> server.status(NAME).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false)));

            assertEquals(List.of(NAME), Arrays.asList((String[]) mbs.getAttribute(on, "Certificates")));
            assertEquals(0, mbs.getAttribute(on, "NotValidCount"));
            CertificateStatus st = server.status(NAME).orElseThrow();
            String line = (String) ((CompositeData) ((TabularData) mbs.getAttribute(on, "Status")).get(new Object[] {NAME})).get("value");
            assertTrue(line.startsWith("VALID serial=" + st.serialHex()), line);
            assertTrue(line.contains("notAfter=" + st.notAfter()), line);
            String one = (String) mbs.invoke(on, "status", new Object[] {NAME}, new String[] {String.class.getName()});
            assertTrue(one.startsWith("VALID serial=" + st.serialHex()), one);
            RuntimeMBeanException unknown = assertThrows(RuntimeMBeanException.class,
                    () -> mbs.invoke(on, "status", new Object[] {"nope.example"}, new String[] {String.class.getName()}));
            assertTrue(unknown.getCause().getMessage().contains("nope.example"), unknown.getCause().getMessage());

            BigInteger old = st.serial();
            String started = (String) mbs.invoke(on, "renewNow", new Object[] {NAME}, new String[] {String.class.getName()});
            assertTrue(started.contains("started"), started);
            assertTrue(CliTestSupport.await(T, () -> !server.status(NAME).orElseThrow().serial().equals(old)), server.status().toString());
            assertNotEquals(old, server.status(NAME).orElseThrow().serial());

            String dry = (String) mbs.invoke(on, "dryRun", new Object[0], new String[0]);
            assertTrue(dry.startsWith("dry run succeeded at " + pebble.directoryUri()), dry + "\n" + pebble.logTail(20));

            assertThrows(IllegalStateException.class, () -> server.registerMBean("jmx-test", AcmeCa.of(pebble.directoryUri())),
                    "one name, one manager");
        }
        assertFalse(mbs.isRegistered(on), "close() unregisters the bean");
    }
}
