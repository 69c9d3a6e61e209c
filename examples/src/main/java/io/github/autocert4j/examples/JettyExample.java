package io.github.autocert4j.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.function.IntSupplier;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.servlet.AcmeChallengeFilter;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Embedded Jetty 12 (ee10) with a plain-HTTP connector (ACME challenges, {@code /hello}, and a
 * redirect to HTTPS for everything else) and an HTTPS connector whose certificate autocert4j
 * obtains and renews live, without a Jetty reload or restart.
 *
 * <p>The live certificate: {@code SslContextFactory.Server.setSslContext(autoCert.sslContext())}.
 * Jetty then loads no keystore and does no SNI selection of its own; the key manager inside that
 * {@code SSLContext} picks the current certificate by SNI at every handshake, so a renewal is seen
 * by the next connection and open connections keep their session.
 *
 * <p>Configuration: see {@link ExampleConfig} (system properties {@code acme.directory},
 * {@code acme.trust}, {@code names}, {@code http.port}, {@code https.port}, {@code bind},
 * {@code store}, {@code profile}, {@code email}, or the matching environment variables).
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.github.autocert4j.examples.JettyExample \
 *     -Dacme.directory=https://127.0.0.1:14000/dir -Dacme.trust=pebble.minica.pem \
 *     -Dnames=app.autocert4j.test -Dhttp.port=5002 -Dhttps.port=8443
 * </pre>
 */
public final class JettyExample implements AutoCloseable {
    private final AutoCert autoCert;
    private final Server server;
    private final ServerConnector http;
    private final ServerConnector https;

    private JettyExample(AutoCert autoCert, Server server, ServerConnector http, ServerConnector https) {
        this.autoCert = autoCert;
        this.server = server;
        this.http = http;
        this.https = https;
    }

    public static void main(String[] args) throws Exception {
        try (JettyExample example = start(ExampleConfig.fromEnvironment())) {
            example.server.join();
        }
    }

    /** Starts Jetty (both connectors), then the certificate manager; prints where to connect. */
    public static JettyExample start(ExampleConfig c) throws Exception {
        AutoCert autoCert = c.buildAutoCert();
        Server server = new Server();

        // Port "80": the ACME filter runs first, the site's own servlet handles the rest.
        ServerConnector http = new ServerConnector(server);
        http.setHost(c.bind());
        http.setPort(c.httpPort());

        // Port "443": Jetty uses autocert4j's SSLContext as is (no keystore, no reload needed).
        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setSslContext(autoCert.sslContext());
        HttpConfiguration secure = new HttpConfiguration();
        secure.addCustomizer(new SecureRequestCustomizer());
        ServerConnector https = new ServerConnector(server,
                new SslConnectionFactory(tls, HttpVersion.HTTP_1_1.asString()), new HttpConnectionFactory(secure));
        https.setHost(c.bind());
        https.setPort(c.httpsPort());
        server.addConnector(http);
        server.addConnector(https);

        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        context.addFilter(new FilterHolder(new AcmeChallengeFilter(autoCert.http01())),
                AcmeChallengeFilter.URL_PATTERN, EnumSet.of(DispatcherType.REQUEST));
        context.addServlet(new ServletHolder(new Site("Jetty", https::getLocalPort)), "/");
        server.setHandler(context);
        server.start();

        c.printEndpoints(autoCert, https.getLocalPort());
        autoCert.start();
        return new JettyExample(autoCert, server, http, https);
    }

    public AutoCert autoCert() {
        return autoCert;
    }

    public int httpPort() {
        return http.getLocalPort();
    }

    public int httpsPort() {
        return https.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        autoCert.close();
        server.stop();
    }

    // ---------------------------------------------------------------- shared with TomcatExample

    /**
     * The site: over HTTPS a small page; over plain HTTP {@code /hello} answers directly and every
     * other path redirects to HTTPS (ACME challenges never get here: the filter answers them).
     */
    static final class Site extends HttpServlet {
        private static final long serialVersionUID = 1L;
        private final String container;
        private final transient IntSupplier httpsPort;

        Site(String container, IntSupplier httpsPort) {
            this.container = container;
            this.httpsPort = httpsPort;
        }

        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse res) throws IOException {
            if (req.isSecure()) {
                text(res, "hello over TLS from autocert4j on " + container + "\n");
            } else if ("/hello".equals(req.getRequestURI())) {
                text(res, "hello over plain HTTP from " + container + "\n");
            } else {
                int port = httpsPort.getAsInt();
                String query = req.getQueryString() == null ? "" : "?" + req.getQueryString();
                res.setStatus(HttpServletResponse.SC_MOVED_PERMANENTLY);
                res.setHeader("Location", "https://" + req.getServerName() + (port == 443 ? "" : ":" + port) + req.getRequestURI() + query);
                res.setContentLength(0);
            }
        }

        private static void text(HttpServletResponse res, String body) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            res.setContentType("text/plain;charset=utf-8");
            res.setContentLength(bytes.length);
            res.getOutputStream().write(bytes);
        }
    }
}
