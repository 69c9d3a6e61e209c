package io.github.autocert4j.benchmarks;
final class IssuanceBench { static void run(java.nio.file.Path out) throws Exception {} }
