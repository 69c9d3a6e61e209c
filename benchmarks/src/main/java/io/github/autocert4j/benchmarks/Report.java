package io.github.autocert4j.benchmarks;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.TreeSet;

import io.netty.handler.ssl.OpenSsl;

/**
 * Assembles {@code RESULTS.md} from the section fragments, the machine description written by
 * {@code bench.sh} and the library versions found on the class path.
 *
 * <pre>{@code
 * Report.run(Path.of("benchmarks/target/results"), Path.of("benchmarks/RESULTS.md"));
 * }</pre>
 */
final class Report {
    static final String[] SECTIONS = {"handshake", "swap", "issuance", "scale", "storeops"};
    static final String[] LIBS = {"autocert4j-core", "autocert4j-netty", "netty-handler", "netty-tcnative-boringssl-static", "acme4j-client",
        "bcprov-jdk18on", "bcpkix-jdk18on", "slf4j-api"};

    private Report() {
    }

    static void run(Path out, Path results) throws Exception {
        StringBuilder md = new StringBuilder("# autocert4j benchmark results\n\n");
        String meta = read(out.resolve("meta.txt"));
        md.append(meta).append('\n');
        md.append("## Machine, JVM, libraries\n\n```\n").append(read(out.resolve("machine.txt")).strip()).append("\n```\n\n");
        Set<String> libs = new TreeSet<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String file = Path.of(entry).getFileName().toString();
            for (String lib : LIBS) {
                if (file.startsWith(lib + "-") && file.endsWith(".jar") && Character.isDigit(file.charAt(lib.length() + 1))) {
                    libs.add(file.substring(0, file.length() - 4).replaceAll("-linux-x86_64$", ""));
                }
            }
        }
        md.append("Libraries: ").append(String.join(", ", libs)).append("; OpenSSL provider: ")
                .append(OpenSsl.isAvailable() ? OpenSsl.versionString() : "unavailable (" + OpenSsl.unavailabilityCause() + ")").append(".\n\n");

        md.append("## Summary\n\n| benchmark | result | target | verdict |\n|---|---|---|---|\n");
        Set<String> missing = new LinkedHashSet<>();
        for (String s : SECTIONS) {
            Path p = out.resolve(s + ".summary");
            if (!Files.exists(p)) {
                missing.add(s);
                continue;
            }
            for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    md.append("| ").append(line.replace("\t", " | ")).append(" |\n");
                }
            }
        }
        md.append('\n');
        if (!missing.isEmpty()) {
            md.append("Sections without results (failed or timed out, see the bench.sh output): ").append(missing).append("\n\n");
        }
        for (String s : SECTIONS) {
            Path p = out.resolve(s + ".md");
            if (Files.exists(p)) {
                md.append(Files.readString(p, StandardCharsets.UTF_8)).append('\n');
            }
        }
        // Hand-written analysis of the misses (why, with evidence), kept next to the harness.
        Path analysis = results.resolveSibling("ANALYSIS.md");
        if (Files.exists(analysis)) {
            md.append(Files.readString(analysis, StandardCharsets.UTF_8)).append('\n');
        }
        Files.writeString(results, md.toString(), StandardCharsets.UTF_8);
        System.out.println(md);
    }

    private static String read(Path p) throws Exception {
        return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
    }
}
