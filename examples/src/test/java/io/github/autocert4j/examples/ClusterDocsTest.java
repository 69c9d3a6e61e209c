package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.internal.LoadBalancer;

/**
 * docs/cluster.md quotes a set-up snippet (and its imports) that compiles and starts against a real PostgreSQL, and
 * the nginx configuration that the cluster tests run.
 */
@IntegrationTest
class ClusterDocsTest {

    @Test
    void theNginxConfigurationIsTheOneTheClusterTestsRun() throws Exception {
        String text = Files.readString(Path.of(System.getProperty("autocert4j.repoRoot", ".."), "docs", "cluster.md"));
        assertTrue(text.contains("```nginx\n" + LoadBalancer.CHALLENGE_LOCATION + "\n```"),
                "docs/cluster.md must quote testkit LoadBalancer.CHALLENGE_LOCATION exactly, in a ```nginx block:\n"
                        + LoadBalancer.CHALLENGE_LOCATION);
    }

    @Test
    void theSetupSnippetIsQuotedFromCodeThatCompilesAndRuns() throws Exception {
        Path doc = Path.of(System.getProperty("autocert4j.repoRoot", ".."), "docs", "cluster.md");
        String text = Files.readString(doc);
        List<String> source = Files.readAllLines(Path.of("src/test/java/io/github/autocert4j/examples/ClusterSetupExample.java"));
        int begin = source.indexOf("        // docs:cluster:begin");
        int end = source.indexOf("        // docs:cluster:end");
        assertTrue(begin > 0 && end > begin, "markers missing in ClusterSetupExample.java");
        String imports = source.stream().filter(l -> l.startsWith("import ")).collect(Collectors.joining("\n"));
        String snippet = source.subList(begin + 1, end).stream().map(l -> l.length() >= 8 ? l.substring(8) : l.strip())
                .collect(Collectors.joining("\n"));
        assertTrue(text.contains("```java\n" + imports), "docs/cluster.md must list the snippet's imports:\n" + imports);
        assertTrue(text.contains(snippet + "\n```"), "docs/cluster.md must quote ClusterSetupExample.java between the markers:\n" + snippet);

        try (PostgresServer pg = PostgresServer.startNew()) {
            // a CA nobody listens on: the node starts, serves the fallback and retries; the store is set up and shared
            ClusterSetupExample.Node node = ClusterSetupExample.setUp(pg.jdbcUrl(), pg.user(), pg.password(),
                    URI.create("https://127.0.0.1:1/dir"));
            try (var pool = node.pool(); var store = node.store()) {
                assertEquals(CertificateStatus.State.PENDING, node.autoCert().status("example.com").orElseThrow().state());
                store.store("probe", new byte[] {1});
                assertTrue(store.load("probe").isPresent(), "tables created, reads and writes work");
                assertTrue(pool.isRunning());
            } finally {
                node.autoCert().close();
            }
        }
    }
}
