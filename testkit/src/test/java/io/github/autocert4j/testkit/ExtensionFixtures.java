package io.github.autocert4j.testkit;

import static io.github.autocert4j.testkit.PebbleExtensionTest.directory;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.ArrayList;
import java.util.List;

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
