package io.github.autocert4j.examples;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.netty.AcmeChallengeHandler;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The set-up snippet of docs/cluster.md ("Running a cluster"), compiled with the tests; {@link ClusterDocsTest}
 * checks that the document quotes it (and its imports) unchanged and runs it against a real PostgreSQL.
 */
final class ClusterSetupExample {

    private ClusterSetupExample() {
    }

    record Node(HikariDataSource pool, PostgresCertStore store, AutoCert autoCert, ChannelInitializer<SocketChannel> plainHttp,
                SslContext https) {
    }

    static Node setUp(String jdbcUrl, String user, String password, URI directory) throws IOException {
        // docs:cluster:begin
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);                      // e.g. "jdbc:postgresql://db.internal:5432/app?sslmode=verify-full"
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(5);                    // the store: 1 per operation + 1 per lock heartbeat
        config.setMinimumIdle(0);                        // connect on demand: no background refill backing off (up to 5 s)
        config.setConnectionTimeout(5_000);              // an exhausted pool fails an attempt within 5 s (it is retried)
        config.setInitializationFailTimeout(-1);         // start even while PostgreSQL is down
        config.addDataSourceProperty("connectTimeout", "3");  // seconds: a database that is down fails fast
        config.addDataSourceProperty("socketTimeout", "60");  // seconds: a dead network cannot hang a thread
        HikariDataSource pool = new HikariDataSource(config);
        PGSimpleDataSource listen = new PGSimpleDataSource(); // the LISTEN session: a connection of its own, not the pool's
        listen.setURL(jdbcUrl);
        listen.setUser(user);
        listen.setPassword(password);
        listen.setConnectTimeout(3);

        PostgresCertStore store = PostgresCertStore.builder(pool)
                .listenDataSource(listen)                // hears peers again within a second after an outage
                .leaseDuration(Duration.ofSeconds(30))   // a dead node's renewal is taken over within 30 s
                .build();
        AutoCert autoCert = AutoCert.builder()
                .directory(directory)                    // e.g. AutoCert.LETS_ENCRYPT_PRODUCTION
                .agreeToTermsOfService(true)
                .email("ops@example.com")
                .certificate("example.com", "www.example.com")
                .store(store)                            // the same store on every node
                .build();

        // Port 80 of every node, behind the load balancer: answers the CA whichever node placed the order.
        ChannelInitializer<SocketChannel> plainHttp = new ChannelInitializer<>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), new AcmeChallengeHandler(autoCert.http01()));
                // ... then the application's own handlers (e.g. a redirect to HTTPS)
            }
        };
        SslContext https = AutoCertSsl.serverContext(autoCert); // port 443: the fleet's certificate, swapped live
        autoCert.start();
        // docs:cluster:end
        return new Node(pool, store, autoCert, plainHttp, https);
    }
}
