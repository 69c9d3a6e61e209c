package io.github.autocert4j.benchmarks;
final class Report { static void run(java.nio.file.Path out, java.nio.file.Path p) throws Exception {} }
