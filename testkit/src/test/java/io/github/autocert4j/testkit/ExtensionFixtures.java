package io.github.autocert4j.testkit;

import static io.github.autocert4j.testkit.PebbleExtensionTest.directory;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Test classes that {@link PebbleExtensionTest} runs through JUnit's own engine (EngineTestKit) to
 * watch the extension's lifecycle from outside. Named so that surefire never runs them directly.
 */
final class ExtensionFixtures {
    private ExtensionFixtures() {
    }

    /** One Pebble for the class, from the annotation. */
    @WithPebble
    static class ClassFixture {
        static final List<PebbleServer> seen = new ArrayList<>();

        @Test
        void first(PebbleServer pebble) throws Exception {
            seen.add(pebble);
            assertNotNull(directory(pebble));
        }

        @Test
        void second(PebbleServer pebble) throws Exception {
            seen.add(pebble);
            assertNotNull(directory(pebble));
        }
    }

    /**
     * One Pebble for the class from a static {@code configured(...)} extension, with a builder option that
     * {@link WithPebble} lacks (external account binding), injected into {@code @BeforeAll} too: the way the
     * project's own tests use it (EabPebbleTest, WildcardPebbleTest).
     */
    static class ConfiguredClassFixture {
        static final List<PebbleServer> seen = new ArrayList<>();
        static final Pattern EAB_REQUIRED = Pattern.compile("\"externalAccountRequired\"\\s*:\\s*true");

        @RegisterExtension
        static final PebbleExtension PEBBLE = PebbleExtension.configured(b -> b
                .flavor(PebbleServer.Flavor.ARI)
                .requireExternalAccountBinding(Map.of("kid-fixture", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")));

        @BeforeAll
        static void injectedIntoBeforeAll(PebbleServer pebble) {
            seen.add(pebble);
        }

        @Test
        void first(PebbleServer pebble) throws Exception {
            seen.add(pebble);
            String directory = directory(pebble);
            assertTrue(EAB_REQUIRED.matcher(directory).find(), "the builder option reached Pebble: " + directory);
        }

        @Test
        void second(PebbleServer pebble) {
            seen.add(pebble);
        }
    }

    /** One Pebble per test method: the extension on an instance field. */
    static class MethodFixture {
        static final List<PebbleServer> seen = new ArrayList<>();

        @RegisterExtension
        final PebbleExtension pebble = PebbleExtension.configured(b -> b.flavor(PebbleServer.Flavor.ARI));

        @Test
        void first(PebbleServer pebble) throws Exception {
            seen.add(pebble);
            assertNotNull(directory(pebble));
        }

        @Test
        void second(PebbleServer pebble) throws Exception {
            seen.add(pebble);
            assertNotEquals(0, pebble.httpPort());
        }
    }
}
