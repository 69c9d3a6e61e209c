package io.github.autocert4j.postgres;

import java.time.Duration;

import com.zaxxer.hikari.HikariDataSource;
import io.github.autocert4j.testkit.PostgresServer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The set-up the Postgres* tests shared as copies: one throw-away PostgreSQL per test class and a
 * HikariCP pool on it ({@link PgSupport#pool}), both closed after the class, the pool first.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final PostgresExtension DB = new PostgresExtension(8);   // pool size
 * // DB.pg(), DB.pool()
 * }</pre>
 */
final class PostgresExtension implements BeforeAllCallback, AfterAllCallback {
    private final int poolSize;
    private PostgresServer pg;
    private HikariDataSource pool;

    PostgresExtension(int poolSize) {
        this.poolSize = poolSize;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        pg = PostgresServer.startNew();
        pool = PgSupport.pool(pg, poolSize, Duration.ofSeconds(5));
    }

    @Override
    public void afterAll(ExtensionContext context) {
        try {
            if (pool != null) {
                pool.close();
            }
        } finally {
            if (pg != null) {
                pg.close();
            }
        }
    }

    /** The class's PostgreSQL server. */
    PostgresServer pg() {
        return pg;
    }

    /** The class's pool on it. */
    HikariDataSource pool() {
        return pool;
    }
}
