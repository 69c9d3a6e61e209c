package io.github.autocert4j.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.jose4j.json.JsonUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report's honesty rules: a row measured on a noisy machine is never "met", a miss stays a miss, and
 * every expected row is written even when its section failed or did not run.
 */
class ReportTest {
    private static final String NOISY = "rc=0\nload_before=9.5 6.0 3.0\nload_after=11.0 7.0 3.5\nforeign_cpu=0.800\nnoisy=true\n"
            + "noisy_reason=1-min load average 9.5 >= 1.5 at the start\ntries=3\n";
    private static final String CLEAN = "rc=0\nload_before=0.40 0.50 0.60\nload_after=2.10 1.00 0.70\nforeign_cpu=0.020\nnoisy=false\n"
            + "noisy_reason=\ntries=1\n";

    @Test
    void aNoisySectionNeverMeetsButItsMissesStayMisses(@TempDir Path out, @TempDir Path target) throws Exception {
        Rows rows = new Rows();
        rows.add("issuance_median_s", 0.15, "s", "<= 0.25", null, "meets its target");
        rows.add("issuance_reused_account_median_s", 0.40, "s", "<= 0.25", null, "misses it");
        rows.write(out, "issuance");
        Files.writeString(out.resolve("issuance.ctx"), NOISY);
        Map<String, Map<String, Object>> r = report(out, target);

        assertEquals("noisy", r.get("issuance_median_s").get("status"));
        assertNull(r.get("issuance_median_s").get("met"), "a noisy row is never met");
        assertEquals(Boolean.TRUE, r.get("issuance_median_s").get("noisy"));
        assertEquals(List.of(9.5, 6L, 3L), r.get("issuance_median_s").get("load_before"));
        assertEquals("missed", r.get("issuance_reused_account_median_s").get("status"));
        assertEquals(Boolean.FALSE, r.get("issuance_reused_account_median_s").get("met"));
    }

    @Test
    void aCleanSectionMeetsAndSaysItsLoad(@TempDir Path out, @TempDir Path target) throws Exception {
        Rows rows = new Rows();
        rows.add("issuance_median_s", 0.15, "s", "<= 0.25", null, "meets its target");
        rows.write(out, "issuance");
        Files.writeString(out.resolve("issuance.ctx"), CLEAN);
        Map<String, Map<String, Object>> r = report(out, target);

        assertEquals("met", r.get("issuance_median_s").get("status"));
        assertEquals(Boolean.TRUE, r.get("issuance_median_s").get("met"));
        assertEquals(0.02, ((Number) r.get("issuance_median_s").get("foreign_cpu")).doubleValue());
        // the expected row the section did not write is still there, and says so
        assertEquals("failed", r.get("issuance_reused_account_median_s").get("status"));
    }

    @Test
    void everyExpectedRowIsWrittenWhenASectionFailsOrDidNotRun(@TempDir Path out, @TempDir Path target) throws Exception {
        Files.writeString(out.resolve("coldstart.ctx"), "rc=124\nreason=exit 124 (timeout after 600 s); last line: stuck\n"
                + "load_before=0.1 0.1 0.1\nload_after=1.0 0.5 0.2\nforeign_cpu=0.010\nnoisy=false\ntries=1\n");
        Map<String, Map<String, Object>> r = report(out, target);

        for (String section : Report.EXPECTED.keySet()) {
            for (String e : Report.EXPECTED.get(section)) {
                assertTrue(r.containsKey(e.substring(0, e.indexOf(' '))), "row " + e + " of " + section + " is written");
            }
        }
        Map<String, Object> cold = r.get("cold_start_ratio_vs_uacme");
        assertEquals("failed", cold.get("status"));
        assertNull(cold.get("value"));
        assertNull(cold.get("met"));
        assertTrue(((String) cold.get("note")).contains("timeout after 600 s"), cold.get("note").toString());
        assertEquals("<= 2.5", cold.get("target"));
        assertEquals("not measured", r.get("handshake_vs_caddy_default").get("status"));
        assertEquals("not measured", r.get("ondemand_loaded_handshake_vs_static").get("status"));
    }

    @Test
    void aValueThatCouldNotBeMeasuredIsFailedNotMissedSilently(@TempDir Path out, @TempDir Path target) throws Exception {
        Rows rows = new Rows();
        rows.add("cold_start_ratio_vs_uacme", Double.NaN, "ratio", "<= 2.5", null, "uacme is not installed (Fix: scripts/get-uacme.sh)");
        rows.write(out, "coldstart");
        Files.writeString(out.resolve("coldstart.ctx"), CLEAN);
        Map<String, Object> row = report(out, target).get("cold_start_ratio_vs_uacme");

        assertEquals("failed", row.get("status"));
        assertTrue(((String) row.get("note")).contains("get-uacme"));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> report(Path out, Path target) throws Exception {
        Files.writeString(out.resolve("meta.properties"), "commit=test\ndirty=false\nquick=false\ndate=now\nseconds=1\n");
        Report.run(out, target);
        Map<String, Object> json = JsonUtil.parseJson(Files.readString(target.resolve("results.json"), StandardCharsets.UTF_8));
        return ((List<Object>) json.get("rows")).stream().map(o -> (Map<String, Object>) o)
                .collect(Collectors.toMap(m -> (String) m.get("id"), m -> m, (a, b) -> a));
    }
}
