package io.github.autocert4j.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.Tag;

/**
 * Marks a test class (or a test interface its classes implement) that starts an external server or
 * process: Pebble, Caddy, PostgreSQL, Knot, nginx, a child JVM, a Maven build... It is JUnit's
 * {@code @Tag("integration")}, so the fast suite leaves these out:
 *
 * <pre>
 * mvn -q test -DexcludedGroups=integration   # fast suite: no ACME server, database or DNS server needed
 * mvn verify                                 # everything (what CI runs)
 * </pre>
 *
 * <p>{@link WithPebble} carries it, so a class annotated {@code @WithPebble} is tagged already. The
 * project's guard test ({@code IntegrationTagGuardTest} in this module's tests) fails on a test class
 * that uses one of the testkit's servers or a {@link ProcessBuilder} without this tag.
 */
@Target({ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@Tag(IntegrationTest.TAG)
public @interface IntegrationTest {
    /** The JUnit tag: {@value}. */
    String TAG = "integration";
}
