package io.github.autocert4j.quarkus;

import io.quarkus.runtime.configuration.ConfigBuilder;
import io.smallrye.config.ConfigSourceInterceptor;
import io.smallrye.config.ConfigSourceInterceptorContext;
import io.smallrye.config.ConfigValue;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * Keeps {@code quarkus.http.insecure-requests=redirect} from hiding the ACME challenge path.
 * Quarkus implements that redirect as the plain-HTTP server's request handler, ahead of every
 * route; with autocert4j enabled, this interceptor shows Quarkus {@code enabled} instead, and
 * {@link AcmeChallengeRoute} performs the same redirect right after answering challenges. The
 * application's value stays readable as {@value #ORIGINAL}.
 */
public final class InsecureRedirectConfigBuilder implements ConfigBuilder {
    /** The application's own {@code quarkus.http.insecure-requests} value. */
    public static final String ORIGINAL = "autocert4j.internal.insecure-requests";
    static final String INSECURE = "quarkus.http.insecure-requests";

    @Override
    public SmallRyeConfigBuilder configBuilder(SmallRyeConfigBuilder builder) {
        return builder.withInterceptors(new Interceptor());
    }

    /** The interceptor; see {@link InsecureRedirectConfigBuilder}. */
    static final class Interceptor implements ConfigSourceInterceptor {
        private static final long serialVersionUID = 1L;

        @Override
        public ConfigValue getValue(ConfigSourceInterceptorContext context, String name) {
            if (INSECURE.equals(name)) {
                ConfigValue value = context.proceed(name);
                if (value != null && "redirect".equalsIgnoreCase(String.valueOf(value.getValue()).trim()) && enabled(context)) {
                    return value.withValue("enabled");
                }
                return value;
            }
            if (ORIGINAL.equals(name)) {
                ConfigValue value = context.proceed(INSECURE);
                return value == null ? null : value.withName(ORIGINAL);
            }
            return context.proceed(name);
        }

        private static boolean enabled(ConfigSourceInterceptorContext context) {
            ConfigValue enabled = context.proceed("quarkus.autocert4j.enabled");
            return enabled == null || enabled.getValue() == null || !"false".equalsIgnoreCase(enabled.getValue().trim());
        }
    }
}
