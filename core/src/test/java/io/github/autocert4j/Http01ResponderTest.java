package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Http01ResponderTest {

    private static final String TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    private static final String THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    private static ChallengeSolver.Challenge challenge(String token, String keyAuthorization) {
        return new ChallengeSolver.Challenge("http-01", "app.example.test", token, keyAuthorization);
    }

    @Test
    void presentServesAndCleanUpWithdraws() throws Exception {
        Http01Responder r = new Http01Responder();
        assertEquals("http-01", r.challengeType());
        assertEquals(Optional.empty(), r.keyAuthorization(TOKEN));
        assertEquals(0, r.pendingCount());

        String ka = TOKEN + "." + THUMBPRINT;
        r.present(challenge(TOKEN, ka));
        assertEquals(Optional.of(ka), r.keyAuthorization(TOKEN));
        assertEquals(1, r.pendingCount());
        assertEquals(Optional.empty(), r.keyAuthorization(TOKEN.substring(1)), "no prefix matching");
        assertEquals(Optional.empty(), r.keyAuthorization(TOKEN.toLowerCase()), "tokens are case-sensitive");

        r.present(challenge("second", "second." + THUMBPRINT));
        assertEquals(2, r.pendingCount());
        r.cleanUp(challenge(TOKEN, ka));
        assertEquals(Optional.empty(), r.keyAuthorization(TOKEN));
        assertEquals(Optional.of("second." + THUMBPRINT), r.keyAuthorization("second"));
        r.cleanUp(challenge(TOKEN, ka)); // twice is harmless
        assertEquals(1, r.pendingCount());
    }

    @Test
    void cleanUpOfAnOlderChallengeKeepsANewerOneWithTheSameToken() throws Exception {
        Http01Responder r = new Http01Responder();
        r.present(challenge(TOKEN, TOKEN + ".old"));
        r.present(challenge(TOKEN, TOKEN + ".new"));
        r.cleanUp(challenge(TOKEN, TOKEN + ".old"));
        assertEquals(Optional.of(TOKEN + ".new"), r.keyAuthorization(TOKEN));
    }

    @Test
    void malformedTokensAreRefusedAndNeverLookedUp() throws Exception {
        Http01Responder r = new Http01Responder();
        // a token that could never be served fails the order at once, with a reason
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> r.present(challenge("a/b", "x")));
        assertTrue(e.getMessage().contains("base64url"), e.getMessage());
        assertEquals(0, r.pendingCount());
        assertEquals(Optional.empty(), r.keyAuthorization("a/b"));
        assertEquals(Optional.empty(), r.keyAuthorization(null));
    }

    @ParameterizedTest
    @ValueSource(strings = {"a", "A-_z09", TOKEN, "-", "_"})
    void wellFormedTokens(String token) {
        assertTrue(Http01Responder.isWellFormedToken(token));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "a+b", "a/b", "a=", "..", "a.b", "%2F", "a%2Fb", "a b", " a", "a\n", "ä", "a?b", "a#b", "a\\b", "\u0000"})
    void malformedTokens(String token) {
        assertFalse(Http01Responder.isWellFormedToken(token), token);
    }

    @Test
    void tokenLengthLimit() throws Exception {
        assertTrue(Http01Responder.isWellFormedToken("a".repeat(256)));
        assertFalse(Http01Responder.isWellFormedToken("a".repeat(257)));
        assertFalse(Http01Responder.isWellFormedToken("a".repeat(300)));
        assertFalse(Http01Responder.isWellFormedToken(null));
    }

    @Test
    void pathPrefixIsTheRfcPath() throws Exception {
        assertEquals("/.well-known/acme-challenge/", Http01Responder.PATH_PREFIX);
    }

    @Test
    void toStringShowsNoKeyAuthorization() throws Exception {
        Http01Responder r = new Http01Responder();
        r.present(challenge(TOKEN, TOKEN + "." + THUMBPRINT));
        String s = r.toString();
        assertTrue(s.contains("pending=1"), s);
        assertFalse(s.contains(THUMBPRINT) || s.contains(TOKEN), s);
    }

    @Test
    void dnsTxtValueIsBase64UrlOfSha256() throws Exception {
        // FIPS 180-2 test vector: SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
        ChallengeSolver.Challenge abc = new ChallengeSolver.Challenge("dns-01", "example.org", "t", "abc");
        assertEquals("ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0", abc.dnsTxtValue());
        // the empty string: e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855
        assertEquals("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
                new ChallengeSolver.Challenge("dns-01", "example.org", "t", "").dnsTxtValue());
        // RFC 8555 §8.4 shape: 43 base64url characters, no padding
        ChallengeSolver.Challenge c = new ChallengeSolver.Challenge("dns-01", "www.example.org", TOKEN, TOKEN + "." + THUMBPRINT);
        String v = c.dnsTxtValue();
        assertEquals(43, v.length());
        assertTrue(v.matches("[A-Za-z0-9_-]{43}"), v);
        assertEquals(32, Base64.getUrlDecoder().decode(v).length);
        assertEquals("_acme-challenge.www.example.org", c.dnsTxtName());
        assertEquals(v, new ChallengeSolver.Challenge("dns-01", "www.example.org", TOKEN,
                new String((TOKEN + "." + THUMBPRINT).getBytes(StandardCharsets.US_ASCII), StandardCharsets.US_ASCII)).dnsTxtValue());
    }
}
