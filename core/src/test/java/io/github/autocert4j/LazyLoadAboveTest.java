package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code AutoCertBuilder.lazyLoadAbove}: validated at build(), naming the field and the fix. */
class LazyLoadAboveTest {
    @TempDir
    Path dir;

    @Test
    void aNegativeThresholdIsRefusedAtBuildNamingTheFieldAndTheFix() {
        InvalidConfigurationException e = assertThrows(InvalidConfigurationException.class, () -> AutoCert.builder()
                .issuer(new FakeIssuer("fake-ca", java.time.Clock.systemUTC())).certificate("a.example.test")
                .storageDirectory(dir).lazyLoadAbove(-1).build());
        List<String> fields = e.problems().stream().map(InvalidConfigurationException.Problem::field).toList();
        assertEquals(List.of("lazyLoadAbove"), fields, e.getMessage());
        assertTrue(e.getMessage().contains("lazyLoadAbove: -1 is negative. Fix:"), e.getMessage());
    }

    @Test
    void zeroAndTheLargestCountAreAccepted() {
        for (int above : new int[] {0, Integer.MAX_VALUE}) {
            try (AutoCert a = AutoCert.builder().issuer(new FakeIssuer("fake-ca", java.time.Clock.systemUTC())).certificate("a.example.test")
                    .storageDirectory(dir).lazyLoadAbove(above).build()) {
                assertEquals(1, a.status().size());
            }
        }
    }
}
