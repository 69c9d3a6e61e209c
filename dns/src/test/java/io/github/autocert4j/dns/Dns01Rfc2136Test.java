package io.github.autocert4j.dns;

import static io.github.autocert4j.dns.DnsTestSupport.provider;
import static io.github.autocert4j.dns.DnsTestSupport.txt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Set;

import io.github.autocert4j.testkit.DnsServer;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TSIG;
import org.xbill.DNS.Type;
import org.xbill.DNS.Update;

/** RFC 2136 updates with TSIG against a real Knot DNS server on loopback, checked by direct queries. */
@Timeout(120)
@IntegrationTest
class Dns01Rfc2136Test {

    static DnsServer dns;

    @BeforeAll
    static void startDns() {
        dns = DnsServer.start();
    }

    @AfterAll
    static void stopDns() {
        dns.close();
    }

    @Test
    void createAddsValuesAndDeleteRemovesExactlyOne() throws Exception {
        Rfc2136Provider p = provider(dns);
        String name = "_acme-challenge.create.autocert4j.test";
        assertEquals(List.of(), txt(dns, name));

        p.createTxt(name, "value-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        p.createTxt(name, "value-two-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        assertEquals(Set.of("value-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "value-two-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
                Set.copyOf(txt(dns, name)), "both values served at once (example.com + *.example.com)");

        p.createTxt(name, "value-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assertEquals(2, txt(dns, name).size(), "adding a value that is there is no error and no duplicate");

        p.deleteTxt(name, "value-one-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assertEquals(List.of("value-two-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), txt(dns, name));

        p.deleteTxt(name, "value-two-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        assertEquals(List.of(), txt(dns, name));
        p.deleteTxt(name, "value-two-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"); // absent: no error
    }

    @Test
    void explicitZoneIsUsedAndNamesOutsideItAreRefusedWithAFix() throws Exception {
        Rfc2136Provider p = Rfc2136Provider.builder().server(dns.address()).tsigKey(dns.tsigKeyName(), dns.tsigSecret())
                .zone("autocert4j.test").build();
        p.createTxt("_acme-challenge.zone.autocert4j.test", "zone-value");
        assertEquals(List.of("zone-value"), txt(dns, "_acme-challenge.zone.autocert4j.test"));
        p.deleteTxt("_acme-challenge.zone.autocert4j.test", "zone-value");
        assertEquals(List.of(), txt(dns, "_acme-challenge.zone.autocert4j.test"));

        IOException e = assertThrows(IOException.class, () -> p.createTxt("_acme-challenge.other.test", "v"));
        assertTrue(e.getMessage().contains("not in the configured zone autocert4j.test") && e.getMessage().contains("Fix:"),
                e.getMessage());
    }

    @Test
    void zoneNotServedByTheServerIsAClearError() {
        IOException e = assertThrows(IOException.class,
                () -> provider(dns).createTxt("_acme-challenge.www.example.org", "v"));
        assertTrue(e.getMessage().contains("cannot find the DNS zone of _acme-challenge.www.example.org"), e.getMessage());
        assertTrue(e.getMessage().contains("Fix: check that " + DnsLookup.text(dns.address()) + " is the primary"),
                e.getMessage());
    }

    @Test
    void wrongSecretIsRefusedWithBadsigAndTheFix() throws Exception {
        byte[] other = Base64.getDecoder().decode(dns.tsigSecret());
        other[0] ^= 1;
        String wrongSecret = Base64.getEncoder().encodeToString(other);
        Rfc2136Provider p = Rfc2136Provider.builder().server(dns.address()).tsigKey(dns.tsigKeyName(), wrongSecret)
                .zone(dns.zone()).build();
        String name = "_acme-challenge.badsig.autocert4j.test";
        IOException e = assertThrows(IOException.class, () -> p.createTxt(name, "never-stored"));
        String m = e.getMessage();
        assertTrue(m.contains("refused the update") && m.contains("TSIG key '" + dns.tsigKeyName() + "'")
                && m.contains("(BADSIG)") && m.contains("Fix: check the key name and secret"), m);
        assertFalse(m.contains(wrongSecret) || m.contains(dns.tsigSecret()), "no secret in the message: " + m);
        assertEquals(List.of(), txt(dns, name), "nothing was stored");
    }

    @Test
    void unknownKeyNameIsRefusedWithBadkey() throws Exception {
        Rfc2136Provider p = Rfc2136Provider.builder().server(dns.address()).tsigKey("no-such-key", dns.tsigSecret())
                .zone(dns.zone()).build();
        IOException e = assertThrows(IOException.class, () -> p.createTxt("_acme-challenge.badkey.autocert4j.test", "v"));
        assertTrue(e.getMessage().contains("TSIG key 'no-such-key'") && e.getMessage().contains("(BADKEY)")
                && e.getMessage().contains("Fix:"), e.getMessage());
        assertEquals(List.of(), txt(dns, "_acme-challenge.badkey.autocert4j.test"));
    }

    @Test
    void theHarnessLetsTheKeyUpdateTxtRecordsOnly() throws Exception {
        // The test server's ACL allows its key TXT updates only: a signed A update is denied
        // (Knot answers NOTAUTH with TSIG error BADKEY for a key that is not allowed) and changes nothing.
        Update u = new Update(Name.fromString("autocert4j.test."));
        u.add(Name.fromString("evil.autocert4j.test."), Type.A, 60, "127.0.0.9");
        SimpleResolver r = new SimpleResolver(dns.address());
        r.setTSIGKey(new TSIG(TSIG.HMAC_SHA256, dns.tsigKeyName() + ".", dns.tsigSecret()));
        r.setTCP(true);
        Message response = r.send(u);
        assertTrue(response.getRcode() == Rcode.NOTAUTH || response.getRcode() == Rcode.REFUSED,
                Rcode.string(response.getRcode()) + "\n" + dns.logTail(10));
        Message q = Message.newQuery(org.xbill.DNS.Record.newRecord(Name.fromString("evil.autocert4j.test."), Type.A,
                DClass.IN));
        List<org.xbill.DNS.Record> a = new SimpleResolver(dns.address()).send(q).getSection(Section.ANSWER);
        assertEquals(List.of("127.0.0.1"), a.stream().map(rec -> rec.rdataToString()).toList(),
                "only the zone's wildcard A answers");
    }

    @Test
    void serverThatDoesNotAnswerFailsWithinTheTimeout() {
        int closed = FreePorts.loopback();
        Rfc2136Provider p = Rfc2136Provider.builder().server(new InetSocketAddress("127.0.0.1", closed))
                .tsigKey(dns.tsigKeyName(), dns.tsigSecret()).zone(dns.zone()).timeout(Duration.ofSeconds(1)).build();
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> p.createTxt("_acme-challenge.autocert4j.test", "v"));
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(5)) < 0);
        assertTrue(e.getMessage().contains("did not answer the update") && e.getMessage().contains("127.0.0.1:" + closed)
                && e.getMessage().contains("Fix:"), e.getMessage());
    }

    @Test
    void secretNeverInToStringOrErrors() {
        Rfc2136Provider p = provider(dns);
        assertFalse(p.toString().contains(dns.tsigSecret()), p.toString());
        assertTrue(p.toString().contains(dns.tsigKeyName()) && p.toString().contains("hmac-sha256"), p.toString());
        assertFalse(dns.toString().contains(dns.tsigSecret()), dns.toString());

        String notBase64 = "s3cr3t!!not*base64";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Rfc2136Provider.builder().server(dns.address()).tsigKey("k", notBase64).build());
        assertTrue(e.getMessage().contains("tsigKey: the secret is not base64"), e.getMessage());
        assertFalse(e.getMessage().contains(notBase64), e.getMessage());
    }

    @Test
    void builderNamesEveryWrongFieldWithItsFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Rfc2136Provider.builder().tsigAlgorithm("hmac-sha3").zone("not a zone").ttl(Duration.ZERO).build());
        String m = e.getMessage();
        for (String field : List.of("server: not set", "tsigKey: no key name", "tsigKey: no secret",
                "tsigAlgorithm: 'hmac-sha3' is not supported", "zone: 'not a zone'", "ttl: PT0S")) {
            assertTrue(m.contains(field), field + " in " + m);
        }
        assertEquals(m.split("\n").length - 1, m.split("Fix:").length - 1, "every line has a fix: " + m);
    }
}
