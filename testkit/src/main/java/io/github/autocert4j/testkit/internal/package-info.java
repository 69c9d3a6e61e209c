/**
 * Helpers for autocert4j's own tests, benchmarks and demos: <strong>not API</strong>. They may change or
 * disappear in any release without notice, so do not use them in your tests.
 *
 * <p>What they are for: {@link io.github.autocert4j.testkit.internal.HttpRequestLoop} and
 * {@link io.github.autocert4j.testkit.internal.TlsTrafficLoop} keep requests flowing while a certificate is
 * swapped, {@link io.github.autocert4j.testkit.internal.KeepAliveTlsClient} keeps one verified connection open
 * across a swap, {@link io.github.autocert4j.testkit.internal.UnverifiedTls} looks at what a server presents
 * without verifying it, and {@link io.github.autocert4j.testkit.internal.LoadBalancer} puts nginx in front of a
 * cluster's nodes. The supported test kit is the package {@code io.github.autocert4j.testkit}:
 * {@link io.github.autocert4j.testkit.WithPebble @WithPebble}, {@link io.github.autocert4j.testkit.PebbleExtension},
 * {@link io.github.autocert4j.testkit.PebbleServer}, {@link io.github.autocert4j.testkit.TlsProbe},
 * {@link io.github.autocert4j.testkit.FreePorts}, {@link io.github.autocert4j.testkit.DnsServer} and
 * {@link io.github.autocert4j.testkit.PostgresServer}.
 *
 * <pre>{@code
 * // in autocert4j's own tests only:
 * try (HttpRequestLoop traffic = HttpRequestLoop.start(URI.create("http://127.0.0.1:" + port + "/hello"), "hello", 100_000)) {
 *     autoCert.renewNow("app.example.test").get();
 *     traffic.close();
 *     assertTrue(traffic.failures().isEmpty(), traffic.failures().toString());
 * }
 * }</pre>
 */
package io.github.autocert4j.testkit.internal;
