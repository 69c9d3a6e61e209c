package io.github.autocert4j.benchmarks;
final class SwapBench { static void run(java.nio.file.Path out) throws Exception {} }
