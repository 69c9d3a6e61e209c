package io.github.autocert4j.quarkus.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * One Pebble for the test classes that use this resource, passed to the application through
 * {@code quarkus.autocert4j.directory} and {@code .trust}; Quarkus' plain-HTTP test port is
 * Pebble's validation port, and {@code quarkus.http.insecure-requests=redirect} is on, so
 * every issuance also proves the challenge path precedes the redirect. Fields annotated
 * {@link InjectPebble} get the server.
 */
public class PebbleResource implements QuarkusTestResourceLifecycleManager {
    /** The host name the tests' certificate is for (Pebble's DNS answers 127.0.0.1). */
    public static final String NAME = "quarkus.autocert4j.test";

    /** Marks a {@link PebbleServer} field of a test class that gets the running Pebble. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.FIELD)
    public @interface InjectPebble {
    }

    private PebbleServer pebble;
    private Path store;
    private int httpsPort;

    @Override
    public Map<String, String> start() {
        // three distinct ports picked at once (the app's plain port = Pebble's validation port, TLS-ALPN, the app's HTTPS port):
        // consecutive single picks can return the same port, and Quarkus then refused "Both http and https servers started on port"
        int[] ports = FreePorts.loopback(3);
        httpsPort = ports[2];
        pebble = pebble(PebbleServer.builder().httpPort(ports[0]).tlsPort(ports[1])).start();
        try {
            store = Files.createTempDirectory("autocert4j-quarkus-store");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, String> config = new HashMap<>();
        config.put("quarkus.autocert4j.directory", pebble.directoryUri().toString());
        config.put("quarkus.autocert4j.trust", pebble.acmeServerCaPem().toString());
        config.put("quarkus.autocert4j.agree-to-terms-of-service", "true");
        config.put("quarkus.autocert4j.names", NAME);
        config.put("quarkus.autocert4j.store.directory", store.toString());
        config.put("quarkus.http.host", "127.0.0.1");
        config.put("quarkus.http.test-port", String.valueOf(pebble.httpPort()));
        config.put("quarkus.http.test-ssl-port", String.valueOf(httpsPort));
        // the redirect in the test profile only, as applications set it (%prod.): the extension must see the profile's value
        config.put("quarkus.http.insecure-requests", "enabled");
        config.put("%test.quarkus.http.insecure-requests", "redirect");
        // set explicitly: a value another test class's resource gave must not carry over
        config.put("quarkus.autocert4j.profile", "default");
        config.put("quarkus.autocert4j.on-demand.enabled", "false");
        config.putAll(more(pebble, store));
        return config;
    }

    /** A subclass's changes to the Pebble about to start. */
    protected PebbleServer.Builder pebble(PebbleServer.Builder builder) {
        return builder;
    }

    /** Extra configuration of a subclass (called after Pebble started). */
    protected Map<String, String> more(PebbleServer pebble, Path store) {
        return Map.of();
    }

    @Override
    public void inject(TestInjector testInjector) {
        testInjector.injectIntoFields(pebble, new TestInjector.AnnotatedAndMatchesType(InjectPebble.class, PebbleServer.class));
    }

    @Override
    public void stop() {
        if (pebble != null) {
            pebble.close();
        }
        if (store != null) {
            try (Stream<Path> files = Files.walk(store)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
