import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * autocert4j-testkit as a user without JUnit has it: its JUnit API is {@code provided} (only
 * {@code @WithPebble} needs it). Included by user-build-netty-no-tcnative only (its surefire includes).
 */
class UserBuildTestKitWithoutJUnitTest {
    /** A program that is no test, with the test class path minus JUnit, starts Pebble and reads its directory. */
    @Test
    void testKitStartsPebbleWithoutJUnit() throws Exception {
        String testClassPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> withoutJUnit = Arrays.stream(testClassPath.split(File.pathSeparator))
                .filter(e -> !Path.of(e).getFileName().toString().matches("(junit|opentest4j|apiguardian).*"))
                .toList();
        assertTrue(withoutJUnit.stream().anyMatch(e -> Path.of(e).getFileName().toString().startsWith("autocert4j-testkit")),
                "the test kit is on the test class path: " + testClassPath);
        Path target = Path.of("target").toAbsolutePath();
        Path program = Files.createTempDirectory(target, "no-junit-").resolve("PebbleWithoutJUnit.java");
        Files.writeString(program, """
                public class PebbleWithoutJUnit {
                    public static void main(String[] args) throws Exception {
                        try {
                            Class.forName("org.junit.jupiter.api.extension.Extension");
                            throw new AssertionError("JUnit is on the class path");
                        } catch (ClassNotFoundException expected) {
                            // as intended
                        }
                        try (var pebble = io.github.autocert4j.testkit.PebbleServer.builder()
                                .httpPort(io.github.autocert4j.testkit.FreePorts.loopback()).start()) {
                            System.out.println("directory " + pebble.directoryUri() + " root " + pebble.issuanceRoot().getSubjectX500Principal());
                        }
                    }
                }
                """);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", String.join(File.pathSeparator, withoutJUnit), program.toString())
                .redirectErrorStream(true).redirectOutput(program.resolveSibling("out.log").toFile()).start();
        boolean finished = p.waitFor(60, TimeUnit.SECONDS);
        if (!finished) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String out = Files.readString(program.resolveSibling("out.log"));
        assertTrue(finished, "PebbleWithoutJUnit did not finish within 60 s: " + out);
        assertEquals(0, p.exitValue(), "the test kit without JUnit: " + out);
        assertTrue(out.contains("directory https://127.0.0.1:"), out);
    }

}
