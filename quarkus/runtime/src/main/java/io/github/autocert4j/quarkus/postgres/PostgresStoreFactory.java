package io.github.autocert4j.quarkus.postgres;

import javax.sql.DataSource;

import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.github.autocert4j.quarkus.AutoCertQuarkus;

/**
 * The PostgreSQL store on the application's default datasource (Agroal); registered when
 * quarkus-agroal and autocert4j-postgres are both present.
 */
@Singleton
public class PostgresStoreFactory implements AutoCertQuarkus.StoreFactory {
    private final DataSource dataSource;

    /** Created by CDI. */
    @Inject
    public PostgresStoreFactory(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public CertStore create() {
        return PostgresCertStore.builder(dataSource).build();
    }
}
