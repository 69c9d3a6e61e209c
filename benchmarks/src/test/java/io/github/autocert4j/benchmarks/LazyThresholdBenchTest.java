package io.github.autocert4j.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

/**
 * The lazy-threshold sweep's summary: nearest-rank percentiles, median [min..max], and eager - lazy taken within a
 * round (the interleaved pair), never across rounds.
 */
class LazyThresholdBenchTest {
    private static LazyThresholdBench.Run run(int round, String mode, boolean cold, double toServing, List<Double> hs, long loaded) {
        return new LazyThresholdBench.Run(1000, round, mode, cold, 0.1, toServing - 0.3, 0.2, toServing + 0.5, 2.0, 3.0,
                mode.equals("lazy") ? 1.5 : Double.NaN, hs, loaded, 0.1 * (round + 1));
    }

    /** The row's note says when an eager start served before loading everything (it would look faster than it is). */
    @Test
    void theEagerCheckNamesAnEagerStartCutShort() {
        LazyThresholdBench.Run full = new LazyThresholdBench.Run(500, 0, "eager", true, 0.1, 1, 0.5, 2, 3, 3, 0, List.of(), 500, 0.05);
        LazyThresholdBench.Run lazy = new LazyThresholdBench.Run(500, 0, "lazy", true, 0.1, 0.1, 0.2, 1, 2, 2, 1, List.of(), 0, 0.10);
        LazyThresholdBench.Run cut = new LazyThresholdBench.Run(500, 1, "eager", true, 0.1, 0.4, 0.2, 1, 2, 2, 0, List.of(), 477, 0.60);
        assertEquals("every eager start loaded all 500 before serving; other processes' CPU share at most 0.10 during a run",
                LazyThresholdBench.eagerCheck(List.of(full, lazy), 500));
        assertTrue(LazyThresholdBench.eagerCheck(List.of(full, lazy, cut), 500).startsWith("WARNING: an eager start served with only 477 of 500"));
    }

    /** The scale section's notes and its threshold row name the library's default: they must be the same number. */
    @Test
    void theScaleSectionUsesTheLibrarysDefault() {
        assertEquals(io.github.autocert4j.internal.renewal.LazyStart.DEFAULT_ABOVE, ScaleBench.LAZY_DEFAULT_ABOVE);
    }

    @Test
    void percentilesAreNearestRank() {
        List<Double> v = new ArrayList<>(IntStream.rangeClosed(1, 100).mapToObj(i -> (double) (101 - i)).toList());
        assertEquals(50.0, Bench.percentile(v, 50));
        assertEquals(99.0, Bench.percentile(v, 99));
        assertEquals(100.0, Bench.percentile(v, 100));
        assertEquals(7.0, Bench.percentile(List.of(7.0), 99));
        assertTrue(Double.isNaN(Bench.percentile(List.of(), 50)));
        // 25 values: p99 is the largest, not an interpolation
        assertEquals(25.0, Bench.percentile(IntStream.rangeClosed(1, 25).mapToObj(i -> (double) i).toList(), 99));
    }

    @Test
    void spreadIsMedianMinMax() {
        assertEquals("2.000 [1.000..9.000]", LazyThresholdBench.spread(List.of(9.0, 1.0, 2.0)));
        assertEquals("2.500 [1.000..9.000]", LazyThresholdBench.spread(List.of(9.0, 1.0, 2.0, 3.0)));
        assertEquals("-", LazyThresholdBench.spread(List.of()));
    }

    @Test
    void differencesPairOnlyRunsOfOneRoundAndCacheState() {
        // round 1 has no lazy cold run (it failed): no difference for it; the warm runs are not mixed in
        List<LazyThresholdBench.Run> runs = List.of(run(1, "eager", true, 9.0, List.of(), 500), run(0, "lazy", true, 1.0, List.of(), 0),
                run(0, "eager", true, 2.0, List.of(), 500), run(2, "eager", true, 3.5, List.of(), 500), run(2, "lazy", true, 1.5, List.of(), 0),
                run(1, "lazy", false, 0.5, List.of(), 0));
        List<Double> cold = LazyThresholdBench.differences(runs, true);
        assertEquals(2, cold.size(), cold.toString());
        assertEquals(1.0, cold.get(0), 1e-9, "round 0: 2.0 - 1.0");
        assertEquals(2.0, cold.get(1), 1e-9, "round 2: 3.5 - 1.5");
        assertEquals(List.of(), LazyThresholdBench.differences(runs, false));
    }

    @Test
    void eagerMinusLazyIsTakenWithinEachRound() {
        // Rounds listed out of order and alternating: a positional pairing would give other differences.
        List<LazyThresholdBench.Run> runs = List.of(
                run(0, "eager", true, 3.0, List.of(5.0, 6.0), 1000), run(0, "lazy", true, 1.0, List.of(5.0, 80.0), 0),
                run(1, "lazy", true, 2.0, List.of(7.0), 0), run(1, "eager", true, 2.5, List.of(4.0), 990),
                run(2, "lazy", true, 1.5, List.of(6.0), 0), run(2, "eager", true, 6.5, List.of(5.0), 1000),
                run(0, "eager", false, 2.0, List.of(4.0), 1000), run(0, "lazy", false, 1.0, List.of(4.0), 0));
        String rows = LazyThresholdBench.rows(1000, runs, "0.10 0.20 0.30", "0.40 0.50 0.60");
        String[] lines = rows.split("\n");
        assertEquals(2, lines.length, rows);
        String[] cold = lines[0].split(" \\| ");
        // eager to serving 3.0 / 2.5 / 6.5, lazy 1.0 / 2.0 / 1.5, per-round differences 2.0 / 0.5 / 5.0
        assertEquals("3.000 [2.500..6.500]", cold[2], rows);
        assertEquals("1.500 [1.000..2.000]", cold[3], rows);
        assertEquals("2.000 [0.500..5.000]", cold[4], rows);
        assertEquals("3.000", cold[5], "eager ms per certificate: 3.0 s / 1000");
        // first handshakes pooled over the rounds: eager 5, 6, 4, 5 -> p50 5.0, p99 6.0; lazy 5, 80, 7, 6 -> 6.0, 80.0
        assertEquals("5.0 / 6.0", cold[9], rows);
        assertEquals("6.0 / 80.0", cold[10], rows);
        assertEquals("990", cold[12], "the fewest certificates an eager start() loaded (the store-silence guard may cut it)");
        assertEquals("0.20 / 0.30", cold[13], "foreign CPU median / max over both modes");
        assertEquals("0.10 0.20 0.30 / 0.40 0.50 0.60", cold[14].replace(" |", ""), rows);
        assertTrue(lines[1].startsWith("| 1,000 | warm | 2.000 [2.000..2.000] | 1.000 [1.000..1.000] | 1.000 [1.000..1.000] |"), lines[1]);
    }
}
