package io.github.autocert4j.testkit.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Stopping the servers the test kit starts (Pebble, knotd, nginx) and removing their scratch
 * directories, in one place: <strong>not API</strong>.
 *
 * <pre>{@code
 * Processes.stop(process, Duration.ofSeconds(3)); // SIGTERM, then SIGKILL after 3 s
 * Processes.deleteTree(scratchDirectory);          // best effort
 * }</pre>
 */
public final class Processes {
    /** How long a process is waited for after SIGKILL. */
    private static final long KILL_WAIT_MILLIS = 2_000;

    private Processes() {
    }

    /**
     * SIGTERM, then SIGKILL if {@code p} has not exited within {@code grace}; returns once it has
     * exited or the wait after SIGKILL ran out. Null or an exited process: nothing to do. Keeps the
     * thread's interrupt status (and kills at once when interrupted).
     */
    public static void stop(Process p, Duration grace) {
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(KILL_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Deletes {@code root} and everything under it, best effort: a leftover scratch directory is not worth failing a test for. */
    public static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: go on with the rest
                }
            }
        } catch (IOException | UncheckedIOException ignored) {
            // best effort
        }
    }
}
