package io.github.autocert4j.dns;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.autocert4j.testkit.DnsServer;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/** Helpers for the DNS-01 tests: direct queries to the test DNS server and a provider that records its calls. */
final class DnsTestSupport {

    private DnsTestSupport() {
    }

    /** An RFC 2136 provider for the test server's zone, zone found by SOA, with the server's generated key. */
    static Rfc2136Provider provider(DnsServer dns) {
        return Rfc2136Provider.builder()
                .server(dns.address())
                .tsigKey(dns.tsigKeyName(), dns.tsigSecret())
                .ttl(Duration.ofSeconds(5))
                .timeout(Duration.ofSeconds(5))
                .build();
    }

    /**
     * The TXT values at {@code fqdn} as the server answers a direct, non-recursive query (its authoritative
     * data); fails the test on anything but NOERROR.
     */
    static List<String> txt(DnsServer dns, String fqdn) throws IOException {
        Name name = Name.fromString(fqdn + ".");
        Message q = Message.newQuery(Record.newRecord(name, Type.TXT, DClass.IN));
        q.getHeader().unsetFlag(Flags.RD);
        SimpleResolver r = new SimpleResolver(dns.address());
        r.setTimeout(Duration.ofSeconds(3));
        Message m = r.send(q);
        if (m.getRcode() != Rcode.NOERROR || !m.getHeader().getFlag(Flags.AA)) {
            throw new AssertionError("TXT " + fqdn + ": " + Rcode.string(m.getRcode()) + ", AA "
                    + m.getHeader().getFlag(Flags.AA) + "\n" + m + "\n" + dns.logTail(20));
        }
        List<String> values = new ArrayList<>();
        for (Record rec : m.getSection(Section.ANSWER)) {
            if (rec instanceof TXTRecord t && rec.getName().equals(name)) {
                values.add(String.join("", t.getStrings()));
            }
        }
        return values;
    }

    /** One call seen by a {@link RecordingProvider}. */
    record Call(String op, String fqdn, String value) {
    }

    /** Passes every call on to a real provider and records it, so tests can see what the solver did when. */
    static final class RecordingProvider implements DnsProvider {
        final DnsProvider delegate;
        final List<Call> calls = new CopyOnWriteArrayList<>();
        /** The pre-flight checks, kept apart from {@link #calls} (they change nothing). */
        final List<String> checks = new CopyOnWriteArrayList<>();

        RecordingProvider(DnsProvider delegate) {
            this.delegate = delegate;
        }

        @Override
        public void createTxt(String fqdn, String value) throws Exception {
            calls.add(new Call("create", fqdn, value));
            delegate.createTxt(fqdn, value);
        }

        @Override
        public void deleteTxt(String fqdn, String value) throws Exception {
            calls.add(new Call("delete", fqdn, value));
            delegate.deleteTxt(fqdn, value);
        }

        @Override
        public void check(String fqdn) throws Exception {
            checks.add(fqdn);
            delegate.check(fqdn);
        }

        @Override
        public String toString() {
            return "Recording[" + delegate + "]";
        }
    }
}
