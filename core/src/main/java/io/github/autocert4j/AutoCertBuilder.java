package io.github.autocert4j;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;


/**
 * Configures an {@link AutoCert}. {@link #build()} checks everything at once and fails with one
 * {@link IllegalArgumentException} listing every bad field with its fix; it starts nothing and
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
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");
    private static final Pattern PROFILE = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private final List<List<String>> certificates = new ArrayList<>();
    private final List<ChallengeSolver> extraSolvers = new ArrayList<>();
    private final List<Issuer> issuers = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private URI directory;
    private Path acmeTrustPem;
    private String email;
    private boolean agreedToTos;
    private KeyType keyType = KeyType.EC_P256;
    private CertStore store;
    private RenewalPolicy policy = RenewalPolicy.defaults();
    private CertEventListener listener = e -> { };
    private ScheduledExecutorService executor;
    private Clock clock = Clock.systemUTC();
    private String profile;
    private boolean requireProfile;
    private boolean allowIpAddresses;

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
            issuers.add(issuer);
        }
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

    /** Adds a challenge solver (e.g. dns-01 for wildcards). HTTP-01 through {@link AutoCert#http01()} is always available. */
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

    /** Validates the configuration and creates the manager (not started yet: call {@link AutoCert#start()}). */
    public AutoCert build() {
        List<String> errors = new ArrayList<>(problems);
        if (certificates.isEmpty()) {
            errors.add("certificate: none configured. Fix: call .certificate(\"example.com\", \"www.example.com\")");
        }
        boolean wildcards = extraSolvers.stream().anyMatch(s -> "dns-01".equals(s.challengeType()));
        Set<String> seen = new HashSet<>();
        for (List<String> names : certificates) {
            for (String name : names) {
                String problem = Names.problem("certificate", name, wildcards, allowIpAddresses);
                if (problem != null) {
                    errors.add(problem);
                } else if (!seen.add(name)) {
                    errors.add("certificate: '" + name + "' is listed twice. Fix: name each host in exactly one certificate");
                }
            }
        }
        if (directory == null && issuers.isEmpty()) {
            errors.add("directory: not set. Fix: .directory(AutoCert.LETS_ENCRYPT_STAGING) to test, LETS_ENCRYPT_PRODUCTION to go live");
        } else if (directory != null && (!"https".equals(directory.getScheme()) || directory.getHost() == null)) {
            errors.add("directory: '" + directory + "' is not an https URL. Fix: use the CA's https directory URL, e.g. " + AutoCert.LETS_ENCRYPT_STAGING);
        }
        if (directory != null && !agreedToTos) {
            errors.add("agreeToTermsOfService: not agreed. Fix: read the CA's terms of service, then call .agreeToTermsOfService(true)");
        }
        if (email != null && !EMAIL.matcher(email).matches()) {
            errors.add("email: '" + email + "' is not an e-mail address. Fix: .email(\"ops@example.com\") or leave it out");
        }
        if (keyType == null) {
            errors.add("keyType: null. Fix: .keyType(KeyType.EC_P256)");
        }
        if (listener == null) {
            errors.add("listener: null. Fix: pass an event listener or leave it out");
        }
        if (clock == null) {
            errors.add("clock: null. Fix: leave it out to use the system clock");
        }
        if (profile != null && !PROFILE.matcher(profile).matches()) {
            errors.add("profile: '" + profile + "' is not a profile name. Fix: use a name from the CA's directory meta.profiles, e.g. \"shortlived\"");
        }
        if (requireProfile && profile == null) {
            errors.add("requireProfile: set without a profile. Fix: also call .profile(\"shortlived\") or drop requireProfile");
        }
        if (policy == null) {
            errors.add("renewal: null. Fix: leave it out or pass RenewalPolicy.defaults()");
        } else {
            try {
                policy.validate();
            } catch (IllegalArgumentException e) {
                errors.add(e.getMessage());
            }
        }
        SSLContext trust = null;
        if (acmeTrustPem != null) {
            try {
                trust = trustFrom(acmeTrustPem);
            } catch (IOException | GeneralSecurityException | RuntimeException e) {
                errors.add("acmeServerTrust: cannot use " + acmeTrustPem + " (" + e.getMessage() + "). Fix: pass a readable PEM file with the CA certificate(s) of the ACME server");
            }
        }
        CertStore chosenStore = store;
        if (chosenStore == null && errors.isEmpty()) {
            chosenStore = FileCertStore.of(Path.of(System.getProperty("user.home"), ".local", "share", "autocert4j"));
        }
        if (chosenStore != null) {
            try {
                chosenStore.checkAccess();
            } catch (IOException | RuntimeException e) {
                errors.add("store: " + chosenStore + " cannot be written (" + LogSafe.text(e.getMessage()) + "). Fix: point storageDirectory() at a "
                        + "directory this process can write, or fix the store's permissions or connection");
            }
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid autocert4j configuration:\n  - " + String.join("\n  - ", errors));
        }
        List<Config.IssuerFactory> factories = new ArrayList<>();
        if (directory != null) {
            URI dir = directory;
            SSLContext acmeTrust = trust;
            String contact = email;
            java.time.Duration httpTimeout = policy.httpTimeout();
            factories.add((s, solvers) -> new AcmeIssuer(dir, acmeTrust, s, contact, httpTimeout, solvers));
        }
        for (Issuer issuer : issuers) {
            factories.add((s, solvers) -> issuer);
        }
        return new AutoCert(new Config(certificates, factories, extraSolvers, chosenStore, keyType, profile, requireProfile,
                allowIpAddresses, policy, listener, executor, clock));
    }

    private static SSLContext trustFrom(Path pem) throws IOException, GeneralSecurityException {
        List<X509Certificate> certs = Pem.decodeCertificates(Files.readAllBytes(pem));
        if (certs.isEmpty()) {
            throw new IOException("no certificate in the file");
        }
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        for (int i = 0; i < certs.size(); i++) {
            ks.setCertificateEntry("acme-ca-" + i, certs.get(i));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
