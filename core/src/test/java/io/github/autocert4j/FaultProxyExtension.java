package io.github.autocert4j;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import io.github.autocert4j.testkit.PebbleExtension;
import io.github.autocert4j.testkit.PebbleServer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The set-up the fault tests shared as copies: a {@link FaultProxy} in front of the class's Pebble
 * ({@code @WithPebble}) and the {@link FaultProxy.ChallengeListener} on Pebble's HTTP-01 port, started
 * once per class, closed after it, and the proxy reset (no rule, upstream back to the class's
 * Pebble) before each test.
 *
 * <pre>{@code
 * @WithPebble
 * class MyFaultTest {
 *     @RegisterExtension
 *     static final FaultProxyExtension CA = new FaultProxyExtension();
 *     // CA.proxy().rule(...), CA.proxy().directoryUri(), CA.challenges().responder = ...
 * }
 * }</pre>
 */
final class FaultProxyExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback {
    private PebbleServer pebble;
    private FaultProxy proxy;
    private FaultProxy.ChallengeListener challenges;
    private Path work;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        pebble = PebbleExtension.server(context).orElseThrow(() -> new IllegalStateException(
                "FaultProxyExtension found no Pebble. Fix: annotate " + context.getDisplayName() + " with @WithPebble"));
        work = Files.createTempDirectory("fault-proxy");
        challenges = new FaultProxy.ChallengeListener(pebble.httpPort());
        proxy = new FaultProxy(pebble, work);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (proxy.pebble != pebble) {
            proxy.forwardTo(pebble);   // a test pointed the proxy at another CA
        }
        proxy.reset();
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        try {
            if (challenges != null) {
                challenges.close();
            }
            if (proxy != null) {
                proxy.close();
            }
        } finally {
            if (work != null) {
                try (Stream<Path> files = Files.walk(work)) {
                    for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    /** The class's Pebble, behind the proxy. */
    PebbleServer pebble() {
        return pebble;
    }

    /** The proxy the tests point their AutoCert at. */
    FaultProxy proxy() {
        return proxy;
    }

    /** The listener on Pebble's HTTP-01 port; set its {@code responder} to the AutoCert under test's. */
    FaultProxy.ChallengeListener challenges() {
        return challenges;
    }
}
