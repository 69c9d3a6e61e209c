package io.github.autocert4j;

import java.net.URI;
import java.nio.file.Path;

import io.github.autocert4j.testkit.PebbleExtension;
import io.github.autocert4j.testkit.PebbleServer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The set-up the Pebble tests shared as copies: the class's Pebble ({@code @WithPebble} or a
 * {@link PebbleExtension} registered before this one), a {@link FaultProxy.ChallengeListener} on Pebble's
 * HTTP-01 port started once per class and closed after it, and an {@link AutoCertBuilder} already pointed
 * at Pebble (directory, server trust, terms of service agreed) that each test specialises with what is
 * special about it.
 *
 * <pre>{@code
 * @WithPebble
 * class MyPebbleTest {
 *     @RegisterExtension
 *     static final PebbleAutoCerts CA = new PebbleAutoCerts();
 *
 *     AutoCert build(Path store) {
 *         return CA.build(CA.builder().certificate(NAME).storageDirectory(store));  // answers Pebble's http-01
 *     }
 * }
 * }</pre>
 */
class PebbleAutoCerts implements BeforeAllCallback, AfterAllCallback {
    private PebbleServer pebble;
    private FaultProxy.ChallengeListener challenges;

    /** An AutoCert builder for the ACME server at {@code directory}, trusting the CA certificates in {@code serverTrustPem}, terms agreed. */
    static AutoCertBuilder builderFor(URI directory, Path serverTrustPem) {
        return AutoCert.builder().directory(directory).acmeServerTrust(serverTrustPem).agreeToTermsOfService(true);
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        pebble = PebbleExtension.server(context).orElseThrow(() -> new IllegalStateException(getClass().getSimpleName()
                + " found no Pebble. Fix: annotate " + context.getDisplayName() + " with @WithPebble, or register its"
                + " PebbleExtension first (@Order)"));
        challenges = new FaultProxy.ChallengeListener(pebble.httpPort());
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (challenges != null) {
            challenges.close();
        }
    }

    /** The class's Pebble. */
    PebbleServer pebble() {
        return pebble;
    }

    /** The listener on Pebble's HTTP-01 port; {@link #answering} sets its {@code responder}. */
    FaultProxy.ChallengeListener challenges() {
        return challenges;
    }

    /**
     * An AutoCert builder pointed at the class's Pebble directly (directory, server trust), terms agreed;
     * {@link FaultProxyExtension}'s points at its proxy instead.
     */
    AutoCertBuilder builder() {
        return builderFor(pebble.directoryUri(), pebble.acmeServerCaPem());
    }

    /** {@code autoCert}, now the one whose http-01 challenges the listener on Pebble's HTTP-01 port answers. */
    AutoCert answering(AutoCert autoCert) {
        challenges.responder = autoCert.http01();
        return autoCert;
    }

    /** Builds {@code builder} and makes the result {@linkplain #answering answer} Pebble's http-01 challenges. */
    AutoCert build(AutoCertBuilder builder) {
        return answering(builder.build());
    }
}
