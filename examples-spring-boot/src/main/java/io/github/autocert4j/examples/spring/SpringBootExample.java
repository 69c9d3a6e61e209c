package io.github.autocert4j.examples.spring;

import java.time.format.DateTimeFormatter;
import java.util.concurrent.atomic.AtomicBoolean;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertEventListener;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.ApplicationListener;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * A Spring Boot application on Tomcat with HTTPS from autocert4j-spring-boot-starter: nothing here
 * configures TLS. The starter reads {@code application.yml} ({@code autocert4j.*}), serves HTTPS with
 * the live certificate on {@code server.port}, answers the CA on {@code autocert4j.http-port}, and
 * renews in the background. This class only adds a page and prints, like the other examples,
 * {@code https-url:} and {@code connect-to:} once the first certificate is live, and
 * {@code certificate: serial=<hex> notAfter=<ISO>} each time a certificate goes live (a
 * {@link CertEventListener} bean receives every event).
 *
 * <pre>{@code
 * java -jar app.jar --autocert4j.domains=example.com,www.example.com --autocert4j.directory=letsencrypt
 * }</pre>
 */
@SpringBootApplication
@RestController
public class SpringBootExample {

    public static void main(String[] args) {
        SpringApplication.run(SpringBootExample.class, args);
    }

    @GetMapping("/")
    String hello() {
        return "hello from Spring Boot over HTTPS, certificate by autocert4j\n";
    }

    /** Prints each certificate that goes live (issued, renewed, or loaded from the store). */
    @Bean
    CertEventListener printCertificates(Endpoints endpoints) {
        return event -> {
            if (event instanceof CertEvent.Issued || event instanceof CertEvent.Loaded) {
                endpoints.certificateLive();
            }
            if (event instanceof CertEvent.Issued i) {
                print("certificate: serial=" + i.serial().toString(16) + " notAfter=" + DateTimeFormatter.ISO_INSTANT.format(i.notAfter()));
            } else if (event instanceof CertEvent.Loaded l) {
                print("certificate: serial=" + l.serial().toString(16) + " notAfter=" + DateTimeFormatter.ISO_INSTANT.format(l.notAfter()));
            } else if (event instanceof CertEvent.Failed f) {
                print("certificate-error: " + f.error());
            }
        };
    }

    /** Where to connect, printed once the server is up and its first certificate is live. */
    @Bean
    Endpoints endpoints(Environment env) {
        return new Endpoints(env);
    }

    @Bean
    ApplicationListener<ApplicationReadyEvent> printEndpoints(Endpoints endpoints) {
        return ready -> endpoints.serverReady();
    }

    /**
     * Prints {@code https-url:} and {@code connect-to:} once, when both the server is up and a
     * certificate is live (never while the self-signed fallback is served), whichever comes last.
     */
    static final class Endpoints {
        private final Environment env;
        private final AtomicBoolean ready = new AtomicBoolean();
        private final AtomicBoolean live = new AtomicBoolean();
        private final AtomicBoolean printed = new AtomicBoolean();

        Endpoints(Environment env) {
            this.env = env;
        }

        void serverReady() {
            ready.set(true);
            printOnce();
        }

        void certificateLive() {
            live.set(true);
            printOnce();
        }

        private void printOnce() {
            if (ready.get() && live.get() && printed.compareAndSet(false, true)) {
                String name = env.getProperty("autocert4j.domains", "localhost").split(",")[0].trim();
                String port = env.getProperty("local.server.port");
                print("https-url: https://" + name + ":" + port + "/");
                print("connect-to: " + env.getProperty("server.address", "127.0.0.1") + ":" + port);
            }
        }
    }

    private static void print(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
