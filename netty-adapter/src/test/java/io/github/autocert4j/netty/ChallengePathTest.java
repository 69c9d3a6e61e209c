package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

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
        assertEquals(path, ChallengePath.pathOf(uri));
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"*", "h/a", "example.com:443", "://x/a", ".well-known/acme-challenge/t", "?x", "#x"})
    void notAPath(String uri) {
        assertNull(ChallengePath.pathOf(uri));
    }

    /**
     * BUG ChallengePath.pathOf: for an absolute-form target without a path, the first '/' after
     * "://" is searched in the whole rest, including the query: "http://h?x=/.well-known/acme-challenge/T"
     * yields "/.well-known/acme-challenge/T" (so the handler answers the challenge for a request whose
     * path is "/"). Fix: after the authority, stop at the first of '/', '?', '#': take
     * min(indexOf('/'), indexOf('?'), indexOf('#')) from scheme+3; if that char is not '/', the path is "/".
     */
    @Test
    void queryOfAnAbsoluteTargetIsNotItsPath() {
        assertEquals("/", ChallengePath.pathOf("http://h?x=/.well-known/acme-challenge/T"));
        assertEquals("/", ChallengePath.pathOf("http://h#/.well-known/acme-challenge/T"));
    }
}
