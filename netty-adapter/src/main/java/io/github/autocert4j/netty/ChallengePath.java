package io.github.autocert4j.netty;

import io.github.autocert4j.Http01Responder;

/** Extracts the raw (undecoded) path of a request target, so that encoded tricks stay visible and get a 400. */
final class ChallengePath {
    private ChallengePath() {
    }

    /** The path of an origin-form ({@code /a?b}) or absolute-form ({@code http://h/a}) target; null if neither. */
    static String pathOf(String uri) {
        return Http01Responder.requestPath(uri);
    }
}
