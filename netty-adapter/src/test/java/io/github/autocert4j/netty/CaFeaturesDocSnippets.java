package io.github.autocert4j.netty;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.DryRunResult;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;

/**
 * The snippets of docs/ca-features.md, compiled (never run: they name public CAs). Keep them in
 * step with the document.
 */
final class CaFeaturesDocSnippets {
    private CaFeaturesDocSnippets() {
    }

    static AutoCert challengeTypes() {
        return AutoCert.builder()
                .directory(AutoCert.LETS_ENCRYPT_PRODUCTION)
                .agreeToTermsOfService(true)
                .certificate("example.com", "www.example.com")
                .challengeTypes("tls-alpn-01", "http-01")   // most preferred first
                .storageDirectory(Path.of("/var/lib/myapp/certs"))
                .build();
    }

    static void nettyTlsAlpn(AutoCert autoCert, ServerBootstrap httpsBootstrap, ChannelInboundHandlerAdapter myApp) throws Exception {
        SslContext hostTls = AutoCertSsl.serverContext(autoCert);          // or contextBuilder(...) with your ALPN, ciphers
        AutoCertTls tls = AutoCertTls.forServer(autoCert, hostTls);        // once, at start-up
        httpsBootstrap.childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                // where hostTls.newHandler(ch.alloc()) went
                ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new HttpObjectAggregator(65536), myApp);
            }
        });
    }

    static AutoCert ipAddresses() {
        return AutoCert.builder()
                .directory(AutoCert.LETS_ENCRYPT_PRODUCTION)
                .agreeToTermsOfService(true)
                .certificate("example.com")          // the default certificate for unknown names
                .certificate("203.0.113.7")          // an IP address: iPAddress SAN, "ip" identifier
                .allowIpAddresses(true)
                .profile("shortlived")               // Let's Encrypt issues IP certificates only under it
                .requireProfile(true)
                .storageDirectory(Path.of("/var/lib/myapp/certs"))
                .build();
    }

    static AutoCert externalAccountBinding() {
        return AutoCert.builder()
                .directory("https://acme.zerossl.com/v2/DV90")
                .externalAccountBinding("kid-from-the-ca", "hmac-key-base64url-from-the-ca")
                .agreeToTermsOfService(true)
                .certificate("example.com")
                .storageDirectory(Path.of("/var/lib/myapp/certs"))
                .build();
    }

    static AutoCert preferredChain() {
        return AutoCert.builder()
                .directory(AutoCert.LETS_ENCRYPT_PRODUCTION)
                .preferredChain("ISRG Root X1")
                .agreeToTermsOfService(true)
                .certificate("example.com")
                .storageDirectory(Path.of("/var/lib/myapp/certs"))
                .build();
    }

    static AutoCert failover() {
        return AutoCert.builder()
                .directory(AutoCert.LETS_ENCRYPT_PRODUCTION)             // tried first
                .acmeCa(AcmeCa.of("https://acme.zerossl.com/v2/DV90")    // then this one
                        .withExternalAccountBinding("kid", "hmac-key"))
                .agreeToTermsOfService(true)
                .certificate("example.com")
                .storageDirectory(Path.of("/var/lib/myapp/certs"))
                .build();
    }

    static void dryRun(AutoCert autoCert) throws Exception {
        DryRunResult result = autoCert.dryRun().get(5, TimeUnit.MINUTES);        // Let's Encrypt staging
        // or against any test CA:
        DryRunResult r = autoCert.dryRun(AcmeCa.of("https://127.0.0.1:14000/dir").withServerTrust(Path.of("pebble-ca.pem")))
                .get(5, TimeUnit.MINUTES);
        if (!r.succeeded()) {
            r.outcomes().stream().filter(o -> !o.succeeded())
                    .forEach(o -> System.err.println(o.names() + ": " + o.failure().getMessage()));
        }
        System.out.println(result.succeeded());
    }
}
