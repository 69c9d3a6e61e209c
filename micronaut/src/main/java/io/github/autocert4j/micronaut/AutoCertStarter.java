package io.github.autocert4j.micronaut;

import io.github.autocert4j.AutoCert;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.event.ApplicationEventListener;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import jakarta.inject.Singleton;

/**
 * Starts the {@link AutoCert} once the server listens (its plain-HTTP port can then answer the
 * CA's first validation): loads stored certificates, orders missing ones, schedules renewals.
 */
@Singleton
@Requires(beans = AutoCert.class)
public class AutoCertStarter implements ApplicationEventListener<ServerStartupEvent> {
    private final AutoCert autoCert;

    /** Created by Micronaut. */
    public AutoCertStarter(AutoCert autoCert) {
        this.autoCert = autoCert;
    }

    @Override
    public void onApplicationEvent(ServerStartupEvent event) {
        autoCert.start();
    }
}
