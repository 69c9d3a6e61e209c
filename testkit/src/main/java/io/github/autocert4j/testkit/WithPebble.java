package io.github.autocert4j.testkit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated JUnit 5 test class against a real Pebble ACME server: one {@link PebbleServer},
 * started before the class's first test (before {@code @BeforeAll} methods) and stopped after its
 * last, injected into any parameter of type {@link PebbleServer}, and its issuance root into any
 * parameter of type {@link java.security.cert.X509Certificate}. {@code @Nested} classes share it.
 * See {@link PebbleExtension} for programmatic configuration and one Pebble per test method. The class
 * is tagged {@link IntegrationTest} ({@code "integration"}) through this annotation, so the fast suite
 * ({@code -DexcludedGroups=integration}) leaves it out.
 *
 * <pre>{@code
 * @WithPebble(profiles = @WithPebble.Profile(name = "short", seconds = 120))
 * class MyServerTest {
 *     @Test
 *     void servesACertificateFromTheCa(PebbleServer pebble, X509Certificate issuanceRoot) throws Exception {
 *         MyServer server = MyServer.start(pebble.directoryUri(), pebble.acmeServerCaPem(), pebble.httpPort());
 *         // ... wait until the server has its certificate, then:
 *         TlsProbe.Result served = TlsProbe.handshake(server.httpsAddress(), "app.example.test", issuanceRoot,
 *                 Duration.ofSeconds(5));
 *     }
 * }
 * }</pre>
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(PebbleExtension.class)
@IntegrationTest
public @interface WithPebble {

    /** Which Pebble build to run. */
    PebbleServer.Flavor flavor() default PebbleServer.Flavor.LATEST;

    /**
     * Port Pebble's validation authority dials for http-01 challenges: where the server under test
     * must answer them. 0 (the default) picks a free loopback port; read it from
     * {@link PebbleServer#httpPort()}.
     */
    int httpPort() default 0;

    /** Port Pebble dials for tls-alpn-01 challenges; 0 (the default) picks a free loopback port. */
    int tlsPort() default 0;

    /** Certificate profiles to offer ({@link PebbleServer.Flavor#LATEST} only); none: Pebble's defaults. */
    Profile[] profiles() default {};

    /** Extra environment for the Pebble process, each {@code "KEY=VALUE"}, e.g. {@code "PEBBLE_CHAIN_LENGTH=2"}. */
    String[] env() default {};

    /** A certificate profile offered in the directory's {@code meta.profiles}. */
    @Target({})
    @Retention(RetentionPolicy.RUNTIME)
    @Documented
    @interface Profile {
        /** The profile's name, e.g. {@code "shortlived"}. */
        String name();

        /** Validity of certificates issued under it, in seconds. */
        long seconds();
    }
}
