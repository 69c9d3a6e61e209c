package io.github.autocert4j.benchmarks;

/**
 * The {@code T <label> <epoch-ms>} lines the cold-start children print for {@link ColdStartBench}. A class of its own,
 * referencing nothing else: a child's main class is verified before {@code main} runs, and every class the verifier
 * needs is loaded then; {@link ColdStartBreakdown} importing it from {@link ColdStartChild} loaded Netty's types first.
 *
 * <pre>{@code
 * ColdStartMarks.mark("built");   // prints "T built 1733550000123"
 * }</pre>
 */
final class ColdStartMarks {
    private ColdStartMarks() {
    }

    static void mark(String label) {
        System.out.println("T " + label + " " + System.currentTimeMillis());
        System.out.flush();
    }
}
