package io.github.autocert4j.micronaut;

import java.nio.file.Path;
import java.util.List;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEventListener;
import io.github.autocert4j.CertStore;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;

/**
 * Creates the application's {@link AutoCert} from {@link AutoCertConfiguration}, with the
 * {@link CertStore} bean when there is one (the PostgreSQL store of {@link PostgresStoreFactory},
 * or the application's own) and every {@link CertEventListener} bean. It is started by
 * {@link AutoCertStarter} once the server listens, so that the CA's first validation finds the
 * challenge route; it is closed with the context.
 */
@Factory
@Requires(property = "autocert4j.names")
@Requires(property = "autocert4j.enabled", notEquals = "false")
public class AutoCertFactory {

    /** The one {@link AutoCert} of the application. */
    @Singleton
    @Bean(preDestroy = "close")
    public AutoCert autoCert(AutoCertConfiguration config, @Nullable CertStore store, List<CertEventListener> listeners) {
        List<String> names = config.getNames().stream().map(String::trim).filter(n -> !n.isEmpty()).toList();
        if (names.isEmpty()) {
            throw new IllegalArgumentException("autocert4j.names is empty. Fix: set autocert4j.names to the host names of this server");
        }
        AutoCertBuilder b = AutoCert.builder().certificate(names.toArray(String[]::new))
                .agreeToTermsOfService(config.isAgreeToTermsOfService());
        if (config.getDirectory() != null && !config.getDirectory().isBlank()) {
            b.directory(config.getDirectory().trim());
        }
        if (config.getEmail() != null && !config.getEmail().isBlank()) {
            b.email(config.getEmail().trim());
        }
        if (config.getTrust() != null && !config.getTrust().isBlank()) {
            b.acmeServerTrust(Path.of(config.getTrust().trim()));
        }
        if (!config.getChallengeTypes().isEmpty()) {
            AutoCertSslBuilder.checkChallengeTypes(config.getChallengeTypes());
            b.challengeTypes(config.getChallengeTypes().toArray(String[]::new));
        }
        if (config.getProfile() != null && !config.getProfile().isBlank()) {
            b.profile(config.getProfile().trim());
        }
        if (store != null) {
            b.store(store);
        } else if (config.getStoreDirectory() != null && !config.getStoreDirectory().isBlank()) {
            b.storageDirectory(Path.of(config.getStoreDirectory().trim()));
        } else {
            throw new IllegalArgumentException("autocert4j needs a store: neither autocert4j.store-directory nor a CertStore bean "
                    + "(PostgreSQL: autocert4j-postgres and a DataSource). Fix: set autocert4j.store-directory to a directory "
                    + "this application may write, kept across restarts");
        }
        if (!listeners.isEmpty()) {
            List<CertEventListener> all = List.copyOf(listeners);
            b.listener(event -> all.forEach(l -> l.onEvent(event)));
        }
        return b.build();
    }
}
