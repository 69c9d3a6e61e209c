package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code ```java} snippet in README.md (and every whole class in docs/*.md) compiles exactly as pasted, imports included,
 * against the project's own jars (one dynamic test per snippet, named by its first line). A
 * snippet that is a fragment on purpose is marked {@code ```java fragment} and only has to parse
 * inside a method body; none of the quickstarts may be fragments.
 *
 * <p>The quickstarts are also built and run as users build them, by the {@code user-builds} module
 * (one Maven build per README set, against Pebble). Their source is the README's: each quickstart
 * snippet must equal its file under {@code user-builds/src/quickstarts/}, the Spring Boot
 * {@code application.yml} likewise, and each user build must declare exactly the dependencies its
 * README section lists (optional ones: present in one build, absent in another). Edit both, or
 * this test fails.
 */
class ReadmeSnippetsTest {
    private static final Pattern BLOCK = Pattern.compile("```java( fragment)?\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern TYPE = Pattern.compile("(?m)^(?:public\\s+)?(?:final\\s+)?(?:class|record|interface|enum)\\s+(\\w+)");

    @TempDir
    Path work;

    static Path readme() {
        String root = System.getProperty("autocert4j.repoRoot");
        Path p = root == null ? Path.of("..", "README.md") : Path.of(root, "README.md");
        return p.toAbsolutePath().normalize();
    }

    @TestFactory
    Stream<DynamicTest> everyJavaSnippetInTheReadmeCompiles() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        int n = snippets(readme(), true, tests);
        assertTrue(n >= 3, "the README has its quickstart snippets (found " + n + ")");
        return tests.stream();
    }

    /**
     * The sections moved out of the README into docs/ keep their complete classes compiled: every
     * {@code ```java} block of {@code docs/*.md} that is a whole class (an import and a type
     * declaration) compiles as pasted. Other blocks there are excerpts of tested sources, checked by
     * their own tests (ClusterDocsTest, VertxQuickstartDocTest, the *DocSnippets classes).
     */
    @TestFactory
    Stream<DynamicTest> everyWholeClassInTheDocsCompiles() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        int n = 0;
        try (Stream<Path> docs = Files.list(repoRoot().resolve("docs"))) {
            // Vert.x, Micronaut and Quarkus are not on this module's class path: their modules test their pages
            Set<String> elsewhere = Set.of("vertx.md", "micronaut.md", "quarkus.md");
            for (Path doc : docs.filter(f -> f.toString().endsWith(".md") && !elsewhere.contains(f.getFileName().toString()))
                    .sorted().toList()) {
                n += snippets(doc, false, tests);
            }
        }
        assertTrue(n >= 5, "docs/ holds the complete classes moved from the README (on-demand, cluster, challenges, "
                + "CA features, testing); found " + n);
        return tests.stream();
    }

    /** Adds one test per java block of {@code file} (strict: every block; else only whole classes); returns how many. */
    private int snippets(Path file, boolean strict, List<DynamicTest> tests) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        String where = repoRoot().relativize(file).toString();
        Matcher m = BLOCK.matcher(text);
        int n = 0;
        while (m.find()) {
            boolean fragment = m.group(1) != null;
            String code = m.group(2);
            if (!strict && (fragment || !code.contains("\nimport ") && !code.startsWith("import ") || !TYPE.matcher(code).find())) {
                continue;
            }
            n++;
            int line = text.substring(0, m.start()).split("\n", -1).length;
            String title = where + " line " + line + ": " + code.lines().filter(l -> !l.isBlank() && !l.startsWith("import"))
                    .findFirst().orElse("").trim();
            int index = tests.size() + 1;
            tests.add(DynamicTest.dynamicTest(title, () -> compile(index, code, fragment, where + " line " + line)));
        }
        return n;
    }

    private void compile(int index, String code, boolean fragment, String line) throws IOException {
        String source = code;
        String type;
        if (fragment) {
            StringBuilder imports = new StringBuilder();
            StringBuilder body = new StringBuilder();
            for (String l : code.lines().toList()) {
                (l.startsWith("import ") ? imports : body).append(l).append('\n');
            }
            type = "Fragment" + index;
            source = imports + "class " + type + " { void run() throws Exception {\n" + body + "\n} }\n";
        } else {
            Matcher t = TYPE.matcher(code);
            assertTrue(t.find(), line + ": a snippet must be a whole class (imports included) or be marked ```java fragment");
            type = t.group(1);
        }
        Path dir = Files.createDirectories(work.resolve("s" + index));
        Path file = dir.resolve(type + ".java");
        Files.writeString(file, source, StandardCharsets.UTF_8);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
            List<String> options = List.of("-classpath", System.getProperty("java.class.path") + File.pathSeparator + classPathOfManifest(),
                    "-d", dir.resolve("out").toString(), "-proc:none", "-Xlint:none");
            StringWriter out = new StringWriter();
            boolean ok = javac.getTask(out, files, diagnostics, options, null, files.getJavaFileObjects(file)).call();
            StringBuilder why = new StringBuilder();
            for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
                if (d.getKind() == Diagnostic.Kind.ERROR) {
                    why.append("\n  snippet line ").append(d.getLineNumber()).append(": ").append(d.getMessage(Locale.ROOT));
                }
            }
            assertTrue(ok, "snippet at " + line + " does not compile:" + why + out);
        }
    }

    /** Surefire may run tests from a manifest-only jar: its Class-Path holds the real class path. */
    private static String classPathOfManifest() {
        String cp = System.getProperty("java.class.path");
        List<String> out = new ArrayList<>();
        for (String entry : cp.split(File.pathSeparator)) {
            if (entry.endsWith(".jar") && entry.contains("surefire")) {
                try (java.util.jar.JarFile jar = new java.util.jar.JarFile(entry)) {
                    String classPath = jar.getManifest() == null ? null : jar.getManifest().getMainAttributes().getValue("Class-Path");
                    if (classPath != null) {
                        for (String url : classPath.split(" ")) {
                            out.add(Path.of(java.net.URI.create(url)).toString());
                        }
                    }
                } catch (IOException | IllegalArgumentException e) {
                    // not a manifest-only jar
                }
            }
        }
        return String.join(File.pathSeparator, out);
    }
    // ---------------------------------------------------------------------------------------------
    // The README's quickstarts are the user builds' sources (user-builds/src/quickstarts)

    private static final Pattern YAML = Pattern.compile("`application.yml`:\\n\\n```yaml\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern DEPENDENCY = Pattern.compile("(<!--[^>]*-->\\s*)?<dependency>(.*?)</dependency>([^\\n]*)", Pattern.DOTALL);

    /** README section heading, its quickstart source file, and the user builds built from them. */
    private record Quickstart(String heading, String end, String source, List<String> builds) {
    }

    private static final List<Quickstart> QUICKSTARTS = List.of(
            new Quickstart("## Quickstart: Netty", "\n## ", "netty/NettyServer.java",
                    List.of("user-build-netty-no-tcnative", "user-build-netty-tcnative")),
            new Quickstart("### Jetty 12 (ee10)", "\n### ", "jetty/JettyServer.java", List.of("user-build-jetty12")),
            new Quickstart("### Tomcat 10.1 / 11", "\n## ", "tomcat/TomcatServer.java",
                    List.of("user-build-tomcat10.1", "user-build-tomcat11")),
            new Quickstart("## Quickstart: Spring Boot 3.5 / 4.0", "\n## ", "spring-boot/resources/application.yml",
                    List.of("user-build-spring-boot3-tomcat", "user-build-spring-boot3-jetty", "user-build-spring-boot3-webflux",
                            "user-build-spring-boot4-tomcat", "user-build-spring-boot4-jetty", "user-build-spring-boot4-webflux")));

    static Path repoRoot() {
        return readme().getParent();
    }

    @TestFactory
    Stream<DynamicTest> theReadmeQuickstartsAreTheUserBuildsSources() throws IOException {
        String text = Files.readString(readme(), StandardCharsets.UTF_8);
        Path quickstarts = repoRoot().resolve("user-builds/src/quickstarts");
        List<DynamicTest> tests = new ArrayList<>();
        for (Quickstart q : QUICKSTARTS) {
            String section = section(text, q);
            Path file = quickstarts.resolve(q.source());
            tests.add(DynamicTest.dynamicTest(q.heading() + ": snippet == " + q.source(), () -> {
                String expected = Files.readString(file, StandardCharsets.UTF_8);
                String snippet;
                if (q.source().endsWith(".yml")) {
                    Matcher m = YAML.matcher(section);
                    assertTrue(m.find(), q.heading() + ": no application.yml block");
                    snippet = m.group(1);
                } else {
                    snippet = javaBlockOf(section, file.getFileName().toString().replace(".java", ""));
                }
                assertEquals(expected, snippet, "README " + q.heading() + " differs from " + file
                        + ". Fix: the README snippet and the user build's source are one quickstart: make them equal");
            }));
            for (String build : q.builds()) {
                tests.add(DynamicTest.dynamicTest(q.heading() + ": dependencies of " + build,
                        () -> sameDependencies(q, section, build)));
            }
        }
        return tests.stream();
    }

    private static String section(String text, Quickstart q) {
        int start = text.indexOf(q.heading());
        assertTrue(start >= 0, "README has no section '" + q.heading() + "'");
        int end = text.indexOf(q.end(), start + q.heading().length());
        return text.substring(start, end < 0 ? text.length() : end);
    }

    private static String javaBlockOf(String section, String type) {
        Matcher m = BLOCK.matcher(section);
        while (m.find()) {
            Matcher t = TYPE.matcher(m.group(2));
            if (t.find() && t.group(1).equals(type)) {
                return m.group(2);
            }
        }
        throw new AssertionError("README section has no java snippet of class " + type);
    }

    /**
     * The user build declares (outside test scope) exactly the README's dependencies of its section:
     * every one it declares is listed there (with a listed version), every non-optional listed one is
     * declared, and the optional ones are declared by the build whose name says so. Spring Boot's own
     * starters are named in the section's text and versioned by Boot.
     */
    private static void sameDependencies(Quickstart q, String section, String build) throws IOException {
        Map<String, String> properties = rootProperties();
        Map<String, Set<String>> listed = new LinkedHashMap<>();   // groupId:artifactId -> allowed versions
        Set<String> optional = new LinkedHashSet<>();
        Matcher xml = Pattern.compile("```xml\\n(.*?)```", Pattern.DOTALL).matcher(section);
        while (xml.find()) {
            Matcher d = DEPENDENCY.matcher(xml.group(1));
            while (d.find()) {
                String ga = element(d.group(2), "groupId") + ":" + element(d.group(2), "artifactId");
                Set<String> versions = listed.computeIfAbsent(ga, k -> new LinkedHashSet<>());
                versions.add(element(d.group(2), "version"));
                Matcher or = Pattern.compile("or ([0-9][^ ]*)").matcher(d.group(2) + d.group(3));
                while (or.find()) {
                    versions.add(or.group(1));
                }
                if (d.group(1) != null && d.group(1).contains("optional")) {
                    optional.add(ga);
                }
            }
        }
        assertFalse(listed.isEmpty(), q.heading() + ": the README lists no dependency");
        String pom = Files.readString(repoRoot().resolve("user-builds/src/it/" + build + "/pom.xml"), StandardCharsets.UTF_8);
        Set<String> declared = new LinkedHashSet<>();
        Matcher d = DEPENDENCY.matcher(pom.substring(pom.indexOf("<dependencies>")));
        while (d.find()) {
            String dep = d.group(2);
            if (dep.contains("<scope>test</scope>")) {
                continue;
            }
            String ga = element(dep, "groupId") + ":" + element(dep, "artifactId");
            declared.add(ga);
            if (ga.startsWith("org.springframework.boot:spring-boot-starter-")) {
                assertTrue(section.contains("`" + element(dep, "artifactId") + "`"), build + " uses " + ga
                        + ", which README " + q.heading() + " does not name. Fix: name it there or drop it from the build");
                continue;
            }
            assertTrue(listed.containsKey(ga), build + " declares " + ga + ", which README " + q.heading()
                    + " does not list. Fix: list it there or drop it from the build");
            String version = element(dep, "version");
            for (Map.Entry<String, String> p : properties.entrySet()) {
                version = version.replace("@" + p.getKey() + "@", p.getValue());
            }
            assertTrue(listed.get(ga).contains(version), build + " uses " + ga + ":" + version + ", README " + q.heading()
                    + " lists " + listed.get(ga));
        }
        for (String ga : listed.keySet()) {
            boolean wanted = !optional.contains(ga) || !build.contains("-no-");
            assertEquals(wanted, declared.contains(ga), build + (wanted ? " must declare " : " must not declare ") + ga
                    + " (README " + q.heading() + (optional.contains(ga) ? ", optional" : "") + ")");
        }
    }

    private static String element(String xml, String name) {
        Matcher m = Pattern.compile("<" + name + ">\\s*([^<]*?)\\s*</" + name + ">").matcher(xml);
        return m.find() ? m.group(1) : "";
    }

    /** The root pom's version and properties, for the user builds' {@code @...@} placeholders. */
    private static Map<String, String> rootProperties() throws IOException {
        String pom = Files.readString(repoRoot().resolve("pom.xml"), StandardCharsets.UTF_8);
        Map<String, String> out = new LinkedHashMap<>();
        out.put("project.version", element(pom, "version"));
        Matcher m = Pattern.compile("<([\\w.-]+\\.version)>([^<]+)</\\1>").matcher(pom);
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        return out;
    }
}
