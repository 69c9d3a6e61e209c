package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** One line per refused name per interval, counting the handshakes refused in between; names escaped. */
class RefusalLogTest {

    @Test
    void oneLinePerNamePerIntervalWithTheCountSinceTheLastLine() {
        AtomicLong now = new AtomicLong();
        AutoCertTls.RefusalLog log = new AutoCertTls.RefusalLog(Duration.ofMinutes(1), now::get);
        List<String> lines = captured(() -> {
            for (int i = 0; i < 5; i++) {
                log.refused("a.example.test");
            }
            log.refused("b.example.test");
            now.addAndGet(Duration.ofSeconds(59).toNanos());
            log.refused("a.example.test");                         // still inside a's interval
            now.addAndGet(Duration.ofSeconds(2).toNanos());
            log.refused("a.example.test");                         // a new interval: 6 refused since the first line
            log.refused("evil\n[main] INFO forged line.example.test");
            log.refused(null);
        });
        assertEquals(5, lines.size(), String.join("\n", lines));
        assertTrue(lines.get(0).contains("for a.example.test (1 refused since"), lines.get(0));
        assertTrue(lines.get(1).contains("for b.example.test (1 refused since"), lines.get(1));
        assertTrue(lines.get(2).contains("for a.example.test (6 refused since"), lines.get(2));
        assertTrue(lines.get(3).contains("for evil??main???????forged?line.example.test ("), "escaped, one line: " + lines.get(3));
        assertTrue(lines.get(4).contains("for (no SNI) ("), lines.get(4));
    }

    static List<String> captured(Runnable r) {
        PrintStream err = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setErr(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setErr(err);
        }
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }
}
