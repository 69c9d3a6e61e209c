package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.github.autocert4j.Http01Responder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Http01Responder#requestPath}, which {@link AcmeChallengeHandler} matches the challenge prefix against. */
class ChallengePathTest {

    @ParameterizedTest
    @CsvSource(delimiterString = " => ", value = {
            "/ => /",
            "/a => /a",
            "/a?b => /a",
            "/a?b=/c => /a",
            "/a#frag => /a",
            "/a?b#c => /a",
            "/a#b?c => /a",
            "/? => /",
            "/.well-known/acme-challenge/TOKEN => /.well-known/acme-challenge/TOKEN",
            "/.well-known/acme-challenge/TOKEN?x=1 => /.well-known/acme-challenge/TOKEN",
            "/.well-known/acme-challenge/%2F => /.well-known/acme-challenge/%2F",
            "/.well-known/acme-challenge/../x => /.well-known/acme-challenge/../x",
            "//double => //double",
            "http://h/a => /a",
            "http://h/a?b => /a",
            "https://h:8080/x/y => /x/y",
            "HTTP://H/A => /A",
            "http://h => /",
            "http://h?x => /",
            "http://user@h:80/p#f => /p",
            "http://app.example.test/.well-known/acme-challenge/TOK?q => /.well-known/acme-challenge/TOK",
    })
    void pathOf(String uri, String path) {
        assertEquals(path, Http01Responder.requestPath(uri));
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"*", "h/a", "example.com:443", "://x/a", ".well-known/acme-challenge/t", "?x", "#x"})
    void notAPath(String uri) {
        assertNull(Http01Responder.requestPath(uri));
    }

    /**
     * An absolute-form target without a path: the authority ends at the first of '/', '?', '#', so
     * a challenge path in the query is not the request's path (an old bug answered it).
     */
    @Test
    void queryOfAnAbsoluteTargetIsNotItsPath() {
        assertEquals("/", Http01Responder.requestPath("http://h?x=/.well-known/acme-challenge/T"));
        assertEquals("/", Http01Responder.requestPath("http://h#/.well-known/acme-challenge/T"));
    }
}
