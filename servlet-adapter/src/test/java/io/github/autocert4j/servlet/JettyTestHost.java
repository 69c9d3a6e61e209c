package io.github.autocert4j.servlet;

import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.function.Consumer;

import io.github.autocert4j.AutoCert;
import jakarta.servlet.DispatcherType;
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
 * Embedded Jetty 12 (ee10) with the live certificate: {@code SslContextFactory.Server.setSslContext(autoCert.sslContext())}.
 * Jetty then loads no keystore and does no SNI selection of its own; the key manager behind the
 * SSLContext selects the live certificate per handshake.
 */
final class JettyTestHost implements ServletTestHost {
    final Server server = new Server();
    final ServerConnector http;
    final ServerConnector https;

    JettyTestHost(AutoCert autoCert, int httpPort, Registration registration) throws Exception {
        this(autoCert, httpPort, registration, ctx -> { });
    }

    JettyTestHost(AutoCert autoCert, int httpPort, Registration registration, Consumer<ServletContextHandler> customize) throws Exception {
        HttpConfiguration plain = new HttpConfiguration();
        http = new ServerConnector(server, new HttpConnectionFactory(plain));
        http.setHost("127.0.0.1");
        http.setPort(httpPort);

        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setSslContext(autoCert.sslContext());
        HttpConfiguration secure = new HttpConfiguration(plain);
        secure.addCustomizer(new SecureRequestCustomizer());
        https = new ServerConnector(server, new SslConnectionFactory(ssl, HttpVersion.HTTP_1_1.asString()), new HttpConnectionFactory(secure));
        https.setHost("127.0.0.1");
        https.setPort(0);
        server.addConnector(http);
        server.addConnector(https);

        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        context.addServlet(new ServletHolder(new AppServlet()), "/");
        switch (registration) {
            case INITIALIZER -> {
                context.setAttribute(AutoCertServletInitializer.AUTOCERT_ATTRIBUTE, autoCert);
                context.addServletContainerInitializer(new AutoCertServletInitializer());
            }
            case REGISTER -> context.addServletContainerInitializer((classes, sc) -> AcmeChallengeFilter.register(sc, autoCert.http01()));
            case NO_ARG_FILTER -> {
                context.setAttribute(AcmeChallengeFilter.RESPONDER_ATTRIBUTE, autoCert.http01());
                context.addFilter(new FilterHolder(AcmeChallengeFilter.class), AcmeChallengeFilter.URL_PATTERN, EnumSet.of(DispatcherType.REQUEST));
            }
            case NONE -> context.addServletContainerInitializer(new AutoCertServletInitializer());
        }
        customize.accept(context);
        server.setHandler(context);
        server.start();
    }

    @Override
    public InetSocketAddress httpsAddress() {
        return new InetSocketAddress("127.0.0.1", https.getLocalPort());
    }

    @Override
    public InetSocketAddress httpAddress() {
        return new InetSocketAddress("127.0.0.1", http.getLocalPort());
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
