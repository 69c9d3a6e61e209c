package io.github.autocert4j;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The HTTP-01 challenge solver: holds the key authorizations of pending challenges so that the
 * host's own plain-HTTP listener can answer {@code GET /.well-known/acme-challenge/{token}}.
 *
 * <p>The Netty handler and the Servlet filter read from it; any other HTTP stack can too:
 *
 * <pre>{@code
 * Http01Responder acme = autoCert.http01();
 * if (path.startsWith(Http01Responder.PATH_PREFIX)) {
 *     String token = path.substring(Http01Responder.PATH_PREFIX.length());
 *     acme.keyAuthorization(token).ifPresentOrElse(body -> reply(200, body), () -> reply(404, ""));
 * }
 * }</pre>
 */
public final class Http01Responder implements ChallengeSolver {

    /** The path prefix the CA requests: {@code /.well-known/acme-challenge/}. */
    public static final String PATH_PREFIX = "/.well-known/acme-challenge/";

    // RFC 8555 §8.3: the token is base64url without padding. CAs use 43 chars; allow up to 256.
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,256}");

    private final Map<String, String> pending = new ConcurrentHashMap<>();

    /** Creates an empty responder. {@code AutoCert} creates one for you: see {@code AutoCert#http01()}. */
    public Http01Responder() {
    }

    /** Whether {@code token} is syntactically a token (base64url, 1..256 chars); adapters answer 400 otherwise. */
    public static boolean isWellFormedToken(String token) {
        return token != null && TOKEN.matcher(token).matches();
    }

    /** The key authorization to serve for {@code token}, if a challenge with that token is pending. */
    public Optional<String> keyAuthorization(String token) {
        if (!isWellFormedToken(token)) {
            return Optional.empty();
        }
        return Optional.ofNullable(pending.get(token));
    }

    /** How many challenges are pending right now. */
    public int pendingCount() {
        return pending.size();
    }

    @Override
    public String challengeType() {
        return "http-01";
    }

    @Override
    public void present(Challenge challenge) {
        if (!isWellFormedToken(challenge.token())) {
            // A token we could never serve: fail the order now with a clear reason instead of a CA timeout.
            throw new IllegalArgumentException("the CA sent an http-01 token that is not base64url: cannot serve it");
        }
        pending.put(challenge.token(), challenge.keyAuthorization());
    }

    @Override
    public void cleanUp(Challenge challenge) {
        pending.remove(challenge.token(), challenge.keyAuthorization());
    }

    @Override
    public String toString() {
        return "Http01Responder[pending=" + pending.size() + "]";
    }
}
