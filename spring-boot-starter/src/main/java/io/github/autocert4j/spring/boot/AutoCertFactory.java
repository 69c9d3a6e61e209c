package io.github.autocert4j.spring.boot;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEventListener;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.RenewalPolicy;
import org.springframework.core.env.Environment;

/**
 * Turns the {@code autocert4j.*} properties into an {@link AutoCert}. Property problems are reported
 * in property terms (name and fix) before the core builder sees them; whatever the builder still
 * rejects is reported under the property that set the field.
 */
final class AutoCertFactory {
    static final String LETSENCRYPT = "letsencrypt";
    static final String LETSENCRYPT_STAGING = "letsencrypt-staging";

    /** Core builder field (the text before the first ':' of its messages) -> the property that sets it. */
    private static final Map<String, String> FIELD_TO_PROPERTY = Map.ofEntries(
            Map.entry("certificate", "autocert4j.domains / autocert4j.certificates"),
            Map.entry("certificate()", "autocert4j.domains / autocert4j.certificates"),
            Map.entry("directory", "autocert4j.directory"),
            Map.entry("acmeServerTrust", "autocert4j.acme-server-trust"),
            Map.entry("agreeToTermsOfService", "autocert4j.agree-terms-of-service"),
            Map.entry("email", "autocert4j.email"),
            Map.entry("keyType", "autocert4j.key-type"),
            Map.entry("profile", "autocert4j.profile"),
            Map.entry("requireProfile", "autocert4j.require-profile"),
            Map.entry("store", "autocert4j.storage-directory"),
            Map.entry("storageDirectory", "autocert4j.storage-directory"),
            Map.entry("renewal", "autocert4j.renewal"),
            Map.entry("challengeTypes", "autocert4j.challenge-types"));

    /** Builder-call wording in the core's fixes -> the same advice in property terms (left as is if the core words it otherwise). */
    private static final List<Map.Entry<String, String>> FIX_IN_PROPERTY_TERMS = List.of(
            Map.entry(".email(\"ops@example.com\") or leave it out", "autocert4j.email=ops@example.com, or leave it out"),
            Map.entry("add .challengeSolver(yourDns01Solver)", "define a dns-01 ChallengeSolver bean"),
            Map.entry("add .challengeSolver(new Dns01Solver(yourDnsProvider)) (module autocert4j-dns)",
                    "define a ChallengeSolver bean, e.g. new Dns01Solver(yourDnsProvider) (module autocert4j-dns)"),
            Map.entry(".challengeTypes(\"http-01\") or .challengeTypes(\"tls-alpn-01\")", "autocert4j.challenge-types=http-01 or tls-alpn-01"),
            Map.entry("point storageDirectory() at", "point autocert4j.storage-directory at"),
            Map.entry("List.of(Duration.ofMinutes(1), Duration.ofDays(1))", "1m,1d"),
            Map.entry("Duration.ofHours(12)", "12h"),
            Map.entry("Duration.ofDays(14)", "14d"),
            Map.entry("Duration.ofMinutes(2)", "2m"),
            Map.entry("Duration.ofSeconds(15)", "15s"),
            Map.entry("e.g. 1.0/3", "e.g. 0.333"));

    private AutoCertFactory() {
    }

    /**
     * Builds (does not start) the manager.
     *
     * @throws AutoCertConfigurationException listing every problem, each with its property and fix
     */
    static AutoCert build(AutoCertProperties p, Environment env, CertEventListener listener, CertStore store,
            List<ChallengeSolver> solvers) {
        return build(p, env, listener, store, solvers, AutoCertFactory.class.getClassLoader());
    }

    /** Like {@link #build(AutoCertProperties, Environment, CertEventListener, CertStore, List)}, optional modules looked up in {@code classLoader}. */
    static AutoCert build(AutoCertProperties p, Environment env, CertEventListener listener, CertStore store,
            List<ChallengeSolver> solvers, ClassLoader classLoader) {
        List<String> problems = check(p, env, classLoader);
        if (!problems.isEmpty()) {
            throw new AutoCertConfigurationException(problems);
        }
        var builder = AutoCert.builder()
                .directory(directoryUri(p.getDirectory()))
                .agreeToTermsOfService(p.isAgreeTermsOfService())
                .keyType(p.getKeyType())
                .renewal(policy(p.getRenewal()))
                .listener(listener);
        builder.certificate(p.getDomains().toArray(String[]::new));
        for (List<String> names : p.getCertificates()) {
            builder.certificate(names.toArray(String[]::new));
        }
        if (p.getAcmeServerTrust() != null) {
            builder.acmeServerTrust(p.getAcmeServerTrust());
        }
        if (hasText(p.getEmail())) {
            builder.email(p.getEmail().trim());
        }
        if (hasText(p.getProfile())) {
            builder.profile(p.getProfile().trim());
        }
        builder.requireProfile(p.isRequireProfile());
        if (p.getChallengeTypes() != null && !p.getChallengeTypes().isEmpty()) {
            builder.challengeTypes(p.getChallengeTypes().stream().map(String::trim).toArray(String[]::new));
        }
        if (store != null) {
            builder.store(store);
        } else if (p.getStorageDirectory() != null) {
            builder.storageDirectory(p.getStorageDirectory());
        }
        for (ChallengeSolver solver : solvers) {
            builder.challengeSolver(solver);
        }
        try {
            return builder.build();
        } catch (IllegalArgumentException e) {
            throw new AutoCertConfigurationException(inPropertyTerms(e.getMessage()));
        }
    }

    /** The problems the starter can name in property terms; empty if none. */
    static List<String> check(AutoCertProperties p, Environment env) {
        return check(p, env, AutoCertFactory.class.getClassLoader());
    }

    /** Like {@link #check(AutoCertProperties, Environment)}, optional modules (autocert4j-postgres) looked up in {@code classLoader}. */
    static List<String> check(AutoCertProperties p, Environment env, ClassLoader classLoader) {
        List<String> problems = new ArrayList<>();
        if (p.getDomains() == null || p.getDomains().stream().noneMatch(AutoCertFactory::hasText)) {
            problems.add("autocert4j.domains: not set. Fix: list the names this server answers for, e.g. "
                    + "autocert4j.domains=example.com,www.example.com (or set autocert4j.enabled=false)");
        } else if (p.getDomains().stream().anyMatch(d -> !hasText(d))) {
            problems.add("autocert4j.domains: contains an empty name " + p.getDomains() + ". Fix: remove the empty entry");
        }
        for (int i = 0; i < p.getCertificates().size(); i++) {
            List<String> names = p.getCertificates().get(i);
            if (names == null || names.isEmpty() || names.stream().anyMatch(n -> !hasText(n))) {
                problems.add("autocert4j.certificates[" + i + "]: " + (names == null || names.isEmpty() ? "no names" : "an empty name in " + names)
                        + ". Fix: give each certificate its names, e.g. autocert4j.certificates[" + i + "]=shop.example.com,www.shop.example.com");
            }
        }
        String directory = p.getDirectory();
        if (!hasText(directory)) {
            problems.add("autocert4j.directory: not set. Fix: autocert4j.directory=" + LETSENCRYPT_STAGING + " to test, "
                    + LETSENCRYPT + " to go live, or the https URL of your CA's ACME directory");
        } else if (directoryUri(directory) == null) {
            problems.add("autocert4j.directory: '" + directory + "' is neither " + LETSENCRYPT + ", " + LETSENCRYPT_STAGING
                    + " nor an https URL. Fix: use one of those shorthands or the https URL of your CA's ACME directory, e.g. "
                    + AutoCert.LETS_ENCRYPT_STAGING);
        }
        if (!p.isAgreeTermsOfService()) {
            problems.add("autocert4j.agree-terms-of-service: not true. Fix: read your CA's terms of service "
                    + "(Let's Encrypt: https://letsencrypt.org/repository/), then set autocert4j.agree-terms-of-service=true");
        }
        if (p.getKeyType() == null) {
            problems.add("autocert4j.key-type: empty. Fix: leave it out (EC_P256) or use EC_P256, EC_P384, RSA_2048, RSA_3072 or RSA_4096");
        }
        if (p.getHttpPort() < 1 || p.getHttpPort() > 65535) {
            problems.add("autocert4j.http-port: " + p.getHttpPort() + " is not a port. Fix: the plain-HTTP port the CA reaches, "
                    + "80 in production (1..65535)");
        } else {
            Integer serverPort = env.getProperty("server.port", Integer.class, 8080);
            if (serverPort != null && serverPort == p.getHttpPort()) {
                problems.add("autocert4j.http-port: " + p.getHttpPort() + " is also server.port, where HTTPS is served. Fix: give "
                        + "the plain-HTTP port (80 in production) and the HTTPS port (server.port, 443 in production) different numbers");
            }
        }
        if (serverSslConfigured(env)) {
            problems.add("server.ssl: configured, but autocert4j serves HTTPS on server.port with its own certificates. Fix: "
                    + "remove the server.ssl.* properties, or set autocert4j.enabled=false to keep them");
        }
        if (p.isRequireProfile() && !hasText(p.getProfile())) {
            problems.add("autocert4j.require-profile: true without autocert4j.profile. Fix: also set autocert4j.profile "
                    + "(e.g. shortlived) or drop autocert4j.require-profile");
        }
        if (!hasText(p.getHealth().getRenewalFailingStatus())) {
            problems.add("autocert4j.health.renewal-failing-status: empty. Fix: leave it out (OUT_OF_SERVICE) or give a status code such as WARNING");
        }
        if (p.getStore().getType() == AutoCertProperties.StoreType.POSTGRES && !postgresStoreAvailable(classLoader)) {
            problems.add("autocert4j.store.type: postgres, but autocert4j-postgres is not on the class path. Fix: add the dependency "
                    + "io.github.autocert4j:autocert4j-postgres (and spring-boot-starter-jdbc with spring.datasource.url), or remove "
                    + "autocert4j.store.type");
        }
        if (!hasText(p.getHealth().getFallbackStatus())) {
            problems.add("autocert4j.health.fallback-status: empty. Fix: leave it out (OUT_OF_SERVICE) or give a status code such as UP or WARNING");
        }
        return problems;
    }

    /** Whether autocert4j-postgres is on the class path (without loading a class that needs it). */
    private static boolean postgresStoreAvailable(ClassLoader classLoader) {
        return org.springframework.util.ClassUtils.isPresent(PostgresStoreConfiguration.STORE_CLASS, classLoader);
    }

    /** The directory URI for a shorthand or an https URL; null if it is neither. */
    static URI directoryUri(String directory) {
        if (directory == null) {
            return null;
        }
        String d = directory.trim();
        if (d.equalsIgnoreCase(LETSENCRYPT)) {
            return AutoCert.LETS_ENCRYPT_PRODUCTION;
        }
        if (d.equalsIgnoreCase(LETSENCRYPT_STAGING)) {
            return AutoCert.LETS_ENCRYPT_STAGING;
        }
        try {
            URI uri = URI.create(d);
            return "https".equalsIgnoreCase(uri.getScheme()) && uri.getHost() != null ? uri : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    static RenewalPolicy policy(AutoCertProperties.Renewal r) {
        return RenewalPolicy.defaults()
                .withCheckInterval(r.getCheckInterval())
                .withRenewalRatio(r.getRenewalRatio())
                .withBackoff(r.getBackoff() == null ? null : List.copyOf(r.getBackoff()))
                .withExpiryWarning(r.getExpiryWarning())
                .withAri(r.isUseAri())
                .withOrderTimeout(r.getOrderTimeout())
                .withHttpTimeout(r.getHttpTimeout());
    }

    private static boolean serverSslConfigured(Environment env) {
        if ("false".equalsIgnoreCase(env.getProperty("server.ssl.enabled", "").trim())) {
            return false;
        }
        for (String key : List.of("server.ssl.enabled", "server.ssl.bundle", "server.ssl.key-store", "server.ssl.certificate",
                "server.ssl.certificate-private-key")) {
            if (hasText(env.getProperty(key))) {
                return true;
            }
        }
        return false;
    }

    /** Rewrites the core builder's "invalid autocert4j configuration" lines to name the properties. */
    static List<String> inPropertyTerms(String coreMessage) {
        List<String> lines = new ArrayList<>();
        for (String line : coreMessage.split("\n")) {
            String l = line.strip();
            if (!l.startsWith("- ")) {
                continue;
            }
            l = l.substring(2);
            // "field: problem. Fix: ..." or, from the renewal policy, "renewal.field is value: ..."
            int end = 0;
            while (end < l.length() && l.charAt(end) != ':' && l.charAt(end) != ' ') {
                end++;
            }
            String field = l.substring(0, end);
            String property = FIELD_TO_PROPERTY.get(field);
            if (property == null && field.startsWith("renewal.")) {
                property = "autocert4j.renewal." + kebab(field.substring("renewal.".length()));
            }
            if (property == null) {
                lines.add(l);
                continue;
            }
            String text = l.substring(end);
            for (Map.Entry<String, String> fix : FIX_IN_PROPERTY_TERMS) {
                text = text.replace(fix.getKey(), fix.getValue());
            }
            lines.add(property + " (" + field + ")" + text);
        }
        if (lines.isEmpty()) {
            lines.add(coreMessage);
        }
        return lines;
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
    }

    static boolean hasText(String s) {
        return s != null && !s.isBlank();
    }
}
