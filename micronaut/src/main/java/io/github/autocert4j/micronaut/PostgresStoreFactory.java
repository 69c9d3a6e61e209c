package io.github.autocert4j.micronaut;

import javax.sql.DataSource;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.annotation.Secondary;
import jakarta.inject.Singleton;

/**
 * The shared store of a cluster: {@link PostgresCertStore} over the application's
 * {@link DataSource}, when autocert4j-postgres is on the class path, a DataSource bean exists,
 * {@code autocert4j.postgres} is not false and the application defines no {@link CertStore} of
 * its own. Every node with the same database (and table prefix) shares one account, one lock per
 * certificate and the challenges: one order per renewal, whichever node the CA reaches.
 */
@Factory
@Requires(classes = PostgresCertStore.class)
@Requires(beans = DataSource.class)
@Requires(property = "autocert4j.names")
@Requires(property = "autocert4j.enabled", notEquals = "false")
@Requires(property = "autocert4j.postgres", notEquals = "false")
public class PostgresStoreFactory {

    /** The PostgreSQL store, closed with the context. */
    @Singleton
    @Secondary // an application's own CertStore bean wins
    @Bean(preDestroy = "close")
    public PostgresCertStore autocert4jPostgresStore(DataSource dataSource, AutoCertConfiguration config) {
        PostgresCertStore.Builder b = PostgresCertStore.builder(dataSource);
        if (config.getPostgresTablePrefix() != null && !config.getPostgresTablePrefix().isBlank()) {
            b.tablePrefix(config.getPostgresTablePrefix().trim());
        }
        return b.build();
    }
}
