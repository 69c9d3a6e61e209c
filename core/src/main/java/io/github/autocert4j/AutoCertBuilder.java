package io.github.autocert4j;

import io.github.autocert4j.internal.assembly.ConfigAssembly;
import io.github.autocert4j.internal.config.ConfigValidator;
import io.github.autocert4j.internal.config.Settings;
import io.github.autocert4j.internal.renewal.FailedValidationBudget;
import io.github.autocert4j.internal.util.Names;

import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Configures an {@link AutoCert}. {@link #build()} checks everything at once and fails with one
 * {@link InvalidConfigurationException} listing every bad field with its fix; it starts nothing and
 * changes nothing in the builder, so one builder can build several managers.
 *
 * <pre>{@code
 * AutoCert autoCert = AutoCert.builder()
 *     .directory(AutoCert.LETS_ENCRYPT_STAGING)
 *     .agreeToTermsOfService(true)
 *     .certificate("app.example.com")
 *     .storageDirectory(Path.of("/var/lib/myapp/certs"))
 *     .build();
 * }</pre>
 */
public final class AutoCertBuilder {

    private final List<List<String>> certificates = new ArrayList<>();
    private final List<ChallengeSolver> extraSolvers = new ArrayList<>();
    /** Issuers after the primary directory, in the order added. */
    private final List<Settings.IssuerSource> furtherIssuers = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private URI directory;
    private Path acmeTrustPem;
    private String email;
    private boolean agreedToTos;
    private KeyType keyType = KeyType.EC_P256;
    private CertStore store;
    private KeyEncryptionKey[] keyEncryption;
    private RenewalPolicy policy = RenewalPolicy.defaults();
    private CertEventListener listener = e -> { };
    private ScheduledExecutorService executor;
    private Clock clock = Clock.systemUTC();
    private String profile;
    private boolean requireProfile;
    private boolean allowIpAddresses;
    private OnDemand onDemand;
    private int failedValidationMax = FailedValidationBudget.DEFAULT_MAX;
    private java.time.Duration failedValidationWindow = FailedValidationBudget.DEFAULT_WINDOW;
    private boolean eabSet;
    private String eabKeyId;
    private String eabHmacKey;
    private String preferredChain;
    private List<String> challengeTypes;
    private String revokeOnRemove;
    private int lazyLoadAbove = io.github.autocert4j.internal.renewal.LazyStart.DEFAULT_ABOVE;

    AutoCertBuilder() {
    }

    /**
     * Adds one certificate covering {@code names} (the first is its id, and the first
     * certificate is served to clients that send no SNI). Call again for more certificates.
     */
    public AutoCertBuilder certificate(String... names) {
        if (names == null || names.length == 0) {
            problems.add("certificate(): no names given. Fix: .certificate(\"example.com\", \"www.example.com\")");
            return this;
        }
        List<String> list = new ArrayList<>();
        for (String n : names) {
            list.add(Names.normalize(n));
        }
        certificates.add(list);
        return this;
    }

    /** The ACME directory URL, e.g. {@link AutoCert#LETS_ENCRYPT_PRODUCTION}. */
    public AutoCertBuilder directory(URI directory) {
        this.directory = directory;
        return this;
    }

    /** The ACME directory URL as a string. */
    public AutoCertBuilder directory(String directory) {
        try {
            this.directory = URI.create(directory);
        } catch (IllegalArgumentException | NullPointerException e) {
            problems.add("directory: '" + directory + "' is not a URL. Fix: use e.g. " + AutoCert.LETS_ENCRYPT_STAGING);
        }
        return this;
    }

    /**
     * Obtains certificates from {@code issuer} (a non-ACME CA, a test double) instead of, or
     * after, the ACME {@link #directory}: issuers are tried in the order they were added, the ACME
     * directory first. See {@link Issuer}.
     */
    public AutoCertBuilder issuer(Issuer issuer) {
        if (issuer == null) {
            problems.add("issuer: null. Fix: pass an Issuer instance, or use directory(...) for an ACME CA");
        } else {
            furtherIssuers.add(new Settings.IssuerSource(null, issuer));
        }
        return this;
    }

    /**
     * Adds a further ACME CA with its own settings, tried after {@link #directory} (and the CAs and
     * issuers added before it) when they cannot issue: an outage, a rate limit, a refusal. Each CA
     * keeps its own account; the stored certificate remembers which CA issued it, and a CA that
     * asked to wait (Retry-After) is skipped for that certificate until then.
     *
     * <pre>{@code
     * .directory(AutoCert.LETS_ENCRYPT_PRODUCTION)
     * .acmeCa(AcmeCa.of("https://acme.zerossl.com/v2/DV90").withExternalAccountBinding(kid, hmacKey))
     * }</pre>
     */
    public AutoCertBuilder acmeCa(AcmeCa ca) {
        if (ca == null) {
            problems.add("acmeCa: null. Fix: pass AcmeCa.of(\"https://ca.example/directory\")");
        } else {
            furtherIssuers.add(new Settings.IssuerSource(ca, null));
        }
        return this;
    }

    /**
     * External account binding for the {@link #directory} CA (RFC 8555 §7.3.4): the key id and the
     * base64url HMAC key the CA gave you (ZeroSSL, Google Trust Services and most commercial CAs
     * require it). Used once, when the ACME account is created; signed with HS256.
     */
    public AutoCertBuilder externalAccountBinding(String keyId, String hmacKeyBase64url) {
        this.eabSet = true;
        this.eabKeyId = keyId;
        this.eabHmacKey = hmacKeyBase64url;
        return this;
    }

    /**
     * Prefers, among the chains the {@link #directory} CA offers, the one whose top certificate was
     * issued by (or is) the CA with this common name, e.g. {@code "ISRG Root X1"}; falls back to
     * the CA's default chain with a log line when it offers none.
     */
    public AutoCertBuilder preferredChain(String issuerCommonName) {
        this.preferredChain = issuerCommonName;
        if (issuerCommonName == null) {
            problems.add("preferredChain: null. Fix: pass the common name of the root to prefer, e.g. \"ISRG Root X1\", or leave it out");
        }
        return this;
    }

    /**
     * Which ACME challenge types to use, most preferred first: for each name the first type that
     * the CA offers is used. Built in are {@code "http-01"} (answered through {@link AutoCert#http01()}
     * on the host's port 80) and {@code "tls-alpn-01"} (answered on the host's TLS port: see
     * {@link TlsAlpn01Responder}); other types need a {@link #challengeSolver}. Default: http-01,
     * then the types of the added solvers; with a {@code dns-01} solver added, dns-01 first (every
     * DNS name is then proven by DNS-01, no port 80 needed), then the other added types, then
     * http-01 (used only for IP addresses, which DNS-01 cannot prove). A host without port 80 that
     * has no DNS solver lists only {@code "tls-alpn-01"}.
     *
     * <pre>{@code
     * .challengeTypes("tls-alpn-01")                 // port 443 only
     * .challengeTypes("dns-01", "http-01")           // with .challengeSolver(dns01Solver)
     * }</pre>
     */
    public AutoCertBuilder challengeTypes(String... types) {
        this.challengeTypes = types == null ? List.of() : java.util.Arrays.asList(types.clone());
        return this;
    }

    /**
     * Trusts the CA certificates in this PEM file (and nothing else) for the ACME API's HTTPS.
     * Only for a private CA such as Pebble; public CAs need no setting.
     */
    public AutoCertBuilder acmeServerTrust(Path pemFile) {
        this.acmeTrustPem = pemFile;
        return this;
    }

    /** Contact address for the CA's expiry and policy mail. Optional. */
    public AutoCertBuilder email(String email) {
        this.email = email;
        return this;
    }

    /** You must read the CA's terms of service and agree to them explicitly. */
    public AutoCertBuilder agreeToTermsOfService(boolean agreed) {
        this.agreedToTos = agreed;
        return this;
    }

    /** Key type of the certificates' private keys; default {@link KeyType#EC_P256}. */
    public AutoCertBuilder keyType(KeyType keyType) {
        this.keyType = keyType;
        return this;
    }

    /** Where to keep keys and certificates; default {@code ~/.local/share/autocert4j}. */
    public AutoCertBuilder store(CertStore store) {
        this.store = store;
        return this;
    }

    /**
     * Keeps private keys encrypted in the store: {@code store(EncryptedCertStore.wrap(store, current, previous))}
     * around whichever store is configured (see {@link EncryptedCertStore}).
     */
    public AutoCertBuilder encryptKeys(KeyEncryptionKey current, KeyEncryptionKey... previous) {
        KeyEncryptionKey[] all = new KeyEncryptionKey[previous.length + 1];
        all[0] = current;
        System.arraycopy(previous, 0, all, 1, previous.length);
        this.keyEncryption = all;
        return this;
    }

    /** Shorthand for {@code store(FileCertStore.of(directory))}. */
    public AutoCertBuilder storageDirectory(Path directory) {
        if (directory == null) {
            problems.add("storageDirectory: null. Fix: pass a writable directory such as Path.of(\"/var/lib/myapp/certs\")");
            return this;
        }
        this.store = FileCertStore.of(directory);
        return this;
    }

    /** When to check, renew, retry and warn; see {@link RenewalPolicy}. */
    public AutoCertBuilder renewal(RenewalPolicy policy) {
        this.policy = policy;
        return this;
    }

    /** Receives every {@link CertEvent}, one at a time. */
    public AutoCertBuilder listener(CertEventListener listener) {
        this.listener = listener;
        return this;
    }

    /**
     * Runs checks and orders on this executor instead of an own daemon thread. It is not shut
     * down by {@link AutoCert#close()}; keep it running while the manager is open.
     */
    public AutoCertBuilder executor(ScheduledExecutorService executor) {
        this.executor = executor;
        return this;
    }

    /** The clock for all renewal decisions (tests substitute one). */
    public AutoCertBuilder clock(Clock clock) {
        this.clock = clock;
        return this;
    }

    /**
     * Adds a challenge solver (e.g. dns-01 for wildcards); its type is used after http-01 unless
     * {@link #challengeTypes} says otherwise, except dns-01, which is then used first for every DNS
     * name. A solver of a built-in type (http-01, tls-alpn-01) replaces the built-in one.
     */
    public AutoCertBuilder challengeSolver(ChallengeSolver solver) {
        if (solver == null) {
            problems.add("challengeSolver: null. Fix: pass a ChallengeSolver instance");
        } else {
            extraSolvers.add(solver);
        }
        return this;
    }

    /** ACME profile to order under (e.g. Let's Encrypt's {@code "shortlived"} or {@code "tlsserver"}). */
    public AutoCertBuilder profile(String profile) {
        this.profile = profile;
        return this;
    }

    /** Fail (permanently, reported) instead of falling back to the CA's default profile when the CA lacks {@link #profile}. */
    public AutoCertBuilder requireProfile(boolean require) {
        this.requireProfile = require;
        return this;
    }

    /**
     * Allows IP addresses among the names (RFC 8738). Only some CAs issue them, and only under some
     * profiles (Let's Encrypt: {@code shortlived}); they are validated by HTTP-01 or TLS-ALPN-01.
     */
    public AutoCertBuilder allowIpAddresses(boolean allow) {
        this.allowIpAddresses = allow;
        return this;
    }

    /**
     * Enables on-demand TLS: certificates for names nobody configured, obtained at the first
     * handshake that asks for them, for the names {@code onDemand}'s decision function allows.
     * With it, {@link #certificate} becomes optional. See {@link OnDemand}.
     */
    public AutoCertBuilder onDemand(OnDemand onDemand) {
        this.onDemand = onDemand;
        return this;
    }

    /**
     * At most {@code max} failed validations of one hostname per issuer (ACME account) within any
     * rolling {@code window}; an order for a name that used up its budget is not sent before the
     * oldest failure leaves the window (the attempt fails at once with that time as its
     * {@code retryAfter}, and another configured CA may be tried). Default: 5 per hour, Let's
     * Encrypt's limit of failed authorizations per hostname per account, also applied to other CAs.
     * See docs/rate-limits.md.
     */
    public AutoCertBuilder failedValidationLimit(int max, java.time.Duration window) {
        this.failedValidationMax = max;
        this.failedValidationWindow = window;
        return this;
    }

    /**
     * Above {@code count} configured certificates, {@link AutoCert#start()} reads none of them: each is loaded at its first
     * handshake, a background sweep loads the rest (status {@code NOT_LOADED} until then). Default 500 (measured: up to
     * that many, eager serves about 1 s or less after lazy); {@code Integer.MAX_VALUE}: never; 0: always. See docs/operations.md.
     */
    public AutoCertBuilder lazyLoadAbove(int count) {
        this.lazyLoadAbove = count;
        return this;
    }

    /**
     * Revoke a certificate's live certificate at its CA, with {@code reason} (one of {@link AcmeAccounts#revocationReasons()},
     * e.g. {@code "cessationOfOperation"}), when {@link AutoCert#removeCertificate} removes it, and delete its stored copy.
     * Default: off (null), the stored copy is kept and served again if the certificate is added back.
     * <pre>{@code builder.revokeOnRemove("cessationOfOperation")}</pre>
     */
    public AutoCertBuilder revokeOnRemove(String reason) {
        if (reason != null && AcmeAccounts.revocationReasons().stream().noneMatch(r -> r.replace("_", "")
                .equals(reason.replace("_", "").replace("-", "").toLowerCase(java.util.Locale.ROOT)))) {
            problems.add("revokeOnRemove: unknown reason '" + reason + "'. Fix: one of " + AcmeAccounts.revocationReasons());
        } else {
            this.revokeOnRemove = reason;
        }
        return this;
    }

    /**
     * Validates the configuration and creates the manager (not started yet: call {@link AutoCert#start()}).
     *
     * <p>What it touches outside the JVM, and why (everything else waits for {@code start()}):
     * <ul>
     *   <li>reads each {@code acmeServerTrust}/{@link AcmeCa#withServerTrust} PEM file, so that an
     *       unreadable one is reported with the other configuration errors;</li>
     *   <li>calls the store's {@link CertStore#checkAccess()} once, waiting at most 2 seconds, so
     *       that a store this process cannot write fails here rather than at the first renewal. For
     *       a {@link FileCertStore} that creates the storage directory if missing and writes and
     *       deletes one file {@code .probe} in it; other stores do what their {@code checkAccess}
     *       says (a database store runs one query). A store that is down or does not answer in time
     *       only logs a warning: a server must start while its database is down.</li>
     * </ul>
     * It contacts no CA. A store that has not answered after 2 seconds keeps its daemon thread
     * (named {@code autocert4j-store-probe}) until it does, and a late failure is logged.
     * Last, it prepares the ACME client on a daemon thread ({@code autocert4j-acme-prepare}: each CA's HTTP client, held until
     * {@code close()}, with its TLS context, fixing the JDK default trust's properties then; jose4j); no network before {@code start()}.
     */
    public AutoCert build() {
        // Copy what was given, check all of it, assemble (only the check touches anything outside the JVM, see above).
        Settings settings = settings();
        ConfigValidator.Result valid = ConfigValidator.validate(settings);
        if (!valid.errors().isEmpty()) {
            throw new InvalidConfigurationException("invalid autocert4j configuration:", valid.errors());
        }
        AutoCert built = new AutoCert(ConfigAssembly.config(settings, valid));
        built.accounts().revokeOnRemove(revokeOnRemove);
        built.finishBuild(valid.storeProbe());
        return built;
    }

    private Settings settings() {
        return new Settings(copy(certificates.stream().map(AutoCertBuilder::copy).toList()), copy(extraSolvers), copy(furtherIssuers),
                copy(problems), directory, acmeTrustPem, email, agreedToTos, keyType, store,
                keyEncryption == null ? null : keyEncryption.clone(), policy, policyProblem(policy), listener, executor, clock, profile, requireProfile,
                allowIpAddresses, onDemand, failedValidationMax, failedValidationWindow, eabSet, eabKeyId, eabHmacKey, preferredChain,
                challengeTypes == null ? null : copy(challengeTypes), lazyLoadAbove);
    }

    /** What the policy finds wrong with itself (its check is package-private), for the validator; null if fine or null. */
    private static String policyProblem(RenewalPolicy policy) {
        try {
            if (policy != null) {
                policy.validate();
            }
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** An unmodifiable copy that, unlike {@code List.copyOf}, keeps a null (the validator reports it). */
    private static <T> List<T> copy(List<T> list) {
        return java.util.Collections.unmodifiableList(new ArrayList<>(list));
    }
}
