import java.nio.file.Path;
import java.util.EnumSet;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.servlet.AcmeChallengeFilter;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

public class JettyServer {
    public static void main(String[] args) throws Exception {
        AutoCert autoCert = AutoCert.builder()
                .directory(System.getProperty("acme.directory", AutoCert.LETS_ENCRYPT_PRODUCTION.toString()))  // or LETS_ENCRYPT_STAGING
                .agreeToTermsOfService(true)
                .certificate("example.com", "www.example.com")
                .storageDirectory(Path.of(System.getProperty("certs", "/var/lib/myapp/certs")))
                .build();
        Server server = new Server();
        ServerConnector http = new ServerConnector(server);
        http.setPort(Integer.getInteger("http.port", 80));
        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setSslContext(autoCert.sslContext());          // the live certificate: no keystore, no reload
        HttpConfiguration secure = new HttpConfiguration();
        secure.addCustomizer(new SecureRequestCustomizer());
        ServerConnector https = new ServerConnector(server, new SslConnectionFactory(tls, "http/1.1"), new HttpConnectionFactory(secure));
        https.setPort(Integer.getInteger("https.port", 443));
        server.setConnectors(new Connector[] {http, https});
        ServletContextHandler context = new ServletContextHandler();
        context.addFilter(new FilterHolder(new AcmeChallengeFilter(autoCert.http01())),
                AcmeChallengeFilter.URL_PATTERN, EnumSet.of(DispatcherType.REQUEST));
        context.addServlet(new ServletHolder(new Hello()), "/");
        server.setHandler(context);
        server.start();
        autoCert.start();
    }

    /** Stands for your application. */
    static final class Hello extends HttpServlet {
        @Override
        protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws java.io.IOException {
            resp.getWriter().print("hello over TLS");
        }
    }
}
