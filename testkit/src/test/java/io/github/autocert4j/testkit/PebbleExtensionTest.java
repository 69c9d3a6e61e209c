package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import io.github.autocert4j.testkit.ExtensionFixtures.ClassFixture;
import io.github.autocert4j.testkit.ExtensionFixtures.ConfiguredClassFixture;
import io.github.autocert4j.testkit.ExtensionFixtures.MethodFixture;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;

/**
 * {@link PebbleExtension} and {@link WithPebble}: how a user's test gets a running Pebble. The outer
 * class uses the annotation itself; the lifecycle (stopped after the class, one per class with a static
 * {@code configured(...)} field, one per method with an instance field) is checked by running small fixture
 * classes through JUnit's own engine.
 */
@Timeout(120)
@WithPebble(profiles = @WithPebble.Profile(name = "short", seconds = 90), env = "PEBBLE_ALTERNATE_ROOTS=1")
class PebbleExtensionTest {
    private static PebbleServer fromBeforeAll;

    @BeforeAll
    static void injectedBeforeAllMethods(PebbleServer pebble) {
        fromBeforeAll = pebble;
    }

    @Test
    void injectsOneRunningPebbleForTheClassWithTheAnnotationsSettings(PebbleServer pebble, X509Certificate issuanceRoot)
            throws Exception {
        assertSame(fromBeforeAll, pebble, "one Pebble per class: @BeforeAll and the tests get the same one");
        String directory = directory(pebble);
        assertTrue(directory.contains("\"short\""), "the annotation's profile is offered: " + directory);
        assertEquals(PebbleServer.Flavor.LATEST, pebble.flavor());
        assertEquals(pebble.issuanceRoot(), issuanceRoot, "an X509Certificate parameter is the issuance root");
        assertEquals(issuanceRoot.getSubjectX500Principal(), issuanceRoot.getIssuerX500Principal(), "a self-signed root");
        // Pebble answers /roots/1 only when PEBBLE_ALTERNATE_ROOTS is set: the annotation's env reached the process.
        assertNotEquals(issuanceRoot, pebble.issuanceRoot(1), "an alternate root from the annotation's env");
        assertTrue(pebble.httpPort() > 0 && pebble.tlsPort() > 0 && pebble.httpPort() != pebble.tlsPort());
    }

    @Test
    void theSecondTestGetsTheSameServer(PebbleServer pebble) {
        assertSame(fromBeforeAll, pebble);
    }

    @Nested
    class NestedClasses {
        @Test
        void shareTheEnclosingClassesPebble(PebbleServer pebble) {
            assertSame(fromBeforeAll, pebble);
        }
    }

    @Test
    void stopsThePebbleAfterTheClass() throws Exception {
        ClassFixture.seen.clear();
        Events tests = EngineTestKit.engine("junit-jupiter").selectors(selectClass(ClassFixture.class)).execute().testEvents();
        tests.assertStatistics(s -> s.started(2).succeeded(2).failed(0));
        assertEquals(2, ClassFixture.seen.size());
        assertSame(ClassFixture.seen.get(0), ClassFixture.seen.get(1), "both tests of the class saw one Pebble");
        assertNotSame(fromBeforeAll, ClassFixture.seen.get(0), "another class gets its own Pebble");
        assertStopped(ClassFixture.seen.get(0));
    }

    @Test
    void aStaticConfiguredExtensionGivesTheClassOnePebbleWithTheBuildersOptions() throws Exception {
        ConfiguredClassFixture.seen.clear();
        Events tests = EngineTestKit.engine("junit-jupiter").selectors(selectClass(ConfiguredClassFixture.class)).execute()
                .testEvents();
        tests.assertStatistics(s -> s.started(2).succeeded(2).failed(0));
        List<PebbleServer> seen = ConfiguredClassFixture.seen;
        assertEquals(3, seen.size(), "@BeforeAll and both tests got a server: " + seen);
        assertSame(seen.get(0), seen.get(1), "the test methods get the @BeforeAll's server");
        assertSame(seen.get(0), seen.get(2), "one Pebble for the class");
        assertEquals(PebbleServer.Flavor.ARI, seen.get(0).flavor(), "configured() settings apply");
        assertNotSame(fromBeforeAll, seen.get(0));
        assertStopped(seen.get(0));
    }

    @Test
    void anInstanceFieldGivesEachTestMethodItsOwnPebble() throws Exception {
        MethodFixture.seen.clear();
        Events tests = EngineTestKit.engine("junit-jupiter").selectors(selectClass(MethodFixture.class)).execute().testEvents();
        tests.assertStatistics(s -> s.started(2).succeeded(2).failed(0));
        assertEquals(2, MethodFixture.seen.size());
        assertNotSame(MethodFixture.seen.get(0), MethodFixture.seen.get(1));
        for (PebbleServer p : MethodFixture.seen) {
            assertEquals(PebbleServer.Flavor.ARI, p.flavor(), "configured() settings apply");
            assertStopped(p);
        }
    }

    private static void assertStopped(PebbleServer pebble) {
        int port = pebble.directoryUri().getPort();
        boolean open;
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 500);
            open = true;
        } catch (IOException refused) {
            open = false;
        }
        assertFalse(open, "Pebble's ACME port " + port + " still accepts connections after the tests");
    }

    static String directory(PebbleServer pebble) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().sslContext(pebble.acmeServerSslContext())
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(pebble.directoryUri())
                .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }
}
