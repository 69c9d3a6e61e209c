package io.github.autocert4j.spring.boot;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.PebbleServer;
import org.springframework.boot.Banner;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.io.DefaultResourceLoader;

/** A real Boot application with the starter, on one server, for one test; closed by the test. */
final class BootApp implements AutoCloseable {
    final ConfigurableApplicationContext context;
    final Server server;

    private BootApp(ConfigurableApplicationContext context, Server server) {
        this.context = context;
        this.server = server;
    }

    /** DataSource auto-configuration on Boot 3.5 and on Boot 4.0 (a class name absent on a line is ignored). */
    static final List<String> DATA_SOURCE_AUTO_CONFIGURATIONS = List.of(
            "org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration",
            "org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration");

    /** The properties that point the starter at {@code pebble}, for a certificate for {@code name}. */
    static Map<String, String> pebbleProperties(PebbleServer pebble, String name, Path store) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("autocert4j.domains", name);
        p.put("autocert4j.directory", pebble.directoryUri().toString());
        p.put("autocert4j.acme-server-trust", pebble.acmeServerCaPem().toString());
        p.put("autocert4j.agree-terms-of-service", "true");
        p.put("autocert4j.storage-directory", store.toString());
        p.put("autocert4j.http-port", Integer.toString(pebble.httpPort()));
        return p;
    }

    /** Starts the application (HTTPS on a free loopback port) with {@code properties} as command-line arguments. */
    static BootApp start(Server server, Map<String, String> properties) {
        return start(server, properties, new Class<?>[0]);
    }

    /** Like {@link #start(Server, Map)}, with the application's own configuration classes {@code extra} (e.g. its own beans). */
    static BootApp start(Server server, Map<String, String> properties, Class<?>... extra) {
        return start(server, properties, null, extra);
    }

    /** Like {@link #start(Server, Map, Class[])}, loading the application's classes through {@code classLoader} (null: the default). */
    static BootApp start(Server server, Map<String, String> properties, ClassLoader classLoader, Class<?>... extra) {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("server.address", "127.0.0.1"); // tests use loopback only
        all.put("server.port", "0");
        all.put("management.endpoints.web.exposure.include", "health,autocert4j,metrics");
        all.put("management.endpoint.health.show-details", "always");
        all.put("spring.reactor.netty.shutdown-quiet-period", "0s"); // Reactor's 2 s event-loop quiet period, per application
        all.putAll(BootLine.properties(server));
        if (!properties.containsKey("spring.datasource.url")) {
            // spring-boot-starter-jdbc is on the test class path for the PostgreSQL store: without a database, no DataSource
            // (added to the Boot line's own exclusions: on Boot 4.0 they pick the server)
            all.merge("spring.autoconfigure.exclude", String.join(",", DATA_SOURCE_AUTO_CONFIGURATIONS), (line, ds) -> line + "," + ds);
        }
        all.putAll(properties);
        List<String> args = new ArrayList<>();
        all.forEach((k, v) -> args.add("--" + k + "=" + v));
        List<Class<?>> sources = new ArrayList<>(List.of(TestApplication.class));
        sources.addAll(List.of(BootLine.sources(server)));
        sources.addAll(List.of(extra));
        SpringApplicationBuilder builder = new SpringApplicationBuilder(sources.toArray(Class<?>[]::new));
        if (classLoader != null) {
            builder.resourceLoader(new DefaultResourceLoader(classLoader));
        }
        ConfigurableApplicationContext context = builder
                .web(server.webType)
                .bannerMode(Banner.Mode.OFF)
                .run(args.toArray(String[]::new));
        return new BootApp(context, server);
    }

    AutoCert autoCert() {
        return context.getBean(AutoCert.class);
    }

    int httpsPort() {
        return context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    }

    InetSocketAddress https() {
        return new InetSocketAddress("127.0.0.1", httpsPort());
    }

    /** Simple class name of Boot's running WebServer (the accessor's interface moved between Boot lines, the method did not). */
    String webServerClass() throws ReflectiveOperationException {
        Object webServer = context.getClass().getMethod("getWebServer").invoke(context);
        return webServer.getClass().getSimpleName();
    }

    @Override
    public void close() {
        context.close();
    }
}
