package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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
 * Every {@code ```java} snippet in README.md compiles exactly as pasted, imports included,
 * against the project's own jars (one dynamic test per snippet, named by its first line). A
 * snippet that is a fragment on purpose is marked {@code ```java fragment} and only has to parse
 * inside a method body; none of the quickstarts may be fragments.
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
        String text = Files.readString(readme(), StandardCharsets.UTF_8);
        Matcher m = BLOCK.matcher(text);
        List<DynamicTest> tests = new ArrayList<>();
        int n = 0;
        while (m.find()) {
            n++;
            boolean fragment = m.group(1) != null;
            String code = m.group(2);
            int line = text.substring(0, m.start()).split("\n", -1).length;
            String title = "README line " + line + ": " + code.lines().filter(l -> !l.isBlank() && !l.startsWith("import"))
                    .findFirst().orElse("").trim();
            int index = n;
            tests.add(DynamicTest.dynamicTest(title, () -> compile(index, code, fragment, line)));
        }
        assertTrue(n >= 5, "the README has its quickstart snippets (found " + n + ")");
        return tests.stream();
    }

    private void compile(int index, String code, boolean fragment, int line) throws IOException {
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
            assertTrue(t.find(), "README line " + line + ": a snippet must be a whole class (imports included) or be marked ```java fragment");
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
            assertTrue(ok, "README snippet at line " + line + " does not compile:" + why + out);
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
}
