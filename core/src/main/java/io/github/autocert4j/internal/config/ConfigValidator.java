package io.github.autocert4j.internal.config;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.EncryptedCertStore;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.internal.acme.CaTrust;
import io.github.autocert4j.internal.config.Settings.IssuerSource;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.LogSafe;
import io.github.autocert4j.internal.util.Names;

import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every check of the builder's {@link Settings}, in one place: each error names the builder field
 * and ends with its fix, and all of them are collected so that one {@code build()} reports every
 * bad field at once.
 *
 * <p>Two checks read outside the JVM, because an unusable file or store is a configuration error
 * best reported with the others: each ACME trust PEM file is read, and the store's
 * {@link CertStore#checkAccess()} is called once, bounded (see {@link StoreProbe}). A store that
 * is down only logs a warning: a server must start while its database is down.
 */
public final class ConfigValidator {
    private static final Logger LOG = LoggerFactory.getLogger("io.github.autocert4j.AutoCertBuilder"); // the builder's log, as before
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");
    private static final Pattern PROFILE = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    /**
     * What the checks found and derived.
     *
     * @param errors every problem, each naming its field and fix; empty: the settings are valid
     * @param challengeTypes the challenge types in use, most preferred first
     * @param issuers the issuers in failover order: the directory's CA first
     * @param trusts the ACME server trust read for each CA that has one
     * @param store the store to use (the default directory, and key encryption, applied); null if errors
     * @param storeProbe the store's bounded {@code checkAccess()}, possibly still running; null without a store
     */
    public record Result(List<String> errors, List<String> challengeTypes, List<IssuerSource> issuers,
                         Map<AcmeCa, SSLContext> trusts, CertStore store, CompletableFuture<Void> storeProbe) {
    }

    private ConfigValidator() {
    }

    /** Runs every check on {@code s}; never throws for a bad setting (it is in {@link Result#errors}). */
    public static Result validate(Settings s) {
        List<String> errors = new ArrayList<>(s.problems());
        if (s.certificates().isEmpty() && s.onDemand() == null) {
            errors.add("certificate: none configured. Fix: call .certificate(\"example.com\", \"www.example.com\"), or enable .onDemand(...)");
        }
        List<String> types = ChallengeTypes.resolve(s.challengeTypes(), s.extraSolvers(), errors);
        checkNames(s, types, errors);
        AcmeCa primary = null;
        if (s.directory() != null) {
            primary = new AcmeCa(s.directory(), s.acmeTrustPem(), s.eabKeyId(), s.eabHmacKey(), s.preferredChain());
            // The first CA's settings come from separate builder methods: name those in the errors.
            errors.addAll(primary.problems("directory", "externalAccountBinding", "preferredChain"));
            if (s.eabSet() && !primary.hasExternalAccountBinding()) {
                errors.add("externalAccountBinding: no key id and no HMAC key. Fix: pass the key id and base64url HMAC key the CA gave you");
            }
        } else if (s.furtherIssuers().isEmpty()) {
            errors.add("directory: not set. Fix: .directory(AutoCert.LETS_ENCRYPT_STAGING) to test, LETS_ENCRYPT_PRODUCTION to go live");
        } else if (s.eabSet() || s.preferredChain() != null || s.acmeTrustPem() != null) {
            errors.add("directory: not set, but externalAccountBinding, preferredChain or acmeServerTrust is, and those configure "
                    + "the directory's CA. Fix: set .directory(...) or put them on the AcmeCa given to acmeCa(...)");
        }
        Set<String> caIds = new HashSet<>();
        if (primary != null && primary.directory() != null && primary.directory().getHost() != null) {
            caIds.add(StoreLayout.caId(primary.directory()));
        }
        List<IssuerSource> ordered = new ArrayList<>(); // the issuers in failover order: the directory's CA first
        if (primary != null) {
            ordered.add(new IssuerSource(primary, null));
        }
        ordered.addAll(s.furtherIssuers());
        boolean anyAcme = ordered.stream().anyMatch(IssuerSource::isAcme);
        for (IssuerSource further : s.furtherIssuers()) {
            if (further.isAcme()) {
                AcmeCa ca = further.ca();
                List<String> caErrors = ca.problems("acmeCa(" + ca.directory() + ")");
                errors.addAll(caErrors);
                if (caErrors.isEmpty() && !caIds.add(StoreLayout.caId(ca.directory()))) {
                    errors.add("acmeCa(" + ca.directory() + "): this CA is configured twice. Fix: configure each CA once");
                }
            }
        }
        if (anyAcme && !s.agreedToTos()) {
            errors.add("agreeToTermsOfService: not agreed. Fix: read the CA's terms of service, then call .agreeToTermsOfService(true)");
        }
        checkValues(s, errors);
        Map<AcmeCa, SSLContext> trusts = readTrusts(ordered, primary, errors);
        CertStore chosenStore = s.store();
        if (chosenStore == null && errors.isEmpty()) {
            chosenStore = FileCertStore.of(Path.of(System.getProperty("user.home"), ".local", "share", "autocert4j"));
        }
        if (chosenStore != null && s.keyEncryption() != null) {
            chosenStore = EncryptedCertStore.wrap(chosenStore, s.keyEncryption()[0],
                    Arrays.copyOfRange(s.keyEncryption(), 1, s.keyEncryption().length));
        }
        CompletableFuture<Void> probe = chosenStore == null ? null : probe(chosenStore, errors);
        return new Result(errors, types, ordered, trusts, chosenStore, probe);
    }

    /** Each name valid for the challenge types in use, and in exactly one certificate. */
    private static void checkNames(Settings s, List<String> types, List<String> errors) {
        boolean wildcards = Config.wildcardsAllowed(types);
        boolean ipValidatable = Config.ipAddressesValidatable(types);
        Set<String> seen = new HashSet<>();
        for (List<String> names : s.certificates()) {
            for (String name : names) {
                String problem = Names.problem("certificate", name, wildcards, s.allowIpAddresses());
                if (problem == null && Names.isIpAddress(name) && !ipValidatable) {
                    problem = "certificate: '" + name + "' is an IP address, which CAs validate only by http-01 or tls-alpn-01 (RFC 8738), "
                            + "but challengeTypes are " + types + ". Fix: add \"http-01\" or \"tls-alpn-01\" to challengeTypes(...)";
                }
                if (problem != null) {
                    errors.add(problem);
                } else if (!seen.add(name)) {
                    errors.add("certificate: '" + name + "' is listed twice. Fix: name each host in exactly one certificate");
                }
            }
        }
    }

    /** The plain values: e-mail, key type, listener, validation limit, clock, profile, renewal policy. */
    private static void checkValues(Settings s, List<String> errors) {
        if (s.email() != null && !EMAIL.matcher(s.email()).matches()) {
            errors.add("email: '" + s.email() + "' is not an e-mail address. Fix: .email(\"ops@example.com\") or leave it out");
        }
        if (s.keyType() == null) {
            errors.add("keyType: null. Fix: .keyType(KeyType.EC_P256)");
        }
        if (s.listener() == null) {
            errors.add("listener: null. Fix: pass an event listener or leave it out");
        }
        Duration window = s.failedValidationWindow();
        if (s.failedValidationMax() < 1 || window == null || window.isNegative() || window.isZero()) {
            errors.add("failedValidationLimit: " + s.failedValidationMax() + " per " + window + " is not a positive count per positive "
                    + "duration. Fix: .failedValidationLimit(5, Duration.ofHours(1)) (Let's Encrypt's limit), or leave it out");
        }
        if (s.lazyLoadAbove() < 0) {
            errors.add("lazyLoadAbove: " + s.lazyLoadAbove() + " is negative. Fix: a count of configured certificates (0: always lazy, "
                    + "Integer.MAX_VALUE: never), or leave it out for the default (500)");
        }
        if (s.clock() == null) {
            errors.add("clock: null. Fix: leave it out to use the system clock");
        }
        if (s.profile() != null && !PROFILE.matcher(s.profile()).matches()) {
            errors.add("profile: '" + s.profile() + "' is not a profile name. Fix: use a name from the CA's directory meta.profiles, e.g. \"shortlived\"");
        }
        if (s.requireProfile() && s.profile() == null) {
            errors.add("requireProfile: set without a profile. Fix: also call .profile(\"shortlived\") or drop requireProfile");
        }
        if (s.policy() == null) {
            errors.add("renewal: null. Fix: leave it out or pass RenewalPolicy.defaults()");
        } else if (s.policyProblem() != null) {
            errors.add(s.policyProblem());
        }
    }

    /** Reads each CA's ACME server trust file, so an unreadable one is reported with the other errors. */
    private static Map<AcmeCa, SSLContext> readTrusts(List<IssuerSource> ordered, AcmeCa primary, List<String> errors) {
        Map<AcmeCa, SSLContext> trusts = new IdentityHashMap<>();
        for (IssuerSource source : ordered) {
            AcmeCa ca = source.ca();
            if (ca != null && ca.serverTrust() != null) {
                try {
                    trusts.put(ca, CaTrust.from(ca.serverTrust()));
                } catch (IOException | GeneralSecurityException | RuntimeException e) {
                    String field = ca == primary ? "acmeServerTrust" : "acmeCa(" + ca.directory() + ").withServerTrust";
                    errors.add(field + ": cannot use " + ca.serverTrust() + " (" + e.getMessage()
                            + "). Fix: pass a readable PEM file with the CA certificate(s) of the ACME server");
                }
            }
        }
        return trusts;
    }

    /**
     * The store's bounded {@code checkAccess()}: one it cannot write is an error; one that is down
     * or slow only a warning (a server must start while its database is down; every store
     * operation later fails and is retried at the first backoff step).
     */
    private static CompletableFuture<Void> probe(CertStore store, List<String> errors) {
        CompletableFuture<Void> probe = new CompletableFuture<>();
        try {
            StoreProbe.checkAccessBounded(store, probe);
        } catch (TimeoutException e) {
            LOG.warn("autocert4j: the store {} has not answered within {} s (a database that is down or unreachable); "
                    + "starting anyway: stored certificates are loaded, or new ones obtained, once it answers; the self-signed "
                    + "fallback is served meanwhile", store, StoreProbe.WAIT.toSeconds());
        } catch (CertStore.UnavailableException e) {
            LOG.warn("autocert4j: the store {} cannot be reached now ({}); starting anyway: stored certificates are loaded, "
                    + "or new ones obtained, once it answers; the self-signed fallback is served meanwhile", store,
                    LogSafe.text(e.getMessage()));
        } catch (IOException | RuntimeException e) {
            errors.add("store: " + store + " cannot be written (" + LogSafe.text(e.getMessage()) + "). Fix: point storageDirectory() at a "
                    + "directory this process can write, or fix the store's permissions or connection");
        }
        return probe;
    }
}
