package io.github.autocert4j.servlet;

import java.util.Optional;
import java.util.Set;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.Http01Responder;
import jakarta.servlet.ServletContainerInitializer;
import jakarta.servlet.ServletContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers the {@link AcmeChallengeFilter} automatically in every web application whose
 * {@code ServletContext} carries an {@link AutoCert} (attribute {@link #AUTOCERT_ATTRIBUTE}) or an
 * {@link Http01Responder} (attribute {@link AcmeChallengeFilter#RESPONDER_ATTRIBUTE}) when the
 * container starts it. Contexts without either attribute are left alone.
 *
 * <p>The container discovers this class through
 * {@code META-INF/services/jakarta.servlet.ServletContainerInitializer} when the adapter jar is on
 * the web application's class path (and, for embedded servers, when the server is told to run
 * initializers). The host sets the attribute before the context starts:
 *
 * <pre>{@code
 * // Embedded Jetty 12 (ee10):
 * ServletContextHandler context = new ServletContextHandler();
 * context.setAttribute(AutoCertServletInitializer.AUTOCERT_ATTRIBUTE, autoCert);
 * context.addServletContainerInitializer(new AutoCertServletInitializer());
 *
 * // Embedded Tomcat:
 * Context context = tomcat.addContext("", null);
 * context.addServletContainerInitializer((c, ctx) ->
 *         ctx.setAttribute(AutoCertServletInitializer.AUTOCERT_ATTRIBUTE, autoCert), null);
 * context.addServletContainerInitializer(new AutoCertServletInitializer(), null);
 * }</pre>
 *
 * <p>A deployed WAR can set the attribute from an earlier initializer, or simply call
 * {@link AcmeChallengeFilter#register} from its own {@code ServletContextListener} instead.
 */
public final class AutoCertServletInitializer implements ServletContainerInitializer {
    private static final Logger LOG = LoggerFactory.getLogger(AutoCertServletInitializer.class);

    /** The {@code ServletContext} attribute holding the {@link AutoCert} whose challenges this context answers. */
    public static final String AUTOCERT_ATTRIBUTE = "io.github.autocert4j.AutoCert";

    /** Called by the container; also usable directly. */
    public AutoCertServletInitializer() {
    }

    @Override
    public void onStartup(Set<Class<?>> classes, ServletContext context) {
        Optional<Http01Responder> responder = AcmeChallengeFilter.responderOf(context);
        if (responder.isEmpty()) {
            LOG.debug("autocert4j: context '{}' has neither attribute {} nor {}; no ACME challenge filter registered",
                    context.getContextPath(), AUTOCERT_ATTRIBUTE, AcmeChallengeFilter.RESPONDER_ATTRIBUTE);
            return;
        }
        if (context.getFilterRegistration(AcmeChallengeFilter.FILTER_NAME) != null) {
            LOG.debug("autocert4j: context '{}' already has the ACME challenge filter", context.getContextPath());
            return;
        }
        AcmeChallengeFilter.register(context, responder.get());
        LOG.info("autocert4j: ACME challenge filter registered at {} in context '{}'", AcmeChallengeFilter.URL_PATTERN, context.getContextPath());
    }
}
