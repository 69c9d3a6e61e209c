package io.github.autocert4j.testkit;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * JUnit 5 extension that gives tests a running, real Pebble ACME server ({@link PebbleServer}) on
 * loopback, and stops it afterwards.
 *
 * <ul>
 *   <li>Registered on the class ({@link WithPebble @WithPebble}, {@code @ExtendWith(PebbleExtension.class)}
 *       or a {@code static} {@code @RegisterExtension} field): one Pebble per test class, started
 *       before {@code @BeforeAll} methods, stopped after the class; {@code @Nested} classes share it.</li>
 *   <li>Registered through an instance {@code @RegisterExtension} field: one Pebble per test method.</li>
 *   <li>Parameters of type {@link PebbleServer} (constructor, lifecycle and test methods) get the
 *       server; parameters of type {@link X509Certificate} get its {@linkplain PebbleServer#issuanceRoot()
 *       issuance root}, the only root a client should trust when checking what your server serves.</li>
 *   <li>Settings come from {@link WithPebble} on the test class, else from {@link #configured}, else
 *       the defaults: {@link PebbleServer.Flavor#LATEST}, free loopback ports for http-01 and tls-alpn-01.</li>
 * </ul>
 *
 * <p>The Pebble binaries must be installed ({@code scripts/get-pebble.sh}); if they are missing,
 * the tests fail with the command to run, they are never skipped.
 *
 * <pre>{@code
 * class RenewalTest {
 *     @RegisterExtension
 *     static final PebbleExtension PEBBLE = PebbleExtension.configured(pebble -> pebble
 *             .flavor(PebbleServer.Flavor.ARI)
 *             .env("PEBBLE_WFE_NONCEREJECT", "30"));
 *
 *     @BeforeAll
 *     static void startServer(PebbleServer pebble) {
 *         server = MyServer.start(pebble.directoryUri(), pebble.acmeServerCaPem(), pebble.httpPort());
 *     }
 * }
 * }</pre>
 */
public final class PebbleExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback,
        ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(PebbleExtension.class);
    private static final String SERVER = "server";
    private static final String OWNED = "owned";

    private final Consumer<PebbleServer.Builder> configuration;

    /** An extension configured by {@link WithPebble} on the test class, or with the defaults. */
    public PebbleExtension() {
        this.configuration = null;
    }

    private PebbleExtension(Consumer<PebbleServer.Builder> configuration) {
        this.configuration = configuration;
    }

    /**
     * An extension for {@code @RegisterExtension} whose Pebble is set up by {@code configuration}
     * on a builder that already has free loopback ports for http-01 and tls-alpn-01.
     *
     * <pre>{@code
     * @RegisterExtension
     * static final PebbleExtension PEBBLE = PebbleExtension.configured(b -> b.profile("short", Duration.ofMinutes(2)));
     * }</pre>
     */
    public static PebbleExtension configured(Consumer<PebbleServer.Builder> configuration) {
        return new PebbleExtension(Objects.requireNonNull(configuration, "configuration"));
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        startUnlessRunning(context);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        stopIfOwned(context);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        // Registered on an instance field there was no beforeAll: one Pebble for this test method.
        startUnlessRunning(context);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        stopIfOwned(context);
    }

    /**
     * The Pebble this extension runs for {@code context} (its own, or an enclosing class's), for other
     * extensions that build on it, e.g. a proxy in front of the CA started in their {@code beforeAll};
     * empty before the extension has started one. Register such an extension after this one (a
     * {@code @RegisterExtension} field of a {@code @WithPebble} class is), so its callbacks run after.
     */
    public static Optional<PebbleServer> server(ExtensionContext context) {
        return Optional.ofNullable(context.getStore(NAMESPACE).get(SERVER, PebbleServer.class));
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == PebbleServer.class || type == X509Certificate.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        PebbleServer server = context.getStore(NAMESPACE).get(SERVER, PebbleServer.class);
        if (server == null) {
            // e.g. a constructor parameter with the extension on an instance field: no server exists yet
            server = startUnlessRunning(context);
        }
        return parameter.getParameter().getType() == PebbleServer.class ? server : server.issuanceRoot();
    }

    /** The running server visible from {@code context} (its own or an enclosing class's), started if there is none. */
    private PebbleServer startUnlessRunning(ExtensionContext context) {
        ExtensionContext.Store store = context.getStore(NAMESPACE);
        PebbleServer running = store.get(SERVER, PebbleServer.class);
        if (running != null) {
            return running;
        }
        PebbleServer.Builder builder = PebbleServer.builder().httpPort(FreePorts.loopback()).tlsPort(FreePorts.loopback());
        Optional<WithPebble> annotation = context.getTestClass()
                .flatMap(c -> AnnotationSupport.findAnnotation(c, WithPebble.class));
        if (configuration != null) {
            configuration.accept(builder);
        } else {
            annotation.ifPresent(a -> apply(a, builder));
        }
        PebbleServer server = builder.start(); // a missing Pebble fails here, saying how to get it
        store.put(SERVER, server);
        store.put(OWNED, Boolean.TRUE);
        return server;
    }

    private static void stopIfOwned(ExtensionContext context) {
        ExtensionContext.Store store = context.getStore(NAMESPACE);
        if (store.remove(OWNED) != null) {
            PebbleServer server = store.remove(SERVER, PebbleServer.class);
            if (server != null) {
                server.close();
            }
        }
    }

    private static void apply(WithPebble a, PebbleServer.Builder builder) {
        builder.flavor(a.flavor());
        if (a.httpPort() != 0) {
            builder.httpPort(a.httpPort());
        }
        if (a.tlsPort() != 0) {
            builder.tlsPort(a.tlsPort());
        }
        for (WithPebble.Profile p : a.profiles()) {
            builder.profile(p.name(), Duration.ofSeconds(p.seconds()));
        }
        for (String kv : a.env()) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("@WithPebble(env = \"" + kv + "\"): use \"KEY=VALUE\", e.g. \"PEBBLE_CHAIN_LENGTH=2\"");
            }
            builder.env(kv.substring(0, eq), kv.substring(eq + 1));
        }
    }

    @Override
    public String toString() {
        return "PebbleExtension";
    }
}
