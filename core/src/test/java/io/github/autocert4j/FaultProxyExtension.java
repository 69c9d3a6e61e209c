package io.github.autocert4j;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The set-up the fault tests shared as copies: a {@link FaultProxy} in front of the class's Pebble
 * ({@code @WithPebble}) and, as {@link PebbleAutoCerts} gives every Pebble test, the
 * {@link FaultProxy.ChallengeListener} on Pebble's HTTP-01 port, started once per class, closed after it,
 * and the proxy reset (no rule, upstream back to the class's Pebble) before each test. Its
 * {@link #builder()} points at the proxy.
 *
 * <pre>{@code
 * @WithPebble
 * class MyFaultTest {
 *     @RegisterExtension
 *     static final FaultProxyExtension CA = new FaultProxyExtension();
 *     // CA.build(CA.builder().certificate(...)...), CA.proxy().rule(...), CA.proxy().directoryUri()
 * }
 * }</pre>
 */
final class FaultProxyExtension extends PebbleAutoCerts implements BeforeEachCallback {
    private FaultProxy proxy;
    private Path work;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        super.beforeAll(context);
        work = Files.createTempDirectory("fault-proxy");
        proxy = new FaultProxy(pebble(), work);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        if (proxy.pebble != pebble()) {
            proxy.forwardTo(pebble());   // a test pointed the proxy at another CA
        }
        proxy.reset();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        try {
            super.afterAll(context);
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

    /** The proxy the tests point their AutoCert at. */
    FaultProxy proxy() {
        return proxy;
    }

    /** An AutoCert builder pointed at the proxy (its directory, its server trust), terms agreed. */
    @Override
    AutoCertBuilder builder() {
        return builderFor(proxy.directoryUri(), proxy.caPem());
    }
}
