package io.github.autocert4j.internal.names;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

/**
 * The bundled list's compact form ({@link CompactPublicSuffixList}, {@code public_suffix_rules.bin}) against its
 * source of truth, the bundled {@code public_suffix_list.dat} read by the parser that reads a user's file
 * ({@link PublicSuffixList}): the form is what {@link #generate} makes of the {@code .dat} today, and it answers
 * exactly what the parser answers for every rule (as a name, under one and two more labels, as a wildcard name,
 * upper case, with trailing dots) and for names that exercise the matching's corners.
 */
class CompactPublicSuffixListTest {
    /** Set to {@code true} to (re)write the compact form from the bundled {@code .dat} (after refreshing the list). */
    static final String REGENERATE = "autocert4j.regeneratePublicSuffixRules";
    static final String COMMAND = "nice -n 19 mvn -B -q -o -pl core -am test -Dtest=CompactPublicSuffixListTest "
            + "-Dsurefire.failIfNoSpecifiedTests=false -D" + REGENERATE + "=true";
    static final Path SOURCE = Path.of("src/main/resources/io/github/autocert4j/internal/names", CompactPublicSuffixList.RESOURCE);

    /** The compact form of {@code list} (the format is described on {@link CompactPublicSuffixList}). */
    static byte[] generate(PublicSuffixList list) throws IOException {
        Map<String, Integer> kinds = new TreeMap<>();
        list.rules('=').forEach(r -> kinds.merge(r, CompactPublicSuffixList.EXACT, (a, b) -> a | b));
        list.rules('*').forEach(r -> kinds.merge(r, CompactPublicSuffixList.WILDCARD, (a, b) -> a | b));
        list.rules('!').forEach(r -> kinds.merge(r, CompactPublicSuffixList.EXCEPTION, (a, b) -> a | b));
        int slots = Integer.highestOneBit(kinds.size() * 3 - 1) << 1; // at most a third full
        int shift = 32 - Integer.numberOfTrailingZeros(slots);
        int[] table = new int[slots];
        ByteArrayOutputStream entries = new ByteArrayOutputStream();
        for (var e : kinds.entrySet()) {
            String rule = e.getKey();
            if (rule.isEmpty() || rule.length() > 255 || !rule.chars().allMatch(c -> c < 0x80)) {
                throw new IOException("rule '" + rule + "' cannot be held by the compact form (empty, longer than 255 or not ASCII after IDN conversion)");
            }
            int s = CompactPublicSuffixList.slot(CompactPublicSuffixList.hash(rule), shift);
            while (table[s] != 0) {
                s = (s + 1) & (slots - 1);
            }
            table[s] = entries.size() + 1;
            entries.write(e.getValue());
            entries.write(rule.length());
            entries.write(rule.getBytes(StandardCharsets.US_ASCII));
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(out);
        d.writeInt(CompactPublicSuffixList.MAGIC);
        d.writeInt(slots);
        d.writeInt(kinds.size());
        d.writeInt(entries.size());
        for (int t : table) {
            d.writeInt(t);
        }
        entries.writeTo(d);
        d.flush();
        return out.toByteArray();
    }

    @Test
    void theCompactFormIsTheBundledDatToday() throws Exception {
        byte[] expected = generate(PublicSuffixList.parsedBuiltIn());
        if (Boolean.getBoolean(REGENERATE)) {
            Files.write(SOURCE, expected);
            System.out.println("wrote " + SOURCE.toAbsolutePath() + " (" + expected.length + " bytes)");
            return;
        }
        byte[] shipped;
        try (InputStream in = CompactPublicSuffixList.class.getResourceAsStream(CompactPublicSuffixList.RESOURCE)) {
            shipped = in == null ? new byte[0] : in.readAllBytes();
        }
        if (!Arrays.equals(expected, shipped)) {
            fail(CompactPublicSuffixList.RESOURCE + " is not what public_suffix_list.dat gives (" + shipped.length + " bytes shipped, "
                    + expected.length + " generated): the list was refreshed without it, or the format changed. Fix: run " + COMMAND
                    + " and commit " + SOURCE);
        }
    }

    @Test
    void answersWhatTheParserAnswersForEveryRuleAndTrickyNames() throws Exception {
        PublicSuffixList parsed = PublicSuffixList.parsedBuiltIn();
        CompactPublicSuffixList compact = CompactPublicSuffixList.builtIn();
        Set<String> names = new LinkedHashSet<>(List.of("", ".", "..", "com", "COM", "com.", "com..", "*.com", "*.*.com", "*.", "*",
                "example.com", "www.Example.COM.", "a..b.example.com", ".com", ".example.com", "localhost", "unknowntld",
                "a.unknowntld", "www.a.unknowntld.", "192.168.0.1", "::1", "[::1]", "co.uk", "example.co.uk", "*.co.uk",
                "www.example.co.uk", "ck", "www.ck", "a.www.ck", "b.ck", "x.b.ck", "kawasaki.jp", "city.kawasaki.jp",
                "a.city.kawasaki.jp", "x.kawasaki.jp", "b.x.kawasaki.jp", "github.io", "foo.github.io", "a.foo.github.io",
                "xn--fiqs8s", "www.example.xn--fiqs8s", "example.xn--fiqs8s.", "XN--FIQS8S", "中国", "例子.中国", "www.例子.中国",
                "xn--", "a.xn--", "xn--a.例", "xn--55qx5d.cn", "a.xn--55qx5d.cn", "\u0130.com", "www.\u0130xample.com", "ß.de",
                "a.b.c.d.e.f.g.h.example.com", "s3.amazonaws.com", "bucket.s3.amazonaws.com"));
        List<String> rules = new ArrayList<>();
        for (char kind : new char[] {'=', '*', '!'}) {
            rules.addAll(parsed.rules(kind));
        }
        assertTrue(rules.size() > 9_000, "rules: " + rules.size());
        try (BufferedReader r = new BufferedReader(new InputStreamReader(PublicSuffixList.class.getResourceAsStream("public_suffix_list.dat"),
                StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String rule = line.strip().split(" ")[0];
                if (!rule.isEmpty() && !rule.startsWith("//")) {
                    rules.add(rule); // as written: with its !, *. and Unicode
                    rules.add(rule.replaceFirst("^[!]|^\\*\\.", ""));
                }
            }
        }
        for (String rule : rules) {
            names.addAll(List.of(rule, "x." + rule, "a.b." + rule, "*." + rule, rule.toUpperCase(Locale.ROOT), rule + ".",
                    "x." + rule + "..", "-." + rule, rule + ".x"));
        }
        int compared = 0;
        for (String name : names) {
            assertSame(name, "publicSuffix", parsed::publicSuffix, compact::publicSuffix);
            assertSame(name, "isPublicSuffix", parsed::isPublicSuffix, compact::isPublicSuffix);
            assertSame(name, "registrableDomain", parsed::registrableDomain, compact::registrableDomain);
            compared++;
        }
        assertTrue(compared > 90_000, "names compared: " + compared);
        assertEquals(parsed.source(), compact.source());
    }

    private static void assertSame(String name, String what, Function<String, Object> parsed, Function<String, Object> compact) {
        assertEquals(outcome(parsed, name), outcome(compact, name), what + "(\"" + name + "\")");
    }

    private static Object outcome(Function<String, Object> f, String name) {
        try {
            return f.apply(name);
        } catch (RuntimeException e) {
            return e.getClass().getName();
        }
    }
}
