package io.github.autocert4j.benchmarks;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.netty.handler.ssl.OpenSsl;
import org.jose4j.json.JsonUtil;

/**
 * Assembles the outputs of one {@code ./bench.sh} run: {@code benchmarks/results.json} (every
 * section's rows, with the commit) and {@code benchmarks/RESULTS.md} (the rows as a table, then each
 * section's details). {@link #table} prints the rows of a results.json as the markdown
 * table of docs/measured.md, so its figures are generated from the file, never typed.
 *
 * <pre>{@code
 * Report.run(Path.of("benchmarks/target/results"), Path.of("benchmarks"));
 * System.out.print(Report.table(Path.of("benchmarks/results.json")));
 * }</pre>
 */
final class Report {
    static final String[] SECTIONS = {"handshake", "swap", "renewal", "issuance", "coldstart", "scale", "storeops", "ondemand", "anchors",
        "loaded"};
    static final String[] LIBS = {"autocert4j-core", "autocert4j-netty", "netty-handler", "netty-tcnative-boringssl-static", "acme4j-client",
        "bcprov-jdk18on", "bcpkix-jdk18on", "slf4j-api"};

    /**
     * Every row a full run writes, per section, as {@code "id target"}: a row its section did not write (the section
     * failed, timed out, was not selected, or its class does not exist yet) is still written, with {@code "status"}
     * {@code "failed"} or {@code "not measured"} and the reason, so results.json always has the whole set.
     */
    static final Map<String, List<String>> EXPECTED = new LinkedHashMap<>();

    static {
        EXPECTED.put("handshake", List.of("handshake_ratio_jdk >= 0.99", "handshake_cpu_ratio_jdk >= 0.99", "engine_cpu_ratio_jdk >= 0.99",
                "handshake_ratio_openssl >= 0.99", "handshake_cpu_ratio_openssl >= 0.99", "engine_cpu_ratio_openssl >= 0.99",
                "engine_resumed_handshakes == 0", "handshake_resumed_handshakes == 0"));
        EXPECTED.put("swap", List.of("synthetic_swaps info", "synthetic_swaps_failed_requests == 0", "synthetic_swaps_spanning_handshakes > 0",
                "synthetic_swaps_stale == 0"));
        EXPECTED.put("renewal", List.of("real_renewals_under_load >= 200", "real_renewals_failed_requests == 0", "real_renewals_median_s info"));
        EXPECTED.put("issuance", List.of("issuance_median_s <= 0.25", "issuance_reused_account_median_s <= 0.25"));
        EXPECTED.put("coldstart", List.of("cold_first_certificate_s info", "uacme_first_certificate_s info", "cold_start_ratio_vs_uacme <= 2.5",
                "cold_first_certificate_aot_s info", "cold_start_aot_ratio_vs_uacme <= 1.5", "cold_first_certificate_exit_s info"));
        EXPECTED.put("scale", List.of("scale_100k_ratio_openssl >= 0.95", "scale_100k_cpu_ratio_openssl >= 0.95", "scale_100k_ratio_jdk >= 0.95",
                "scale_100k_cpu_ratio_jdk >= 0.95", "heap_per_cert_serving_kb <= 10", "heap_per_cert_loaded_kb info",
                "native_per_cert_openssl_kb info", "scale_100k_cold_load_s <= 10", "scale_100k_load_warm_page_cache_s info",
                "openssl_prepare_us_per_cert info", "scale_100k_first_handshake_p50_ms info", "scale_100k_first_handshake_p99_ms info",
                "scale_100k_sweep_done_s info", "scale_100k_eager_cold_load_s info", "lazy_threshold_eager_minus_lazy_s info"));
        EXPECTED.put("storeops", List.of("encrypted_store_load_ratio info", "encrypted_store_store_ratio info"));
        EXPECTED.put("ondemand", List.of("ondemand_first_handshake_ratio <= 1.25", "ondemand_1m_cold_start_s <= 1",
                "ondemand_1m_first_handshake_p50_ms info", "ondemand_1m_first_handshake_p99_ms info", "ondemand_1m_heap_mb_10k_cache <= 256",
                "ondemand_1m_sni_ratio_hot_jdk >= 0.95", "ondemand_1m_sni_ratio_hot_openssl >= 0.95"));
        EXPECTED.put("anchors", List.of("ondemand_first_handshake_vs_caddy <= 0.5", "ondemand_loaded_handshake_vs_caddy <= 1.5",
                "handshake_vs_caddy_default >= 1.0", "handshake_cpu_vs_caddy_default <= 1.0",
                "handshake_vs_caddy_default_pq_client info", "handshake_cpu_vs_caddy_default_pq_client info"));
        EXPECTED.put("loaded", List.of("ondemand_loaded_handshake_vs_static <= 1.2"));
    }

    /**
     * The rule that decides {@code noisy}, with the settings bench.sh ran with (meta.properties; the defaults
     * when a run did not record them), written into results.json.
     */
    static String noiseRule(Map<String, String> meta) {
        return "a section is noisy when the 1-min load average was >= BENCH_LOAD_MAX (" + meta.getOrDefault("load_max", "1.5")
                + " on 2 cores) when it started (after waiting up to BENCH_SETTLE_S = " + meta.getOrDefault("settle_s", "90")
                + " s for it to fall), or when processes outside the section's own process tree used >= BENCH_FOREIGN_MAX ("
                + meta.getOrDefault("foreign_max", "0.15") + ") of all cores while it ran (/proc/stat busy time minus the CPU time of "
                + "the section's reaped process tree); a noisy section is repeated up to BENCH_RETRIES (" + meta.getOrDefault("retries", "2")
                + ") more times; if every try is noisy, the try with the least foreign CPU is reported and its rows are never 'met' "
                + "(status 'noisy'; a miss stays 'missed')";
    }

    private Report() {
    }

    /**
     * @param out    the run's output directory (section fragments, their .ctx files, meta.properties, machine.txt)
     * @param target where results.json and RESULTS.md go (benchmarks/)
     */
    static void run(Path out, Path target) throws Exception {
        Map<String, String> meta = readMeta(out.resolve("meta.properties"));
        boolean quick = Boolean.parseBoolean(meta.getOrDefault("quick", "false"));
        List<Map<String, Object>> all = new ArrayList<>();
        Set<String> missing = new LinkedHashSet<>();
        for (String s : SECTIONS) {
            Path p = out.resolve(s + ".json");
            Map<String, String> ctx = readMeta(out.resolve(s + ".ctx"));
            List<Rows.Row> rows = new ArrayList<>();
            String why = null;
            if (Files.exists(p)) {
                try {
                    rows.addAll(Rows.read(Files.readString(p, StandardCharsets.UTF_8)));
                } catch (IOException | RuntimeException e) {
                    why = "the section's rows file is unreadable: " + e;
                }
            }
            if (ctx.isEmpty()) {
                why = "section not run in this invocation (BENCH_SECTIONS, or its class is not on this branch yet)";
            } else if (!"0".equals(ctx.get("rc"))) {
                why = "section failed: " + ctx.getOrDefault("reason", "exit " + ctx.get("rc"));
            } else if (why == null && rows.isEmpty()) {
                why = "section wrote no rows";
            }
            if (rows.isEmpty()) {
                missing.add(s);
            }
            Set<String> seen = new LinkedHashSet<>();
            for (Rows.Row r : rows) {
                seen.add(r.id());
                all.add(annotate(Rows.toMap(r), s, ctx, why));
            }
            for (String e : EXPECTED.getOrDefault(s, List.of())) {
                String id = e.substring(0, e.indexOf(' ')), tgt = e.substring(e.indexOf(' ') + 1);
                if (quick) {
                    id = id.replace("_100k_", "_10k_");
                }
                if (seen.contains(id)) {
                    continue;
                }
                Map<String, Object> m = Rows.toMap(new Rows.Row(id, Double.NaN, "", tgt, null, null,
                        why != null ? why : "the section ran but did not write this row (see its log)"));
                m.put("met", null);
                all.add(annotate(m, s, ctx, why == null ? "row not written" : why));
            }
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("commit", meta.getOrDefault("commit", "unknown"));
        json.put("dirty", Boolean.parseBoolean(meta.getOrDefault("dirty", "true")));
        json.put("quick", quick);
        json.put("date", meta.getOrDefault("date", ""));
        json.put("seconds", meta.containsKey("seconds") ? Long.parseLong(meta.get("seconds")) : null);
        json.put("missing_sections", new ArrayList<>(missing));
        json.put("noise_rule", noiseRule(meta));
        json.put("rows", new ArrayList<Object>(all));
        Files.writeString(target.resolve("results.json"), Rows.toJson(json, "") + "\n", StandardCharsets.UTF_8);

        StringBuilder md = new StringBuilder("# autocert4j benchmark results\n\n");
        md.append("Generated by `./bench.sh` from this run only (").append(meta.getOrDefault("date", "?")).append(", commit `")
                .append(meta.getOrDefault("commit", "unknown")).append('`')
                .append(Boolean.parseBoolean(meta.getOrDefault("dirty", "true")) ? " **with uncommitted changes (BENCH_FORCE=1)**" : "")
                .append(quick ? ", **BENCH_QUICK=1: smoke run, figures not meaningful**" : "")
                .append("; whole run ").append(meta.getOrDefault("seconds", "?")).append(" s). Machine-readable: `benchmarks/results.json`. "
                        + "Method and row definitions: `docs/benchmarks.md`. All traffic is on 127.0.0.1 and client and server share the "
                        + "machine's cores, so only ratios measured within one run are meaningful.\n\n");
        md.append("Noise rule: ").append(noiseRule(meta)).append(".\n\n");
        md.append("## Machine, JVM, libraries\n\n```\n").append(read(out.resolve("machine.txt")).strip()).append("\n```\n\n");
        Set<String> libs = new TreeSet<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String file = Path.of(entry).getFileName().toString();
            for (String lib : LIBS) {
                if (file.startsWith(lib + "-") && file.endsWith(".jar") && Character.isDigit(file.charAt(lib.length() + 1))
                        && !file.matches(".*-(linux-aarch_64|osx-.*|windows-.*)\\.jar")) {
                    libs.add(file.substring(0, file.length() - 4).replaceAll("-linux-x86_64$", ""));
                }
            }
        }
        md.append("Libraries: ").append(String.join(", ", libs)).append("; OpenSSL provider: ")
                .append(OpenSsl.isAvailable() ? OpenSsl.versionString() : "unavailable (" + OpenSsl.unavailabilityCause() + ")").append(".\n\n");
        md.append("## Summary (results.json)\n\n").append(table(all));
        if (!missing.isEmpty()) {
            md.append("\nSections without results (failed, timed out or not run; their rows say why): ").append(missing).append("\n");
        }
        md.append('\n');
        for (String s : SECTIONS) {
            Path p = out.resolve(s + ".md");
            if (Files.exists(p)) {
                md.append(Files.readString(p, StandardCharsets.UTF_8)).append('\n');
            }
        }
        Files.writeString(target.resolve("RESULTS.md"), md.toString(), StandardCharsets.UTF_8);
        System.out.println(table(all));
    }

    /** Adds the section's context (load, foreign CPU, noisy, tries) and the row's status. */
    static Map<String, Object> annotate(Map<String, Object> m, String section, Map<String, String> ctx, String why) {
        boolean noisy = Boolean.parseBoolean(ctx.getOrDefault("noisy", "false"));
        Object value = m.get("value");
        String target = (String) m.get("target");
        Boolean met = (Boolean) m.get("met");
        String status;
        if (value == null) {
            status = ctx.isEmpty() || why != null && why.startsWith("section not run") ? "not measured" : "failed";
            m.put("met", null);
        } else if ("info".equals(target)) {
            status = "info";
        } else if (Boolean.FALSE.equals(met)) {
            status = "missed"; // a miss stays a miss, noisy or not
        } else if (noisy) {
            status = "noisy";
            m.put("met", null); // never met on a noisy machine
        } else {
            status = "met";
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("id", m.get("id"));
        o.put("section", section);
        o.put("status", status);
        m.forEach((k, v) -> {
            if (!k.equals("id")) {
                o.put(k, v);
            }
        });
        o.put("noisy", ctx.isEmpty() ? null : noisy);
        o.put("load_before", loads(ctx.get("load_before")));
        o.put("load_after", loads(ctx.get("load_after")));
        o.put("foreign_cpu", ctx.containsKey("foreign_cpu") ? Double.valueOf(ctx.get("foreign_cpu")) : null);
        o.put("tries", ctx.containsKey("tries") ? Long.valueOf(ctx.get("tries")) : null);
        if (noisy) {
            o.put("noisy_reason", ctx.get("noisy_reason"));
        }
        return o;
    }

    private static List<Object> loads(String triple) {
        if (triple == null || triple.isBlank()) {
            return null;
        }
        List<Object> l = new ArrayList<>();
        for (String f : triple.trim().split("\\s+")) {
            l.add(Double.valueOf(f));
        }
        return l;
    }

    /** The rows of {@code resultsJson} as docs/measured.md's markdown table, with a line naming the commit. */
    @SuppressWarnings("unchecked")
    static String table(Path resultsJson) throws Exception {
        Map<String, Object> json = JsonUtil.parseJson(Files.readString(resultsJson, StandardCharsets.UTF_8));
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Object o : (List<Object>) json.get("rows")) {
            rows.add((Map<String, Object>) o);
        }
        String head = "Figures of `./bench.sh` at commit `" + json.get("commit") + "`"
                + (Boolean.TRUE.equals(json.get("dirty")) ? " (with uncommitted changes)" : "")
                + (Boolean.TRUE.equals(json.get("quick")) ? " (BENCH_QUICK smoke run: not meaningful)" : "")
                + ", " + json.get("date") + " (from `benchmarks/results.json`; method: `docs/benchmarks.md`).\n\n";
        return head + table(rows);
    }

    @SuppressWarnings("unchecked")
    static String table(List<Map<String, Object>> rows) {
        StringBuilder t = new StringBuilder("| id | value | target | status | load 1-min before → after | foreign CPU | spread (min–max, rounds) |\n"
                + "|---|---:|---|---|---|---:|---|\n");
        for (Map<String, Object> r : rows) {
            Object v = r.get("value");
            String unit = (String) r.get("unit");
            String target = (String) r.get("target");
            // results.json files from before the noise rule have no status: their "met" was never checked against the load
            String status = (String) r.getOrDefault("status", r.get("met") == null ? "info" : Boolean.TRUE.equals(r.get("met"))
                    ? "met, noise not recorded" : "missed");
            List<Object> lb = (List<Object>) r.get("load_before"), la = (List<Object>) r.get("load_after");
            Object spread = r.get("spread");
            t.append("| `").append(r.get("id")).append("` | ")
                    .append(v == null ? "—" : Rows.format(((Number) v).doubleValue()) + (unit == null || unit.isEmpty() || unit.equals("ratio")
                            || unit.equals("count") ? "" : " " + unit))
                    .append(" | ").append(target == null || target.equals("info") ? "—" : target.replace(">=", "≥").replace("<=", "≤"))
                    .append(" | ").append(status.equals("missed") || status.equals("failed") || status.equals("noisy") ? "**" + status + "**" : status)
                    .append(" | ").append(lb == null ? "" : lb.get(0) + " → " + (la == null ? "?" : la.get(0)))
                    .append(" | ").append(r.get("foreign_cpu") == null ? "" : Rows.format(((Number) r.get("foreign_cpu")).doubleValue()))
                    .append(" | ");
            if (spread instanceof Map<?, ?> s) {
                t.append(Rows.format(((Number) s.get("min")).doubleValue())).append("–").append(Rows.format(((Number) s.get("max")).doubleValue()))
                        .append(" (").append(s.get("n")).append(')');
            }
            t.append(" |\n");
        }
        return t.toString();
    }

    private static Map<String, String> readMeta(Path p) throws Exception {
        Map<String, String> m = new LinkedHashMap<>();
        if (Files.exists(p)) {
            for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0) {
                    m.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
                }
            }
        }
        return m;
    }

    private static String read(Path p) throws Exception {
        return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : "";
    }
}
