package io.github.autocert4j.internal.assembly;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.internal.acme.AcmeIssuer;
import io.github.autocert4j.internal.config.Config;
import io.github.autocert4j.internal.config.ConfigValidator;
import io.github.autocert4j.internal.config.Settings;
import io.github.autocert4j.internal.renewal.FailedValidationBudget;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLContext;

/**
 * The builder's last step, after {@link ConfigValidator} found nothing wrong: turns the settings
 * into a {@link Config}, with one issuer factory per issuer in failover order. Does no I/O: the
 * issuers are created (and contact their CA) only when the manager is constructed and started.
 */
public final class ConfigAssembly {
    private ConfigAssembly() {
    }

    /** The configuration of valid settings {@code s}, as {@code valid} resolved them (issuers, trust, store). */
    public static Config config(Settings s, ConfigValidator.Result valid) {
        if (!valid.errors().isEmpty()) {
            throw new IllegalStateException("assembling an invalid configuration: " + valid.errors());
        }
        List<String> types = valid.challengeTypes();
        List<Config.IssuerFactory> factories = new ArrayList<>();
        String contact = s.email();
        Duration httpTimeout = s.policy().httpTimeout();
        Clock issuerClock = s.clock();
        for (Settings.IssuerSource source : valid.issuers()) {
            AcmeCa ca = source.ca();
            if (ca != null) {
                SSLContext acmeTrust = valid.trusts().get(ca);
                factories.add((st, solvers) -> new AcmeIssuer(ca, acmeTrust, st, contact, httpTimeout, solvers, types, issuerClock));
            } else {
                Issuer issuer = source.custom();
                factories.add((st, solvers) -> issuer);
            }
        }
        // Every issuer (one ACME account each) keeps each hostname's failed validations under the CA's hourly limit.
        int maxFailed = s.failedValidationMax();
        Duration failedWindow = s.failedValidationWindow();
        Clock budgetClock = s.clock();
        factories.replaceAll(f -> (st, solvers) -> new FailedValidationBudget(f.create(st, solvers), maxFailed, failedWindow, budgetClock, st));
        return new Config(s.certificates(), factories, s.extraSolvers(), types, valid.store(), s.keyType(), s.profile(),
                s.requireProfile(), s.allowIpAddresses(), s.policy(), s.listener(), s.executor(), s.clock(), s.onDemand(),
                s.lazyLoadAbove());
    }
}
