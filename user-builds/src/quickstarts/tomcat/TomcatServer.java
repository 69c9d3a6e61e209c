import java.nio.file.Path;
import java.security.KeyStore;

import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.servlet.AcmeChallengeFilter;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.apache.tomcat.util.net.SSLUtil;

public class TomcatServer {
    public static void main(String[] args) throws Exception {
        AutoCert autoCert = AutoCert.builder()
                .directory(System.getProperty("acme.directory", AutoCert.LETS_ENCRYPT_PRODUCTION.toString()))  // or LETS_ENCRYPT_STAGING
                .agreeToTermsOfService(true)
                .certificate("example.com", "www.example.com")
                .storageDirectory(Path.of(System.getProperty("certs", "/var/lib/myapp/certs")))
                .build();
        Tomcat tomcat = new Tomcat();
        Connector http = new Connector("HTTP/1.1");
        http.setPort(Integer.getInteger("http.port", 80));
        Connector https = new Connector("HTTP/1.1");
        https.setPort(Integer.getInteger("https.port", 443));
        https.setSecure(true);
        https.setScheme("https");
        https.setProperty("SSLEnabled", "true");
        SSLHostConfig sslHost = new SSLHostConfig();   // "_default_": every SNI name lands here
        SSLHostConfigCertificate cert = new SSLHostConfigCertificate(sslHost, SSLHostConfigCertificate.Type.UNDEFINED);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);                     // Tomcat only reports its accepted issuers
        X509TrustManager trustManager = (X509TrustManager) tmf.getTrustManagers()[0];
        cert.setSslContext(SSLUtil.createSSLContext(autoCert.sslContext(), autoCert.keyManager(), trustManager));
        sslHost.addCertificate(cert);
        https.addSslHostConfig(sslHost);
        tomcat.getService().addConnector(http);
        tomcat.getService().addConnector(https);
        Context context = tomcat.addContext("", null);
        context.addServletContainerInitializer((classes, ctx) -> AcmeChallengeFilter.register(ctx, autoCert.http01()), null);
        Tomcat.addServlet(context, "app", new Hello());
        context.addServletMappingDecoded("/", "app", false);
        tomcat.start();
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
