package io.github.autocert4j.postgres;

import java.io.IOException;
import java.time.Duration;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * The set-up snippet of docs/postgres.md, compiled with the tests ({@link PostgresDocsTest} checks that the
 * document quotes it unchanged).
 */
final class SetupExample {

    private SetupExample() {
    }

    record Setup(HikariDataSource pool, PostgresCertStore store) {
    }

    static Setup connect(String jdbcUrl, String user, String password) throws IOException {
        // docs:setup:begin
        HikariConfig pool = new HikariConfig();
        pool.setJdbcUrl(jdbcUrl);                        // e.g. "jdbc:postgresql://db.internal:5432/app?sslmode=verify-full"
        pool.setUsername(user);
        pool.setPassword(password);
        pool.setMaximumPoolSize(10);                     // the store: 1 per operation + 1 per lock heartbeat + 1 per watch
        pool.setConnectionTimeout(5_000);                // bounded wait when the pool is exhausted
        pool.addDataSourceProperty("connectTimeout", "5");   // seconds: an unreachable server fails fast
        pool.addDataSourceProperty("socketTimeout", "60");   // seconds: a dead network cannot hang a thread
        DataSource dataSource = new HikariDataSource(pool);

        PostgresCertStore store = PostgresCertStore.builder(dataSource)
                .tablePrefix("autocert4j_")              // tables autocert4j_entries, autocert4j_locks, autocert4j_schema_version
                .leaseDuration(Duration.ofSeconds(30))   // a dead node's locks free up within 30 s
                .lockTimeout(Duration.ofMinutes(10))     // how long lock() waits for another node
                .build();
        store.checkAccess();                             // creates the tables; a clear IOException if it cannot
        // docs:setup:end
        return new Setup((HikariDataSource) dataSource, store);
    }
}
