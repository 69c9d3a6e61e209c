package io.github.autocert4j.examples;

import java.io.IOException;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.netty.AcmeChallengeHandler;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;

/**
 * One node of a fleet: a Netty server whose plain-HTTP port answers ACME HTTP-01 challenges (also those another
 * node's order published, looked up in PostgreSQL) and redirects everything else to HTTPS, and whose HTTPS port
 * serves the fleet's shared certificate. All nodes share one {@link PostgresCertStore}: one ACME account, one
 * certificate per name, one lock per certificate, so one node orders each renewal and the others adopt it within
 * milliseconds (LISTEN/NOTIFY). Every time a certificate goes live on the node it prints
 * {@code node=<k> certificate: serial=<hex> notAfter=<ISO-8601>}.
 *
 * <p>Settings, each a system property or else an environment variable:
 * <pre>
 * node.id        NODE_ID         name of this node in its output (required)
 * jdbc.url       JDBC_URL        e.g. jdbc:postgresql://db.internal:5432/app (required)
 * db.user        DB_USER         database user (required)
 * db.password    DB_PASSWORD     its password (use the environment variable: a -D is visible in ps)
 * pool.size      POOL_SIZE       HikariCP maximum pool size (default 5)
 * pool.timeout.ms POOL_TIMEOUT_MS how long a borrower waits for a pooled connection (default 5000)
 * lease.seconds  LEASE_SECONDS   lock lease: a dead node's renewal is taken over within it (default 30)
 * table.prefix   TABLE_PREFIX    the store's table prefix (default autocert4j_)
 * retry.seconds  RETRY_SECONDS   backoff after failures, e.g. 60,600,6000,86400 (the default)
 * ari            ARI             follow the CA's renewal window (default true)
 * admin.port     ADMIN_PORT      loopback control port for tests and the demo (default 0: none)
 * acme.directory, acme.trust, names, profile, email, http.port, https.port, bind: as in {@link ExampleConfig}
 * </pre>
 *
 * <p>Why HikariCP and not the driver's own {@code PGSimpleDataSource}: a server keeps a pool anyway; the pool
 * bounds how long a borrower waits ({@code connectionTimeout}), so an exhausted pool or a database that is down
 * fails an operation within seconds instead of hanging it; it replaces connections that a database restart broke
 * (checked before reuse); and {@code initializationFailTimeout = -1} lets the node start while the database is
 * down. {@code PGSimpleDataSource} would open (and authenticate) a new connection for every operation, including
 * every challenge lookup.
 *
 * <p>The admin port (off by default; loopback only, no authentication: for tests and the demo, never expose it)
 * answers {@code GET /status}, {@code POST /renew} (renewNow, waits for the result), {@code POST /hog} (borrows
 * every connection of the pool and keeps them, to exhaust it) and {@code POST /release}.
 *
 * <pre>{@code
 * NODE_ID=1 JDBC_URL=jdbc:postgresql://127.0.0.1:5432/app DB_USER=app DB_PASSWORD=... \
 *   ACME_DIRECTORY=https://127.0.0.1:14000/dir ACME_TRUST=pebble-ca.pem HTTP_PORT=8081 HTTPS_PORT=8441 \
 *   java -cp ... io.github.autocert4j.examples.ClusterNode
 * }</pre>
 */
public final class ClusterNode implements AutoCloseable {

    /**
     * The node's settings, see the class comment. {@code toString()} masks the password.
     *
     * <pre>{@code
     * ClusterNode.Settings s = ClusterNode.Settings.fromEnvironment();
     * }</pre>
     */
    public record Settings(String nodeId, String jdbcUrl, String dbUser, String dbPassword, int poolSize, Duration poolTimeout,
                           Duration lease, String tablePrefix, List<Duration> backoff, boolean ari, int adminPort,
                           ExampleConfig example) {

        /** Reads every setting; fails naming the property to set when a required one is missing. */
        public static Settings fromEnvironment() {
            String node = required("node.id", "NODE_ID", "e.g. 1");
            String url = required("jdbc.url", "JDBC_URL", "e.g. jdbc:postgresql://127.0.0.1:5432/app");
            String user = required("db.user", "DB_USER", "the database user the store connects as");
            String password = ExampleConfig.setting("db.password", "DB_PASSWORD", "");
            List<Duration> backoff = Arrays.stream(ExampleConfig.setting("retry.seconds", "RETRY_SECONDS", "60,600,6000,86400").split(","))
                    .map(String::trim).map(v -> Duration.ofMillis((long) (Double.parseDouble(v) * 1000))).toList();
            return new Settings(node, url, user, password,
                    Integer.parseInt(ExampleConfig.setting("pool.size", "POOL_SIZE", "5")),
                    Duration.ofMillis(Long.parseLong(ExampleConfig.setting("pool.timeout.ms", "POOL_TIMEOUT_MS", "5000"))),
                    Duration.ofSeconds(Long.parseLong(ExampleConfig.setting("lease.seconds", "LEASE_SECONDS", "30"))),
                    ExampleConfig.setting("table.prefix", "TABLE_PREFIX", "autocert4j_"),
                    backoff,
                    Boolean.parseBoolean(ExampleConfig.setting("ari", "ARI", "true")),
                    Integer.parseInt(ExampleConfig.setting("admin.port", "ADMIN_PORT", "0")),
                    ExampleConfig.fromEnvironment());
        }

        private static String required(String property, String env, String example) {
            String v = ExampleConfig.setting(property, env, null);
            if (v == null) {
                throw new IllegalArgumentException("set -D" + property + "=... (or " + env + "): " + example);
            }
            return v;
        }

        @Override
        public String toString() {
            return "Settings[node " + nodeId + ", " + jdbcUrl + " as " + dbUser + ", pool " + poolSize + ", lease " + lease
                    + ", prefix " + tablePrefix + ", " + example + "]";
        }
    }

    private final Settings settings;
    private final HikariDataSource pool;
    private final PostgresCertStore store;
    private final AutoCert autoCert;
    private final EventLoopGroup group;
    private final Channel http;
    private final Channel https;
    private final HttpServer admin;
    private final ExecutorService adminThreads;
    private final List<Connection> hogged = new ArrayList<>();
    private final AtomicReference<BigInteger> lastIssuedHere = new AtomicReference<>();

    private ClusterNode(Settings s) throws Exception {
        this.settings = s;
        ExampleConfig c = s.example();
        this.pool = pool(s);
        this.store = PostgresCertStore.builder(pool).tablePrefix(s.tablePrefix()).leaseDuration(s.lease())
                .listenDataSource(listenSession(s)) // LISTEN back within a second after an outage, not at the pool's backoff
                .build();
        AutoCertBuilder builder = AutoCert.builder()
                .directory(URI.create(c.directory()))
                .agreeToTermsOfService(true)
                .certificate(c.names().toArray(String[]::new))
                .store(store)
                .renewal(RenewalPolicy.defaults().withBackoff(s.backoff()).withAri(s.ari()))
                .listener(this::print);
        if (c.trust() != null) {
            builder.acmeServerTrust(c.trust());
        }
        if (c.profile() != null) {
            builder.profile(c.profile());
        }
        if (c.email() != null) {
            builder.email(c.email());
        }
        this.autoCert = builder.build(); // does not fail while PostgreSQL is down: the self-signed fallback is served meanwhile
        SslContext tls = AutoCertSsl.serverContext(autoCert);
        this.group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        this.http = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(),
                                new AcmeChallengeHandler(autoCert.http01()), // answers tokens of any node's order
                                new HttpObjectAggregator(65536),
                                new NettyExample.RedirectToHttps(c.httpsPort()));
                    }
                }).bind(new InetSocketAddress(c.bind(), c.httpPort())).sync().channel();
        this.https = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new HttpObjectAggregator(65536),
                                new NodeApp(s.nodeId()));
                    }
                }).bind(new InetSocketAddress(c.bind(), c.httpsPort())).sync().channel();
        if (s.adminPort() > 0) {
            this.adminThreads = Executors.newFixedThreadPool(4, r -> {
                Thread t = new Thread(r, "node-admin");
                t.setDaemon(true);
                return t;
            });
            this.admin = HttpServer.create(new InetSocketAddress("127.0.0.1", s.adminPort()), 16);
            admin.setExecutor(adminThreads);
            admin.createContext("/", this::adminRequest);
            admin.start();
        } else {
            this.admin = null;
            this.adminThreads = null;
        }
    }

    /** Runs a node until the process is stopped (SIGTERM/Ctrl-C close it cleanly). */
    public static void main(String[] args) throws Exception {
        ClusterNode node = start(Settings.fromEnvironment());
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "node-stop"));
        node.https.closeFuture().sync();
    }

    /** Binds both listeners (and the admin port), starts the certificate manager and prints a {@code listening:} line. */
    public static ClusterNode start(Settings s) throws Exception {
        ClusterNode node = new ClusterNode(s);
        node.autoCert.start();
        node.println("listening: http=" + ((InetSocketAddress) node.http.localAddress()).getPort()
                + " https=" + ((InetSocketAddress) node.https.localAddress()).getPort()
                + " admin=" + (node.admin == null ? 0 : node.admin.getAddress().getPort()));
        return node;
    }

    /** This node's certificate manager. */
    public AutoCert autoCert() {
        return autoCert;
    }

    @Override
    public void close() {
        if (admin != null) {
            admin.stop(0);
            adminThreads.shutdownNow();
        }
        releaseHogged();
        autoCert.close();
        store.close();
        pool.close();
        http.close().syncUninterruptibly();
        https.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * The unpooled DataSource of the store's LISTEN session: one connection for as long as the node runs, so it need
     * not take one of the pool's; after an outage it reconnects at the watch's one-second retry, where HikariCP's
     * reconnect backoff would wait up to 5 s.
     */
    private static org.postgresql.ds.PGSimpleDataSource listenSession(Settings s) {
        org.postgresql.ds.PGSimpleDataSource d = new org.postgresql.ds.PGSimpleDataSource();
        d.setURL(s.jdbcUrl());
        d.setUser(s.dbUser());
        d.setPassword(s.dbPassword());
        d.setConnectTimeout(2);
        d.setApplicationName("autocert4j-node-" + s.nodeId() + "-listen");
        return d;
    }

    private static HikariDataSource pool(Settings s) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("autocert4j-node-" + s.nodeId());
        config.setJdbcUrl(s.jdbcUrl());
        config.setUsername(s.dbUser());
        config.setPassword(s.dbPassword());
        config.setMaximumPoolSize(s.poolSize());
        // 0, not 1: a pool that keeps a minimum refills it in the background while the database is down, with a backoff
        // that grows to 5 s (HikariCP), and a node would then catch up only that late after the database answers again;
        // connecting on demand reconnects at the first operation. The store's operations are rare: nothing waits idle.
        config.setMinimumIdle(0);
        config.setConnectionTimeout(s.poolTimeout().toMillis()); // bounded wait when exhausted or down
        config.setInitializationFailTimeout(-1);                   // start even while PostgreSQL is down
        config.addDataSourceProperty("connectTimeout", "3");       // seconds: a database that is down fails fast
        config.addDataSourceProperty("socketTimeout", "60");       // seconds: a dead network cannot hang a thread
        config.addDataSourceProperty("tcpKeepAlive", "true");
        config.addDataSourceProperty("ApplicationName", "autocert4j-node-" + s.nodeId());
        return new HikariDataSource(config);
    }

    // ------------------------------------------------------------------ output

    private void print(CertEvent event) {
        if (event instanceof CertEvent.Issued i) {
            lastIssuedHere.set(i.serial());
            println("certificate: serial=" + i.serial().toString(16) + " notAfter=" + DateTimeFormatter.ISO_INSTANT.format(i.notAfter())
                    + " (ordered by this node)");
        } else if (event instanceof CertEvent.Loaded l) {
            println("certificate: serial=" + l.serial().toString(16) + " notAfter=" + DateTimeFormatter.ISO_INSTANT.format(l.notAfter())
                    + " (from the store)");
        } else if (event instanceof CertEvent.Failed f) {
            println("certificate-error: " + f.error() + (f.nextAttempt() == null ? "" : " (next attempt " + f.nextAttempt() + ")"));
        }
    }

    private synchronized void println(String line) {
        System.out.println("node=" + settings.nodeId() + " " + line);
        System.out.flush();
    }

    // ------------------------------------------------------------------ admin port

    private void adminRequest(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String method = ex.getRequestMethod();
            String name = settings.example().names().get(0);
            if (method.equals("GET") && path.equals("/status")) {
                reply(ex, 200, status(name));
            } else if (method.equals("POST") && path.equals("/renew")) {
                try {
                    CertificateStatus s = autoCert.renewNow(name).get(90, TimeUnit.SECONDS);
                    reply(ex, 200, "serial=" + s.serial().toString(16) + " ordered-here=" + s.serial().equals(lastIssuedHere.get()));
                } catch (ExecutionException e) {
                    reply(ex, 500, "failed: " + e.getCause().getMessage());
                } catch (TimeoutException e) {
                    reply(ex, 504, "failed: no result within 90 s");
                }
            } else if (method.equals("POST") && path.equals("/hog")) {
                reply(ex, 200, "held=" + hogPool());
            } else if (method.equals("POST") && path.equals("/release")) {
                reply(ex, 200, "released=" + releaseHogged());
            } else {
                reply(ex, 404, "GET /status, POST /renew, POST /hog, POST /release");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String status(String name) {
        CertificateStatus s = autoCert.status(name).orElseThrow();
        HikariPoolMXBean p = pool.getHikariPoolMXBean();
        return "node=" + settings.nodeId() + " state=" + s.state() + " serial=" + (s.serial() == null ? "-" : s.serial().toString(16))
                + " answered=" + autoCert.http01().answeredCount() + " failures=" + s.consecutiveFailures()
                + " lastAttempt=" + (s.lastAttempt() == null ? "-" : s.lastAttempt())
                + " pool.active=" + (p == null ? 0 : p.getActiveConnections()) + " pool.total=" + (p == null ? 0 : p.getTotalConnections())
                + " hogged=" + hoggedCount();
    }

    /** Borrows connections until the pool refuses one (after its connection timeout), and keeps them. */
    private int hogPool() {
        int n = 0;
        while (n < settings.poolSize()) {
            try {
                Connection c = pool.getConnection();
                synchronized (hogged) {
                    hogged.add(c);
                }
                n++;
            } catch (SQLException exhausted) {
                break;
            }
        }
        return hoggedCount();
    }

    private int hoggedCount() {
        synchronized (hogged) {
            return hogged.size();
        }
    }

    private int releaseHogged() {
        List<Connection> held;
        synchronized (hogged) {
            held = new ArrayList<>(hogged);
            hogged.clear();
        }
        for (Connection c : held) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // a broken connection: the pool discards it
            }
        }
        return held.size();
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = (body + "\n").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** The app on the HTTPS port: says which node answered. */
    static final class NodeApp extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String nodeId;

        NodeApp(String nodeId) {
            this.nodeId = nodeId;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.copiedBuffer("hello over TLS from autocert4j node " + nodeId + "\n", StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            HttpUtil.setKeepAlive(r, HttpUtil.isKeepAlive(req));
            ctx.writeAndFlush(r);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // e.g. a client that does not trust the self-signed fallback
        }
    }
}
