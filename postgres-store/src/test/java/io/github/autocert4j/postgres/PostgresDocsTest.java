package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PostgresServer;

/**
 * docs/postgres.md quotes the real thing: the schema resource, the SQL the store runs, and a set-up snippet
 * that compiles ({@link SetupExample}) and works against a real server.
 */
@IntegrationTest
class PostgresDocsTest {

    static Path doc() {
        String root = System.getProperty("autocert4j.repoRoot", "..");
        return Path.of(root, "docs", "postgres.md");
    }

    static String normalized(String s) {
        return s.replaceAll("\\s+", " ").trim();
    }

    @Test
    void theDocumentQuotesTheSchemaResourceExactly() throws IOException {
        String doc = Files.readString(doc());
        String schema = Schema.resource(1);
        assertTrue(doc.contains("```sql\n" + schema + "```"), "docs/postgres.md must quote schema-v1.sql exactly, in a ```sql block");
    }

    @Test
    void theDocumentShowsTheStatementsTheStoreRuns() throws IOException {
        String doc = normalized(Files.readString(doc()));
        PostgresCertStore store = PostgresCertStore.builder(new org.postgresql.ds.PGSimpleDataSource()).build();
        for (String sql : List.of(store.sqlAcquire, store.sqlExtend, store.sqlRelease, store.sqlFence, store.sqlUpsertNotify)) {
            assertTrue(doc.contains(normalized(sql)), "docs/postgres.md does not show: " + sql);
        }
    }

    @Test
    void theSetupSnippetIsQuotedFromCodeThatCompilesAndRuns() throws Exception {
        List<String> source = Files.readAllLines(Path.of("src/test/java/io/github/autocert4j/postgres/SetupExample.java"));
        int begin = source.indexOf("        // docs:setup:begin");
        int end = source.indexOf("        // docs:setup:end");
        assertTrue(begin > 0 && end > begin, "markers missing in SetupExample.java");
        String snippet = source.subList(begin + 1, end).stream().map(l -> l.length() >= 8 ? l.substring(8) : l.strip())
                .collect(Collectors.joining("\n"));
        assertTrue(Files.readString(doc()).contains("```java\n" + snippet + "\n```"),
                "docs/postgres.md must quote the snippet between the docs:setup markers of SetupExample.java:\n" + snippet);
        try (PostgresServer pg = PostgresServer.startNew()) {
            SetupExample.Setup setup = SetupExample.connect(pg.jdbcUrl(), pg.user(), pg.password());
            try (HikariDataSource pool = setup.pool(); PostgresCertStore store = setup.store()) {
                store.store("k", new byte[] {1});
                assertTrue(store.load("k").isPresent());
            }
        }
    }
}
