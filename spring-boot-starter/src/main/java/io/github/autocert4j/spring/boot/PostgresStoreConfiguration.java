package io.github.autocert4j.spring.boot;

import java.util.List;

import javax.sql.DataSource;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.postgres.PostgresCertStore;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * {@code autocert4j.store.type=postgres}: the store in the PostgreSQL database of the application's
 * {@link DataSource} (module autocert4j-postgres, an optional dependency of the starter: without it
 * this configuration is skipped and the property is reported with the fix). Instances sharing the
 * database share the certificates: one orders, the others adopt. A {@link CertStore} bean of the
 * application wins.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnClass(name = PostgresStoreConfiguration.STORE_CLASS)
@ConditionalOnProperty(prefix = "autocert4j.store", name = "type", havingValue = "postgres")
class PostgresStoreConfiguration {
    static final String STORE_CLASS = "io.github.autocert4j.postgres.PostgresCertStore";

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(CertStore.class)
    CertStore autocert4jPostgresStore(ObjectProvider<DataSource> dataSources, AutoCertProperties properties) {
        DataSource dataSource = dataSources.getIfUnique();
        if (dataSource == null) {
            throw new AutoCertConfigurationException(List.of("autocert4j.store.type: postgres, but the application has "
                    + (dataSources.stream().findAny().isPresent() ? "several DataSources and none is @Primary" : "no DataSource")
                    + ". Fix: add spring-boot-starter-jdbc and set spring.datasource.url=jdbc:postgresql://host/db (with "
                    + "spring.datasource.username and password), or mark the DataSource to use @Primary"));
        }
        AutoCertProperties.Postgres p = properties.getStore().getPostgres();
        try {
            return PostgresCertStore.builder(dataSource).tablePrefix(p.getTablePrefix() == null ? null : p.getTablePrefix().trim())
                    .schema(p.getSchema())
                    .leaseDuration(p.getLease()).lockTimeout(p.getLockTimeout())
                    .build(); // connects at first use: start-up never waits on the database
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            String property = m.startsWith("tablePrefix") ? "table-prefix" : m.startsWith("schema") ? "schema"
                    : m.startsWith("leaseDuration") ? "lease" : "lock-timeout";
            throw new AutoCertConfigurationException(List.of("autocert4j.store.postgres." + property + ": " + m
                    .replace("Duration.ofSeconds(30)", "30s").replace("Duration.ofMinutes(10)", "10m")
                    .replace("or no schema to use the search_path", "or remove autocert4j.store.postgres.schema to use the search_path")));
        }
    }
}
