package io.github.autocert4j.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;

/** DNS queries shared by the solver and the RFC 2136 provider: plain queries, the SOA walk-up, TXT matching. */
final class DnsLookup {

    // letters, digits, hyphens and underscores (for _acme-challenge), 1..63 per label, at least two labels
    private static final Pattern FQDN = Pattern.compile(
            "(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)+");

    private DnsLookup() {
    }

    /** Whether {@code s} is an absolute DNS name without trailing dot, lower case, at least two labels. */
    static boolean isFqdn(String s) {
        return s != null && FQDN.matcher(s).matches();
    }

    /** {@code fqdn} (no trailing dot) as an absolute dnsjava name; lower-cased. */
    static Name absolute(String fqdn) {
        String s = fqdn.toLowerCase(Locale.ROOT);
        if (s.endsWith(".")) {
            s = s.substring(0, s.length() - 1);
        }
        try {
            return Name.fromString(s + ".");
        } catch (TextParseException e) {
            throw new IllegalArgumentException("'" + fqdn + "' is not a DNS name", e);
        }
    }

    /** {@code name} without the trailing dot, for messages and the {@link DnsProvider} contract. */
    static String text(Name name) {
        String s = name.toString(true);
        return s.isEmpty() ? "." : s;
    }

    /**
     * What went wrong with a query or update that got no answer, for messages: the exception's message, or
     * "timed out" for a timeout without one (dnsjava's {@code SocketTimeoutException} has none), never "null".
     */
    static String why(IOException e) {
        String m = e.getMessage();
        if (m != null && !m.isBlank()) {
            return m;
        }
        return e instanceof java.net.SocketTimeoutException ? "timed out" : e.getClass().getSimpleName();
    }

    /** No server answered at all (timeouts, connection refused): the network or the server, not the configuration. */
    static final class NoAnswerException extends IOException {
        private static final long serialVersionUID = 1L;

        NoAnswerException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static String text(InetSocketAddress a) {
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /**
     * Sends one query (UDP, TCP when truncated) to {@code server}.
     *
     * @param recursion whether to set RD: true for a recursive resolver, false for an authoritative server
     * @throws IOException on timeout or transport failure
     */
    static Message query(InetSocketAddress server, Name name, int type, boolean recursion, Duration timeout)
            throws IOException {
        Message q = Message.newQuery(Record.newRecord(name, type, DClass.IN));
        if (!recursion) {
            q.getHeader().unsetFlag(Flags.RD);
        }
        SimpleResolver r = new SimpleResolver(server);
        r.setTimeout(timeout);
        return r.send(q);
    }

    /**
     * How long the next query may wait: {@code cap}, or less when the deadline is nearer.
     *
     * @throws IOException when less than 50 ms are left
     */
    static Duration timeLeft(long deadlineNanos, Duration cap) throws IOException {
        long left = deadlineNanos - System.nanoTime();
        if (left < 50_000_000L) {
            throw new IOException("out of time");
        }
        return Duration.ofNanos(Math.min(left, cap.toNanos()));
    }

    /**
     * Asks each server in turn until one answers; the answer, or the last failure. Each query waits at most
     * {@code cap}, and none starts after the deadline.
     */
    static Message queryAny(List<InetSocketAddress> servers, Name name, int type, boolean recursion, Duration cap,
            long deadlineNanos) throws IOException {
        IOException last = null;
        boolean answered = false;
        for (InetSocketAddress s : servers) {
            try {
                Message m = query(s, name, type, recursion, timeLeft(deadlineNanos, cap));
                answered = true;
                if (m.getRcode() != Rcode.SERVFAIL && m.getRcode() != Rcode.REFUSED) {
                    return m;
                }
                last = new IOException(text(s) + " answered " + Rcode.string(m.getRcode()) + " to " + text(name)
                        + " " + org.xbill.DNS.Type.string(type));
            } catch (IOException e) {
                last = new IOException(text(s) + " did not answer " + text(name) + " "
                        + org.xbill.DNS.Type.string(type) + " within " + cap.toMillis() + " ms (" + why(e) + ")", e);
            }
        }
        if (last == null) {
            throw new IOException("no DNS server to ask");
        }
        throw answered ? last : new NoAnswerException(last.getMessage(), last.getCause());
    }

    /**
     * Finds the zone {@code name} belongs to: asks for the SOA of {@code name} and of each parent in turn; the
     * zone is the owner of the SOA in the answer, or in the authority section of a negative answer (an NXDOMAIN or
     * NODATA names the zone in its SOA, so this usually takes one query).
     *
     * @param recursion true when {@code servers} are recursive resolvers, false when they are the authoritative
     *                  servers (e.g. the primary that takes dynamic updates)
     * @throws IOException if no SOA was found; the message says what each step answered
     */
    static Name findZone(Name name, List<InetSocketAddress> servers, boolean recursion, Duration cap,
            long deadlineNanos) throws IOException {
        List<String> seen = new ArrayList<>();
        boolean answered = false;
        Name n = name;
        // bounded by the number of labels (at most 127) and by the deadline
        while (n.labels() > 1 && deadlineNanos - System.nanoTime() > 50_000_000L) {
            Message m;
            try {
                m = queryAny(servers, n, org.xbill.DNS.Type.SOA, recursion, cap, deadlineNanos);
            } catch (IOException e) {
                answered |= !(e instanceof NoAnswerException);
                seen.add(e.getMessage());
                n = new Name(n, 1);
                continue;
            }
            answered = true;
            int rcode = m.getRcode();
            if (rcode == Rcode.NOERROR) {
                for (Record r : m.getSection(Section.ANSWER)) {
                    if (r instanceof SOARecord && r.getName().equals(n)) {
                        return n;
                    }
                }
            }
            if (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN) {
                for (Record r : m.getSection(Section.AUTHORITY)) {
                    if (r instanceof SOARecord && name.subdomain(r.getName())) {
                        return r.getName();
                    }
                }
            }
            seen.add(text(n) + " SOA: " + Rcode.string(rcode) + " without an SOA");
            n = new Name(n, 1);
        }
        String what = "cannot find the DNS zone of " + text(name) + " by SOA queries to "
                + servers.stream().map(DnsLookup::text).toList() + ": " + String.join("; ", seen);
        throw answered ? new IOException(what) : new NoAnswerException(what, null);
    }

    /** The TXT values at {@code name} in the answer section, each the concatenation of its strings. */
    static List<String> txtValues(Message m, Name name) {
        List<String> values = new ArrayList<>();
        for (Record r : m.getSection(Section.ANSWER)) {
            if (r instanceof TXTRecord txt && r.getName().equals(name)) {
                values.add(String.join("", txt.getStrings()));
            }
        }
        return values;
    }
}
