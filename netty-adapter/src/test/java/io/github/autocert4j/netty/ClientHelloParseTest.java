package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

/** AutoCertTls reads SNI and ALPN from real ClientHellos (produced by a JSSE client), and survives truncated ones. */
class ClientHelloParseTest {

    /** The ClientHello message body (from client_version on) a JSSE client sends. */
    static ByteBuf clientHello(String sni, String... protocols) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, null, null);
        SSLEngine client = ctx.createSSLEngine("peer", 443);
        client.setUseClientMode(true);
        SSLParameters p = client.getSSLParameters();
        p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
        p.setApplicationProtocols(protocols);
        client.setSSLParameters(p);
        ByteBuffer out = ByteBuffer.allocate(client.getSession().getPacketBufferSize());
        client.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        ByteBuf record = Unpooled.wrappedBuffer(out);
        int length = record.getUnsignedMedium(5 + 1);
        return record.slice(5 + 4, length); // skip the record header and the handshake header
    }

    @Test
    void readsSniAndAlpnOfAValidation() throws Exception {
        AutoCertTls.ClientHello h = AutoCertTls.parse(clientHello("App.Example.test", "acme-tls/1"));
        assertEquals("app.example.test", h.serverName());
        assertEquals(List.of("acme-tls/1"), h.protocols());
        assertTrue(h.isTlsAlpn01Validation());
    }

    @Test
    void browsersAndClientsWithoutSniAreNoValidation() throws Exception {
        AutoCertTls.ClientHello browser = AutoCertTls.parse(clientHello("app.example.test", "h2", "http/1.1"));
        assertEquals(List.of("h2", "http/1.1"), browser.protocols());
        assertFalse(browser.isTlsAlpn01Validation());
        AutoCertTls.ClientHello noSni = AutoCertTls.parse(clientHello(null));
        assertNull(noSni.serverName());
        assertTrue(noSni.protocols().isEmpty());
        assertFalse(noSni.isTlsAlpn01Validation());
    }

    @Test
    void truncatedClientHellosYieldWhatWasRead() throws Exception {
        ByteBuf full = clientHello("app.example.test", "acme-tls/1");
        for (int cut = 0; cut < full.readableBytes(); cut += 7) {
            AutoCertTls.ClientHello h = AutoCertTls.parse(full.slice(0, cut));
            assertFalse(h.isTlsAlpn01Validation() && cut < 40, "cut " + cut);
        }
    }
}
