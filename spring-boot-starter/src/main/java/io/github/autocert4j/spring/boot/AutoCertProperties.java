package io.github.autocert4j.spring.boot;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.github.autocert4j.KeyType;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code autocert4j.*} application properties. HTTPS is served on Boot's own {@code server.port}
 * with the live certificate; the ACME HTTP-01 challenge (and, by default, a redirect to HTTPS) is
 * answered on {@code autocert4j.http-port}, a plain-HTTP port added to Boot's server.
 *
 * <pre>{@code
 * server:
 *   port: 443
 * autocert4j:
 *   domains: example.com, www.example.com
 *   directory: letsencrypt-staging        # letsencrypt to go live
 *   email: ops@example.com
 *   agree-terms-of-service: true
 *   storage-directory: /var/lib/myapp/certs
 *   http-port: 80
 * }</pre>
 */
@ConfigurationProperties(prefix = "autocert4j")
public class AutoCertProperties {

    /** Whether autocert4j manages the HTTPS certificate of this application. */
    private boolean enabled = true;

    /**
     * Names of the certificate served on the HTTPS port, e.g. example.com, www.example.com. The first
     * name is the certificate's id and the one served to clients that send no SNI.
     */
    private List<String> domains = new ArrayList<>();

    /**
     * Further certificates, each a list of names (the HTTPS port picks one by SNI at every
     * handshake), e.g. autocert4j.certificates[0]=shop.example.com,www.shop.example.com.
     */
    private List<List<String>> certificates = new ArrayList<>();

    /**
     * ACME directory of the CA: "letsencrypt", "letsencrypt-staging", or the https URL of any ACME
     * directory.
     */
    private String directory;

    /**
     * PEM file with the CA certificate(s) to trust for the ACME API's HTTPS. Only for a private CA
     * such as Pebble; public CAs need no setting.
     */
    private Path acmeServerTrust;

    /** Contact e-mail address for the CA's expiry and policy notices. */
    private String email;

    /** Must be true: read the CA's terms of service first. */
    private boolean agreeTermsOfService;

    /**
     * Directory holding the account key, the certificates and their keys (files 0600, directories
     * 0700). Default ~/.local/share/autocert4j. Ignored when the application defines a CertStore bean.
     */
    private Path storageDirectory;

    /**
     * Plain-HTTP port added to Boot's server, where the CA's HTTP-01 challenge is answered. The CA
     * dials port 80 of every name: keep 80 unless a port mapping or proxy forwards 80 here.
     */
    private int httpPort = 80;

    /**
     * Whether every other request on the plain-HTTP port is redirected to HTTPS (301 for GET and
     * HEAD, 308 otherwise). When false the application is served on that port too.
     */
    private boolean redirectToHttps = true;

    /** ACME profile to order under, e.g. "tlsserver" or "shortlived" (Let's Encrypt). */
    private String profile;

    /** Whether to fail (reported, no retries) instead of using the CA's default profile when the CA lacks the profile. */
    private boolean requireProfile;

    /** Key type of the certificates' private keys. */
    private KeyType keyType = KeyType.EC_P256;

    /**
     * ACME challenge types in preference order: http-01 (answered on autocert4j.http-port, the CA
     * dials port 80), tls-alpn-01 (answered on server.port, the CA dials port 443: for a server whose
     * port 80 is blocked) or dns-01 (with a dns-01 ChallengeSolver bean). Default: http-01, then the
     * types of the ChallengeSolver beans.
     */
    private List<String> challengeTypes = new ArrayList<>();

    /** Where certificates, keys and the account are stored. */
    private final Store store = new Store();

    /** When to check, renew, retry and warn. */
    private final Renewal renewal = new Renewal();

    /** The Actuator health indicator "autocert4j". */
    private final Health health = new Health();

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public List<String> getDomains() {
        return domains;
    }

    public void setDomains(List<String> domains) {
        this.domains = domains;
    }

    public List<List<String>> getCertificates() {
        return certificates;
    }

    public void setCertificates(List<List<String>> certificates) {
        this.certificates = certificates;
    }

    public String getDirectory() {
        return directory;
    }

    public void setDirectory(String directory) {
        this.directory = directory;
    }

    public Path getAcmeServerTrust() {
        return acmeServerTrust;
    }

    public void setAcmeServerTrust(Path acmeServerTrust) {
        this.acmeServerTrust = acmeServerTrust;
    }

    public String getEmail() {
        return email;
    }

    public void setEmail(String email) {
        this.email = email;
    }

    public boolean isAgreeTermsOfService() {
        return agreeTermsOfService;
    }

    public void setAgreeTermsOfService(boolean agreeTermsOfService) {
        this.agreeTermsOfService = agreeTermsOfService;
    }

    public Path getStorageDirectory() {
        return storageDirectory;
    }

    public void setStorageDirectory(Path storageDirectory) {
        this.storageDirectory = storageDirectory;
    }

    public int getHttpPort() {
        return httpPort;
    }

    public void setHttpPort(int httpPort) {
        this.httpPort = httpPort;
    }

    public boolean isRedirectToHttps() {
        return redirectToHttps;
    }

    public void setRedirectToHttps(boolean redirectToHttps) {
        this.redirectToHttps = redirectToHttps;
    }

    public String getProfile() {
        return profile;
    }

    public void setProfile(String profile) {
        this.profile = profile;
    }

    public boolean isRequireProfile() {
        return requireProfile;
    }

    public void setRequireProfile(boolean requireProfile) {
        this.requireProfile = requireProfile;
    }

    public KeyType getKeyType() {
        return keyType;
    }

    public void setKeyType(KeyType keyType) {
        this.keyType = keyType;
    }

    public Renewal getRenewal() {
        return renewal;
    }

    public List<String> getChallengeTypes() {
        return challengeTypes;
    }

    public void setChallengeTypes(List<String> challengeTypes) {
        this.challengeTypes = challengeTypes;
    }

    public Store getStore() {
        return store;
    }

    /** Kinds of store for {@code autocert4j.store.type}. */
    public enum StoreType {
        /** Files under {@code autocert4j.storage-directory} (one instance, or a shared file system). */
        FILE,
        /**
         * Tables in the PostgreSQL database of the application's DataSource (module
         * autocert4j-postgres): instances sharing the database share the certificates, one orders.
         */
        POSTGRES
    }

    /** {@code autocert4j.store.*}: the store, unless the application defines a CertStore bean. */
    public static class Store {
        /** file (default: autocert4j.storage-directory) or postgres (the application's DataSource; module autocert4j-postgres). */
        private StoreType type = StoreType.FILE;

        /** The PostgreSQL store ({@code autocert4j.store.type=postgres}). */
        private final Postgres postgres = new Postgres();

        public StoreType getType() {
            return type;
        }

        public void setType(StoreType type) {
            this.type = type;
        }

        public Postgres getPostgres() {
            return postgres;
        }
    }

    /**
     * {@code autocert4j.store.postgres.*}. The tables are created at first use in {@code schema} if set,
     * otherwise in the schema of the DataSource's connections (their search_path: e.g.
     * spring.datasource.hikari.schema, or currentSchema in the JDBC URL).
     */
    public static class Postgres {
        /** Prefix of the two tables and of the notification channel: lower-case letters, digits and _, at most 40 characters. */
        private String tablePrefix = "autocert4j_";

        /**
         * Schema of the tables, used as a quoted identifier exactly as written (case kept); it must exist. Unset: the
         * connections' search_path decides (usually public).
         */
        private String schema;

        /** How long a lock stays held without a heartbeat (1s to 1h): a dead instance's locks free up after it. */
        private Duration lease = Duration.ofSeconds(30);

        /** How long an instance waits for a lock another one holds (well above an order's duration). */
        private Duration lockTimeout = Duration.ofMinutes(10);

        public String getTablePrefix() {
            return tablePrefix;
        }

        public void setTablePrefix(String tablePrefix) {
            this.tablePrefix = tablePrefix;
        }

        public String getSchema() {
            return schema;
        }

        public void setSchema(String schema) {
            this.schema = schema;
        }

        public Duration getLease() {
            return lease;
        }

        public void setLease(Duration lease) {
            this.lease = lease;
        }

        public Duration getLockTimeout() {
            return lockTimeout;
        }

        public void setLockTimeout(Duration lockTimeout) {
            this.lockTimeout = lockTimeout;
        }
    }

    public Health getHealth() {
        return health;
    }

    /**
     * {@code autocert4j.renewal.*}: the renewal policy. The defaults follow Let's Encrypt's guidance
     * and suit every current profile (90-day, 45-day and 6-day certificates).
     */
    public static class Renewal {
        /** How often each certificate is checked (and the CA's ARI window fetched), ±10% jitter. */
        private Duration checkInterval = Duration.ofHours(12);

        /** Without ARI, renew when this fraction of the lifetime remains (1/2 for certificates of 10 days or less). */
        private double renewalRatio = 1.0 / 3;

        /** Delays after the 1st, 2nd, ... failure (±20% jitter); the last one repeats. */
        private List<Duration> backoff = new ArrayList<>(List.of(Duration.ofMinutes(1), Duration.ofMinutes(10),
                Duration.ofMinutes(100), Duration.ofDays(1)));

        /**
         * How long before expiry a failing renewal raises warnings (at most 1/4 of the lifetime); also
         * the window in which the health indicator reports renewal-failing-status.
         */
        private Duration expiryWarning = Duration.ofDays(14);

        /** Whether to follow the CA's ACME Renewal Information (RFC 9773) window when it offers one. */
        private boolean useAri = true;

        /** Upper bound for one whole order (validation, finalization, download). */
        private Duration orderTimeout = Duration.ofMinutes(2);

        /** Upper bound for each request to the CA. */
        private Duration httpTimeout = Duration.ofSeconds(15);

        public Duration getCheckInterval() {
            return checkInterval;
        }

        public void setCheckInterval(Duration checkInterval) {
            this.checkInterval = checkInterval;
        }

        public double getRenewalRatio() {
            return renewalRatio;
        }

        public void setRenewalRatio(double renewalRatio) {
            this.renewalRatio = renewalRatio;
        }

        public List<Duration> getBackoff() {
            return backoff;
        }

        public void setBackoff(List<Duration> backoff) {
            this.backoff = backoff;
        }

        public Duration getExpiryWarning() {
            return expiryWarning;
        }

        public void setExpiryWarning(Duration expiryWarning) {
            this.expiryWarning = expiryWarning;
        }

        public boolean isUseAri() {
            return useAri;
        }

        public void setUseAri(boolean useAri) {
            this.useAri = useAri;
        }

        public Duration getOrderTimeout() {
            return orderTimeout;
        }

        public void setOrderTimeout(Duration orderTimeout) {
            this.orderTimeout = orderTimeout;
        }

        public Duration getHttpTimeout() {
            return httpTimeout;
        }

        public void setHttpTimeout(Duration httpTimeout) {
            this.httpTimeout = httpTimeout;
        }
    }

    /** {@code autocert4j.health.*}: the Actuator health indicator. */
    public static class Health {
        /**
         * Health status reported while a certificate is inside the expiry-warning window and its
         * renewal is failing (or the CA refused it permanently). A custom code (e.g. WARNING) must
         * also be added to management.endpoint.health.status.order.
         */
        private String renewalFailingStatus = "OUT_OF_SERVICE";

        /**
         * Health status reported while a configured name is served with the self-signed fallback
         * (no certificate obtained yet, or the store holding it not readable yet). UP keeps such an
         * instance in a load balancer; a custom code must be added to
         * management.endpoint.health.status.order.
         */
        private String fallbackStatus = "OUT_OF_SERVICE";

        public String getFallbackStatus() {
            return fallbackStatus;
        }

        public void setFallbackStatus(String fallbackStatus) {
            this.fallbackStatus = fallbackStatus;
        }

        public String getRenewalFailingStatus() {
            return renewalFailingStatus;
        }

        public void setRenewalFailingStatus(String renewalFailingStatus) {
            this.renewalFailingStatus = renewalFailingStatus;
        }
    }
}
