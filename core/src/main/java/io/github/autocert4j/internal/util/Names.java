package io.github.autocert4j.internal.util;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The one place that decides what a certificate name is: normalization (trimmed, lower case, IP
 * addresses in canonical form) and validation with an error that names the fix. Used by the
 * builder, by {@code addCertificate} and for names seen in handshakes.
 */
public final class Names {
    private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9a-f:.]+");

    private Names() {
    }

    /** Lower case, trimmed; an IP address literal in canonical form; null stays null. */
    public static String normalize(String name) {
        if (name == null) {
            return null;
        }
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (isIpAddress(n)) {
            try {
                InetAddress a = InetAddress.getByName(n); // a literal: no lookup
                return a.getAddress().length == 16 ? compressIpv6(a.getHostAddress()) : a.getHostAddress();
            } catch (UnknownHostException e) {
                return n;
            }
        }
        return n;
    }

    /** RFC 5952 text form: no leading zeros, the longest run (two or more) of zero groups as "::". */
    private static String compressIpv6(String full) {
        String[] groups = full.split("%")[0].split(":");
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < groups.length; ) {
            if (Integer.parseInt(groups[i], 16) == 0) {
                int j = i;
                while (j < groups.length && Integer.parseInt(groups[j], 16) == 0) {
                    j++;
                }
                if (j - i > bestLen) {
                    bestStart = i;
                    bestLen = j - i;
                }
                i = j;
            } else {
                i++;
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < groups.length; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(Integer.parseInt(groups[i], 16)));
        }
        return sb.toString();
    }

    /** Whether {@code name} is an IPv4 or IPv6 address literal (never resolves anything). */
    public static boolean isIpAddress(String name) {
        if (name == null || name.isEmpty()) {
            return false;
        }
        if (onlyDigitsAndDots(name) && IPV4.matcher(name).matches()) {
            return true;
        }
        if (name.indexOf(':') < 0 || !IPV6_CHARS.matcher(name).matches()) {
            return false;
        }
        try {
            return InetAddress.getByName(name).getAddress().length == 16;
        } catch (UnknownHostException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Null if {@code name} (already normalized) may be ordered, else what is wrong with it and the
     * fix, prefixed with {@code field}.
     */
    public static String problem(String field, String name, boolean wildcardAllowed, boolean ipAllowed) {
        if (name == null || name.isEmpty()) {
            return field + ": empty name. Fix: use a fully qualified DNS name such as \"example.com\"";
        }
        if (isIpAddress(name)) {
            return ipAllowed ? null : field + ": '" + name + "' is an IP address, which needs a CA and profile that issue IP-address "
                    + "certificates. Fix: use a DNS name that points at this server, or enable them with .allowIpAddresses(true) "
                    + "and a profile that allows them (Let's Encrypt: \"shortlived\")";
        }
        String host = name;
        if (name.startsWith("*.")) {
            if (!wildcardAllowed) {
                return field + ": '" + name + "' is a wildcard, which CAs validate only by DNS-01. Fix: add .challengeSolver(yourDns01Solver) or list the host names instead";
            }
            host = name.substring(2);
        }
        if (host.length() > 253 || !host.contains(".") || host.endsWith(".")) {
            return field + ": '" + name + "' is not a fully qualified DNS name. Fix: use a public name such as \"app.example.com\" (no trailing dot)";
        }
        for (String label : host.split("\\.", -1)) {
            if (!isValidLabel(label)) {
                return field + ": '" + name + "' has an invalid label '" + label + "'. Fix: letters, digits and inner hyphens only, 1-63 characters per label"
                        + (label.contains("*") ? "; a wildcard may only be the whole leftmost label (*.example.com)" : "");
            }
        }
        if (onlyDigitsAndDots(host)) {
            return field + ": '" + name + "' looks like an IP address but is not one. Fix: use a DNS name or a valid IP address";
        }
        return io.github.autocert4j.internal.names.PublicSuffixGuard.problem(field, name);
    }

    /**
     * A DNS label as CAs accept it: 1-63 of a-z, 0-9 and '-', starting and ending with a letter or
     * digit. A loop, not a regular expression: the builder checks every name, 100,000 at a time.
     */
    public static boolean isValidLabel(String label) {
        int n = label.length();
        if (n == 0 || n > 63 || !letterOrDigit(label.charAt(0)) || !letterOrDigit(label.charAt(n - 1))) {
            return false;
        }
        for (int i = 1; i < n - 1; i++) {
            char c = label.charAt(i);
            if (!letterOrDigit(c) && c != '-') {
                return false;
            }
        }
        return true;
    }

    private static boolean letterOrDigit(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    }

    private static boolean onlyDigitsAndDots(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < '0' || c > '9') && c != '.') {
                return false;
            }
        }
        return true;
    }

    /**
     * The identifier a validation handshake with this SNI is about: the name itself, or for
     * {@code in-addr.arpa} / {@code ip6.arpa} names the IP address (RFC 8738 §6); null if none.
     */
    public static String acmeIdentifier(String serverName) {
        if (serverName == null || serverName.isEmpty()) {
            return null;
        }
        String name = serverName.toLowerCase(Locale.ROOT);
        if (name.endsWith(".")) {
            name = name.substring(0, name.length() - 1);
        }
        try {
            if (name.endsWith(".in-addr.arpa")) {
                String[] octets = name.substring(0, name.length() - ".in-addr.arpa".length()).split("\\.");
                if (octets.length != 4) {
                    return null;
                }
                byte[] ip = new byte[4];
                for (int i = 0; i < 4; i++) {
                    int v = Integer.parseInt(octets[3 - i]);
                    if (v < 0 || v > 255) {
                        return null;
                    }
                    ip[i] = (byte) v;
                }
                return Names.normalize(InetAddress.getByAddress(ip).getHostAddress());
            }
            if (name.endsWith(".ip6.arpa")) {
                String[] nibbles = name.substring(0, name.length() - ".ip6.arpa".length()).split("\\.");
                if (nibbles.length != 32) {
                    return null;
                }
                byte[] ip = new byte[16];
                for (int i = 0; i < 32; i++) {
                    int v = Integer.parseInt(nibbles[31 - i], 16);
                    ip[i / 2] |= (byte) (i % 2 == 0 ? v << 4 : v);
                }
                return Names.normalize(InetAddress.getByAddress(ip).getHostAddress());
            }
        } catch (NumberFormatException | UnknownHostException e) {
            return null;
        }
        return Names.normalize(name);
    }
}
