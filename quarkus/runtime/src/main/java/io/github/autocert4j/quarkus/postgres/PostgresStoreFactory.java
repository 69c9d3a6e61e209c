package io.github.autocert4j.quarkus.postgres;

import java.util.Optional;

import javax.sql.DataSource;

import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import org.jboss.logging.Logger;

/**
 * The PostgreSQL store on the application's default datasource (Agroal); registered when
 * quarkus-agroal and autocert4j-postgres are both present. A default datasource that is not
 * configured (Quarkus makes it inactive) gives no store, so {@code store.type=auto} keeps files.
 */
@Singleton
public class PostgresStoreFactory implements AutoCertQuarkus.StoreFactory {
    private static final Logger LOG = Logger.getLogger(PostgresStoreFactory.class);

    private final Instance<DataSource> dataSource;

    /** Created by CDI. */
    @Inject
    public PostgresStoreFactory(Instance<DataSource> dataSource) {
        this.dataSource = dataSource;
    }

    @Override
    public Optional<CertStore> create() {
        if (!dataSource.isResolvable()) {
            return Optional.empty();
        }
        DataSource ds;
        try {
            ds = dataSource.get();
            ds.getLoginTimeout(); // an inactive (unconfigured) datasource fails here or above
        } catch (RuntimeException | java.sql.SQLException e) {
            LOG.debugf("autocert4j: the default datasource is not usable (%s); not using PostgreSQL", e);
            return Optional.empty();
        }
        return Optional.of(PostgresCertStore.builder(ds).build());
    }
}
