package io.github.autocert4j.internal.acme;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.internal.util.LogSafe;
import java.net.ConnectException;
import java.net.URI;
import java.net.URL;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import javax.net.ssl.SSLHandshakeException;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNotSupportedException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;

/**
 * Failure classification for one CA: turns what acme4j and the JDK throw into an
 * {@link IssuanceException} that says what failed, while doing what, whether it is permanent,
 * when to retry, and the fix. Split out of {@link AcmeIssuer} (issue 19): the order flow decides
 * when something failed, this class what it means.
 */
final class AcmeFailures {
    private static final Set<String> PERMANENT_PROBLEMS = Set.of("rejectedIdentifier", "unsupportedIdentifier",
            "userActionRequired", "externalAccountRequired", "invalidContact", "unsupportedContact", "invalidProfile",
            "badSignatureAlgorithm", "caa");
    // What a refusal of "replaces" itself looks like (RFC 9773 alreadyReplaced; Pebble's "could
    // not find an order for the given certificate"; other CAs name the field or ARI).
    private static final Pattern ABOUT_REPLACES = Pattern.compile("(?i).*(replace|given certificate|renewal ?info|\\bARI\\b).*");

    private final URI directory;

    AcmeFailures(URI directory) {
        this.directory = directory;
    }

    /** An answer of HTTP 5xx: acme4j's "HTTP 5xx" for a body that is no problem document, or a problem with status 5xx. */
    public static boolean serverError(Throwable e) {
        if (e instanceof AcmeServerException se) {
            String type = se.getType().toString();
            if (type.endsWith(":serverInternal")) {
                return true;
            }
            try {
                return se.getProblem().asJSON().get("status").map(v -> v.asInt() >= 500).orElse(false);
            } catch (RuntimeException notANumber) {
                return false;
            }
        }
        return e instanceof AcmeException && String.valueOf(e.getMessage()).matches("HTTP 5\\d\\d.*");
    }

    public static String describe(Problem problem) {
        StringBuilder sb = new StringBuilder();
        sb.append(problem.getType());
        problem.getDetail().ifPresent(d -> sb.append(": ").append(d));
        for (Problem sub : problem.getSubProblems()) {
            sb.append(" [").append(sub.getIdentifier().map(i -> i.getValue() + ": ").orElse("")).append(describe(sub)).append(']');
        }
        return LogSafe.text(sb.toString());
    }

    IssuanceException refusal(String what, Problem problem) {
        String fix = ". Fix: none needed if it is the CA's passing fault: the next attempt places a new order; if it persists, the "
                + "CA's detail says what it objects to";
        if (problem == null) {
            return IssuanceException.transientFailure(what + " (no detail)" + fix, null);
        }
        return new IssuanceException(what + ": " + describe(problem) + fix, false, null, problem.getType().toString(),
                problem.getDetail().orElse(null), null);
    }

    /** Turns any failure into an IssuanceException whose message says what failed, while doing what, and the fix. */
    public IssuanceException classify(Exception e, Instant askedRetry, String step) {
        if (e instanceof IssuanceException ie) {
            return ie;
        }
        if (e instanceof AcmeServerException se) {
            Problem p = se.getProblem();
            String type = p.getType().toString();
            String shortType = type.substring(type.lastIndexOf(':') + 1);
            Instant retry = se instanceof AcmeRateLimitedException rl ? rl.getRetryAfter().orElse(askedRetry) : askedRetry;
            boolean permanent = PERMANENT_PROBLEMS.contains(shortType) && retry == null;
            String verb = se instanceof AcmeRateLimitedException ? "rate limited by the CA " + directory + " while " : "the CA " + directory + " refused ";
            String fix = fixFor(shortType);
            if (fix.isEmpty()) {
                fix = se instanceof AcmeRateLimitedException
                        ? ". Fix: none needed now: autocert4j asks again " + (retry != null ? "after " + retry + ", as the CA asked" : "along the "
                        + "backoff schedule") + "; if it recurs, order less often for these names (the CA's rate limits: see the detail)"
                        : serverError(se) ? ". Fix: none needed if the CA's fault passes: retried along the backoff schedule; if it persists, "
                        + "check the CA's status page" : ". Fix: the CA's detail says what it objects to; retried along the backoff schedule";
            }
            return new IssuanceException(verb + step + ": " + describe(p) + fix, permanent, retry, type,
                    p.getDetail().orElse(null), null);
        }
        if (askedRetry != null) {
            return new IssuanceException("the CA " + directory + " is unavailable (" + rootMessage(e) + ") while " + step
                    + "; it asked to be contacted again at " + askedRetry + ". Fix: none needed: autocert4j asks again then (another "
                    + "CA configured with acmeCa(...) is asked meanwhile)", false, askedRetry, null, null, e);
        }
        if (e instanceof AcmeNotSupportedException ns) {
            return IssuanceException.permanentFailure("the CA " + directory + " does not support " + ns.getMessage() + " (while " + step
                    + "). Fix: leave out the setting that needs it, or use a CA that supports it");
        }
        if (e instanceof TimeoutException) {
            return IssuanceException.transientFailure("at the CA " + directory + ": " + e.getMessage() + " (orderTimeout). Fix: if the CA "
                    + "is only slow, raise RenewalPolicy.withOrderTimeout(...); check the CA's status page", null);
        }
        String where = directory.getHost() + (directory.getPort() > 0 ? ":" + directory.getPort() : "");
        Throwable untrusted = firstCause(e, CertPathBuilderException.class, CertificateException.class);
        Throwable handshake = firstCause(e, SSLHandshakeException.class);
        if (untrusted != null || handshake != null && String.valueOf(handshake.getMessage()).contains("PKIX")) {
            Throwable cause = untrusted != null ? untrusted : handshake;
            return IssuanceException.transientFailure("the ACME server's TLS certificate at " + where + " is not trusted ("
                    + cause.getClass().getSimpleName() + ") while " + step + ". Fix: for a private CA (Pebble, step-ca, ...) "
                    + "pass its root with acmeServerTrust(Path.of(\"ca.pem\")); public CAs need no setting", null);
        }
        Throwable connect = firstCause(e, ConnectException.class, HttpConnectTimeoutException.class);
        if (connect != null) {
            return IssuanceException.transientFailure("cannot connect to the ACME server at " + where + " ("
                    + connect.getClass().getSimpleName() + ") while " + step + ". Fix: check directory(" + directory
                    + ") and that this host can reach it (firewall, proxy)", null);
        }
        if (firstCause(e, UnknownHostException.class, UnresolvedAddressException.class) != null) {
            return IssuanceException.transientFailure("cannot resolve the ACME server " + directory.getHost() + " while " + step
                    + ". Fix: check the host name in directory(" + directory + ") and this host's DNS", null);
        }
        Throwable timeout = firstCause(e, HttpTimeoutException.class);
        if (timeout != null) {
            return IssuanceException.transientFailure("the ACME server at " + where + " did not answer in time while " + step
                    + " (" + LogSafe.text(timeout.getMessage()) + "). Fix: check that this host reaches " + directory + " (firewall, "
                    + "proxy) and the CA's status page; raise RenewalPolicy.withHttpTimeout(...) if the CA is only slow; other CAs "
                    + "configured with acmeCa(...) are asked first for a while", null);
        }
        String msg = String.valueOf(e.getMessage());
        if (msg.startsWith("HTTP ") && step.startsWith("fetching the directory")) {
            return IssuanceException.transientFailure("the ACME directory " + directory + " answered " + LogSafe.text(msg)
                    + ". Fix: check the directory URL (Let's Encrypt: " + AutoCert.LETS_ENCRYPT_PRODUCTION + ")", null);
        }
        String fix = step.startsWith("validating")
                ? ". Fix: see the challenge solver's message (for dns-01: the DNS server and credentials given to the solver)"
                : ". Fix: none needed if it passes (retried along the backoff schedule); if it persists, check the network path to the "
                + "CA and its status page";
        return IssuanceException.transientFailure(rootMessage(e) + " while " + step + " at the CA " + directory + fix, null);
    }

    private static String fixFor(String shortType) {
        return switch (shortType) {
            case "rejectedIdentifier", "unsupportedIdentifier" -> ". Fix: remove the name, or check that it is a public name this CA will issue for";
            case "caa" -> ". Fix: add this CA to the domain's CAA records, or remove them";
            case "externalAccountRequired" -> ". Fix: this CA needs external account binding: get a key id and HMAC key from the CA and "
                    + "configure them with .externalAccountBinding(keyId, hmacKey) (or AcmeCa.withExternalAccountBinding for a further CA)";
            case "userActionRequired" -> ". Fix: visit the CA's instance URL in the detail (often new terms of service) and act there";
            case "invalidContact", "unsupportedContact" -> ". Fix: use a valid e-mail address in email(), or leave it out";
            case "badSignatureAlgorithm" -> ". Fix: choose another keyType()";
            case "accountDoesNotExist" -> ". Fix: none needed once: autocert4j registers the stored account key again; if the CA keeps "
                    + "losing accounts, check its database";
            default -> "";
        };
    }

    public static boolean aboutReplaces(Problem problem) {
        String type = problem.getType().toString();
        if (type.endsWith(":alreadyReplaced")) {
            return true;
        }
        // unauthorized: the certificate replaced belongs to another account (Pebble and Boulder after a new account)
        boolean refusalType = type.endsWith(":malformed") || type.endsWith(":serverInternal") || type.endsWith(":conflict")
                || type.endsWith(":unauthorized");
        return refusalType && problem.getDetail().map(d -> ABOUT_REPLACES.matcher(d).matches()).orElse(false);
    }

    static boolean accountGone(AcmeServerException e) {
        return e.getType().toString().endsWith(":accountDoesNotExist");
    }

    /** The first throwable in {@code e}'s cause chain (itself included) of one of {@code types}, or null. */
    @SafeVarargs
    static Throwable firstCause(Throwable e, Class<? extends Throwable>... types) {
        Throwable c = e;
        for (int i = 0; i < 10 && c != null; i++, c = c.getCause() == c ? null : c.getCause()) {
            for (Class<? extends Throwable> t : types) {
                if (t.isInstance(c)) {
                    return c;
                }
            }
        }
        return null;
    }

    private static Throwable rootCause(Throwable e) {
        Throwable c = e;
        for (int i = 0; i < 10 && c.getCause() != null && c.getCause() != c; i++) {
            c = c.getCause();
        }
        return c;
    }

    /** The innermost message (acme4j wraps I/O failures as "Network error"), once, escaped. */
    private static String rootMessage(Throwable e) {
        Throwable c = rootCause(e);
        String m = c.getMessage();
        return LogSafe.text(c.getClass().getSimpleName() + (m == null ? "" : ": " + m));
    }
}
