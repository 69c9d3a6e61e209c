package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

/**
 * The fast suite ({@code mvn -q test -DexcludedGroups=integration}) must run on a machine without
 * Pebble, Caddy, PostgreSQL, Knot or nginx. This guard reads the test sources of every module of the
 * repository and fails on a test class (a file surefire runs: {@code *Test}, {@code *Tests},
 * {@code Test*}, {@code *TestCase}) that starts an external server or process without carrying the
 * {@code integration} tag ({@link IntegrationTest}, {@link WithPebble} or {@code @Tag("integration")},
 * on itself, a superclass or an interface it implements).
 *
 * <p>"Starts a server or process" is read from the source: it names one of {@link #TRIGGERS}, or a
 * test-source class of the same package (or one it imports) that does, transitively (e.g. a test
 * that uses {@code ClusterHarness}, which starts Pebble and nginx). Source text, not bytecode, so it
 * also sees the tests of modules built after this one; comments are ignored.
 */
class IntegrationTagGuardTest {

    /** Identifiers that start an external server or process. */
    static final Set<String> TRIGGERS = Set.of("PebbleServer", "PebbleExtension", "WithPebble", "CaddyAcmeServer",
            "PostgresServer", "DnsServer", "LoadBalancer", "ProcessBuilder", "exec");

    private static final Pattern TAGGED = Pattern.compile(
            "@(IntegrationTest\\b|WithPebble\\b|Tag\\(\\s*(\"integration\"|IntegrationTest\\.TAG)\\s*\\))");
    private static final Pattern PACKAGE = Pattern.compile("(?m)^package\\s+([\\w.]+)\\s*;");
    private static final Pattern IMPORT = Pattern.compile("(?m)^import\\s+(?:static\\s+)?([\\w.]+)\\s*;");
    private static final Pattern IDENT = Pattern.compile("[A-Za-z_$][\\w$]*");
    private static final Pattern SURE_FIRE = Pattern.compile("(Test\\w*|\\w*Test|\\w*Tests|\\w*TestCase)\\.java");

    /** One top-level type of a test source root. */
    record Source(String fqn, String name, String pkg, Path file, String code, Set<String> idents,
            Set<String> imports, boolean tagged, List<String> supertypes) {
    }

    @Test
    void everyTestThatStartsAServerOrProcessIsTaggedIntegration() throws IOException {
        Path root = repoRoot();
        List<String> untagged = untagged(sources(root), triggers(root));
        assertEquals(List.of(), untagged, "test classes that start an external server or process but are not tagged "
                + "integration, so the fast suite (-DexcludedGroups=integration) would run them and fail without "
                + "the server. Fix: annotate each with @io.github.autocert4j.testkit.IntegrationTest (or @WithPebble)");
    }

    @Test
    void guardSeesTheRepositorysIntegrationTests() throws IOException {
        // the guard reads real sources: it must find known integration tests in several modules and call them tagged
        Map<String, Source> all = sources(repoRoot());
        for (String known : List.of("io.github.autocert4j.testkit.PebbleServerTest",
                "io.github.autocert4j.postgres.PostgresCertStoreTest", "io.github.autocert4j.examples.ClusterRenewalTest")) {
            assertTrue(all.containsKey(known), "guard did not find " + known + " among " + all.size() + " sources");
            assertTrue(startsServer(all, all.get(known), TRIGGERS, new java.util.HashSet<>()), known + " should count as starting a server");
        }
        assertTrue(all.size() > 100, "too few test sources found: " + all.size());
    }

    @Test
    void guardCatchesAnUntaggedTestAndAcceptsTaggedOnes(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        Path pkg = Files.createDirectories(dir.resolve("m/src/test/java/p"));
        Files.writeString(pkg.resolve("Harness.java"), "package p;\nclass Harness { PostgresServer pg; }\n");
        Files.writeString(pkg.resolve("UsesHarnessTest.java"), "package p;\nclass UsesHarnessTest { Harness h; }\n");
        Files.writeString(pkg.resolve("CommentOnlyTest.java"),
                "package p;\n/** unlike {@link PebbleServer} */\nclass CommentOnlyTest { String s = \"ProcessBuilder\"; }\n");
        Files.writeString(pkg.resolve("TaggedTest.java"), "package p;\n@IntegrationTest\nclass TaggedTest { Harness h; }\n");
        Files.writeString(pkg.resolve("Contract.java"), "package p;\n@Tag(\"integration\")\ninterface Contract { }\n");
        Files.writeString(pkg.resolve("ViaContractTest.java"),
                "package p;\nclass ViaContractTest implements Contract { ProcessBuilder b; }\n");
        Files.writeString(pkg.resolve("PebbleTest.java"), "package p;\n@WithPebble(env = \"A=1\")\nclass PebbleTest { PebbleServer p; }\n");
        Files.writeString(pkg.resolve("UsesKitClientTest.java"), "package p;\nclass UsesKitClientTest { ResumingClients c; }\n");
        assertEquals(List.of("p.UsesHarnessTest"), untagged(sources(dir), TRIGGERS));
        assertEquals(List.of("p.UsesKitClientTest"), untagged(sources(dir), Set.of("ResumingClients")));
        assertTrue(triggers(repoRoot()).contains("ResumingClients"), "the test kit's openssl client counts: " + triggers(repoRoot()));
    }

    /** The classes that fail the rule, sorted. */
    static List<String> untagged(Map<String, Source> all, Set<String> triggers) {
        List<String> bad = new ArrayList<>();
        for (Source s : all.values()) {
            if (SURE_FIRE.matcher(s.file().getFileName().toString()).matches()
                    && startsServer(all, s, triggers, new java.util.HashSet<>()) && !tagged(all, s, new java.util.HashSet<>())) {
                bad.add(s.fqn() + " (" + s.file() + ")");
            }
        }
        bad.replaceAll(b -> b.substring(0, b.indexOf(' ')));
        bad.sort(null);
        return bad;
    }

    private static boolean startsServer(Map<String, Source> all, Source s, Set<String> triggers, Set<String> seen) {
        if (!seen.add(s.fqn())) {
            return false;
        }
        if (s.idents().stream().anyMatch(triggers::contains)) {
            return true;
        }
        for (Source other : referenced(all, s)) {
            if (startsServer(all, other, triggers, seen)) {
                return true;
            }
        }
        return false;
    }

    private static boolean tagged(Map<String, Source> all, Source s, Set<String> seen) {
        if (s.tagged()) {
            return true;
        }
        if (!seen.add(s.fqn())) {
            return false;
        }
        for (String sup : s.supertypes()) {
            Source t = resolve(all, s, sup);
            if (t != null && tagged(all, t, seen)) {
                return true;
            }
        }
        return false;
    }

    private static List<Source> referenced(Map<String, Source> all, Source s) {
        List<Source> out = new ArrayList<>();
        for (Source other : all.values()) {
            if (other != s && s.idents().contains(other.name())
                    && (other.pkg().equals(s.pkg()) || s.imports().contains(other.fqn()))) {
                out.add(other);
            }
        }
        return out;
    }

    private static Source resolve(Map<String, Source> all, Source from, String simpleName) {
        Source same = all.get(from.pkg() + "." + simpleName);
        if (same != null) {
            return same;
        }
        return from.imports().stream().filter(i -> i.endsWith("." + simpleName)).map(all::get)
                .filter(java.util.Objects::nonNull).findFirst().orElse(null);
    }

    /**
     * {@link #TRIGGERS} plus every class of the test kit's main code that starts a server or process itself
     * (e.g. {@code ResumingClients}, which runs {@code openssl s_client}): using one is starting one.
     */
    static Set<String> triggers(Path root) throws IOException {
        Set<String> out = new TreeSet<>(TRIGGERS);
        Path kit = root.resolve("testkit/src/main/java");
        Map<String, Source> main = new LinkedHashMap<>();
        try (Stream<Path> files = Files.walk(kit)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().collect(Collectors.toList())) {
                Source s = parse(f);
                main.put(s.fqn(), s);
            }
        }
        for (Source s : main.values()) {
            if (startsServer(main, s, TRIGGERS, new java.util.HashSet<>())) {
                out.add(s.name());
            }
        }
        return out;
    }

    /** Every top-level type of every module's {@code src/test/java} below {@code root}. */
    static Map<String, Source> sources(Path root) throws IOException {
        Map<String, Source> out = new LinkedHashMap<>();
        List<Path> testRoots;
        // <module>/src/test/java and <module>/<submodule>/src/test/java (e.g. quarkus/deployment); not target/ copies
        // nor the user builds' own projects (user-builds/src/it/*/src/test/java, run by the invoker after the tests)
        try (Stream<Path> dirs = Files.walk(root, 5)) {
            testRoots = dirs.filter(d -> d.endsWith(Path.of("src", "test", "java")) && Files.isDirectory(d))
                    .filter(d -> root.relativize(d).getNameCount() <= 5)
                    .filter(d -> !root.relativize(d).toString().contains("target") && !root.relativize(d).startsWith("user-builds"))
                    .sorted().collect(Collectors.toList());
        }
        for (Path testRoot : testRoots) {
            try (Stream<Path> files = Files.walk(testRoot)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().collect(Collectors.toList())) {
                    Source s = parse(f);
                    out.putIfAbsent(s.fqn(), s);
                }
            }
        }
        return out;
    }

    private static Source parse(Path file) {
        String raw;
        try {
            raw = Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String code = stripCommentsAndStrings(raw);
        String name = file.getFileName().toString().replaceFirst("\\.java$", "");
        Matcher pm = PACKAGE.matcher(code);
        String pkg = pm.find() ? pm.group(1) : "";
        Set<String> imports = new TreeSet<>();
        Matcher im = IMPORT.matcher(code);
        while (im.find()) {
            imports.add(im.group(1));
        }
        Set<String> idents = new TreeSet<>();
        Matcher id = IDENT.matcher(code.replaceAll("(?m)^(package|import)\\s.*$", ""));
        while (id.find()) {
            idents.add(id.group());
        }
        // the tag counts on the top-level type: written before its declaration
        Matcher decl = Pattern.compile("\\b(class|interface|record|enum)\\s+" + Pattern.quote(name) + "\\b").matcher(code);
        int declAt = decl.find() ? decl.start() : code.length();
        String head = code.substring(0, declAt);
        // annotations (with string arguments blanked) are read from the raw text's head, as @Tag takes a string
        String rawHead = stripComments(raw);
        Matcher rawDecl = Pattern.compile("\\b(class|interface|record|enum)\\s+" + Pattern.quote(name) + "\\b").matcher(rawHead);
        boolean tagged = TAGGED.matcher(rawDecl.find() ? rawHead.substring(0, rawDecl.start()) : head).find();
        List<String> supertypes = new ArrayList<>();
        Matcher sup = Pattern.compile("\\b" + Pattern.quote(name)
                + "\\b(?:\\s*<[^{]*?>)?\\s*((?:extends|implements)[^{]*)\\{").matcher(code.substring(declAt));
        if (sup.find()) {
            Matcher n = Pattern.compile("(?:extends|implements|,)\\s*([A-Z][\\w$]*)").matcher(sup.group(1).replaceAll("<[^>]*>", ""));
            while (n.find()) {
                supertypes.add(n.group(1));
            }
        }
        return new Source(pkg.isEmpty() ? name : pkg + "." + name, name, pkg, file, code, idents, imports, tagged, supertypes);
    }

    private static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("(?m)//.*$", "");
    }

    private static String stripCommentsAndStrings(String s) {
        // text blocks, then string and char literals, then comments (a "//" inside a string is gone by then)
        String t = s.replaceAll("(?s)\"\"\".*?\"\"\"", "\"\"");
        t = t.replaceAll("\"(\\\\.|[^\"\\\\\\n])*\"", "\"\"").replaceAll("'(\\\\.|[^'\\\\\\n])'", "' '");
        return stripComments(t);
    }

    /** The repository root: the nearest directory upwards from the working directory whose pom.xml lists the testkit module. */
    static Path repoRoot() throws IOException {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path pom = d.resolve("pom.xml");
            if (Files.isRegularFile(pom) && Files.readString(pom).contains("<module>testkit</module>")) {
                return d;
            }
        }
        throw new IllegalStateException("repository root not found above " + Path.of("").toAbsolutePath()
                + ". Fix: run this test from the autocert4j checkout (mvn -pl testkit test)");
    }
}
