package io.github.autocert4j.quarkus.deployment;

import io.github.autocert4j.quarkus.AutoCertHttp;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.quarkus.InsecureRedirectConfigBuilder;
import io.quarkus.arc.deployment.AdditionalBeanBuildItem;
import io.quarkus.bootstrap.classloading.QuarkusClassLoader;
import io.quarkus.deployment.Capabilities;
import io.quarkus.deployment.Capability;
import io.quarkus.deployment.annotations.BuildProducer;
import io.quarkus.deployment.annotations.BuildStep;
import io.quarkus.deployment.builditem.FeatureBuildItem;
import io.quarkus.deployment.builditem.RunTimeConfigBuilderBuildItem;

/**
 * Build steps of the autocert4j extension: the core beans always; the health check, the
 * Micrometer gauges and the PostgreSQL store only when the application has those extensions.
 */
class AutoCertProcessor {
    private static final String FEATURE = "autocert4j";

    @BuildStep
    FeatureBuildItem feature() {
        return new FeatureBuildItem(FEATURE);
    }

    @BuildStep
    void beans(Capabilities capabilities, BuildProducer<AdditionalBeanBuildItem> beans) {
        beans.produce(AdditionalBeanBuildItem.unremovableOf(AutoCertQuarkus.class));
        beans.produce(AdditionalBeanBuildItem.unremovableOf(AutoCertHttp.class));
        if (capabilities.isPresent(Capability.SMALLRYE_HEALTH)) {
            beans.produce(AdditionalBeanBuildItem.unremovableOf("io.github.autocert4j.quarkus.health.AutoCertHealthCheck"));
        }
        // quarkus-micrometer provides the generic metrics capability; the registry type tells it is Micrometer
        if (capabilities.isPresent(Capability.METRICS)
                && QuarkusClassLoader.isClassPresentAtRuntime("io.micrometer.core.instrument.MeterRegistry")) {
            beans.produce(AdditionalBeanBuildItem.unremovableOf("io.github.autocert4j.quarkus.metrics.AutoCertMetrics"));
        }
        if (capabilities.isPresent(Capability.AGROAL)
                && QuarkusClassLoader.isClassPresentAtRuntime("io.github.autocert4j.postgres.PostgresCertStore")) {
            beans.produce(AdditionalBeanBuildItem.unremovableOf("io.github.autocert4j.quarkus.postgres.PostgresStoreFactory"));
        }
    }

    @BuildStep
    RunTimeConfigBuilderBuildItem insecureRedirect() {
        return new RunTimeConfigBuilderBuildItem(InsecureRedirectConfigBuilder.class);
    }
}
