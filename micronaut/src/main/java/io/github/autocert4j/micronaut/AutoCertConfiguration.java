package io.github.autocert4j.micronaut;

import java.util.ArrayList;
import java.util.List;

import io.micronaut.context.annotation.ConfigurationProperties;

/**
 * {@code autocert4j.*} settings of the Micronaut integration:
 *
 * <pre>
 * autocert4j:
 *   names: [example.com, www.example.com]   # one certificate covering these names
 *   directory: https://acme-v02.api.letsencrypt.org/directory
 *   email: ops@example.com
 *   agree-to-terms-of-service: true
 *   store-directory: /var/lib/myapp/certs    # ignored when the PostgreSQL store is used
 *   trust: /etc/pebble/ca.pem                # only for a private CA (Pebble)
 *   challenge-types: [http-01]
 *   profile: shortlived                      # an ACME profile the CA offers; default none (the CA's default)
 *   postgres: true                           # default: PostgreSQL when autocert4j-postgres and a DataSource are present
 * </pre>
 *
 * <p>Nothing is created while {@code autocert4j.names} is empty or {@code autocert4j.enabled} is false.
 */
@ConfigurationProperties("autocert4j")
public class AutoCertConfiguration {
    private boolean enabled = true;
    private List<String> names = new ArrayList<>();
    private String directory;
    private String email;
    private boolean agreeToTermsOfService;
    private String trust;
    private String storeDirectory;
    private List<String> challengeTypes = new ArrayList<>();
    private boolean postgres = true;
    private String postgresTablePrefix;
    private String profile;

    /** False: no AutoCert, no TLS or challenge customization. Default true. */
    public boolean isEnabled() {
        return enabled;
    }

    /** Sets {@link #isEnabled()}. */
    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    /** The names of the one managed certificate (the first is its id). */
    public List<String> getNames() {
        return names;
    }

    /** Sets {@link #getNames()}. */
    public void setNames(List<String> names) {
        this.names = names == null ? new ArrayList<>() : names;
    }

    /** The ACME directory URL; default Let's Encrypt production. */
    public String getDirectory() {
        return directory;
    }

    /** Sets {@link #getDirectory()}. */
    public void setDirectory(String directory) {
        this.directory = directory;
    }

    /** The ACME account's contact e-mail, or null. */
    public String getEmail() {
        return email;
    }

    /** Sets {@link #getEmail()}. */
    public void setEmail(String email) {
        this.email = email;
    }

    /** Whether the CA's terms of service are agreed to (required by most CAs). */
    public boolean isAgreeToTermsOfService() {
        return agreeToTermsOfService;
    }

    /** Sets {@link #isAgreeToTermsOfService()}. */
    public void setAgreeToTermsOfService(boolean agreeToTermsOfService) {
        this.agreeToTermsOfService = agreeToTermsOfService;
    }

    /** A PEM file with the root the ACME server's own HTTPS certificate chains to (private CAs only). */
    public String getTrust() {
        return trust;
    }

    /** Sets {@link #getTrust()}. */
    public void setTrust(String trust) {
        this.trust = trust;
    }

    /** Where the file store keeps the account, keys and certificates. */
    public String getStoreDirectory() {
        return storeDirectory;
    }

    /** Sets {@link #getStoreDirectory()}. */
    public void setStoreDirectory(String storeDirectory) {
        this.storeDirectory = storeDirectory;
    }

    /** Challenge types in order of preference ({@code http-01}, {@code dns-01}); default the core's. */
    public List<String> getChallengeTypes() {
        return challengeTypes;
    }

    /** Sets {@link #getChallengeTypes()}. */
    public void setChallengeTypes(List<String> challengeTypes) {
        this.challengeTypes = challengeTypes == null ? new ArrayList<>() : challengeTypes;
    }

    /**
     * Whether to store in PostgreSQL through the application's {@code DataSource} when
     * autocert4j-postgres is on the class path and a DataSource bean exists. Default true.
     */
    public boolean isPostgres() {
        return postgres;
    }

    /** Sets {@link #isPostgres()}. */
    public void setPostgres(boolean postgres) {
        this.postgres = postgres;
    }

    /** The PostgreSQL store's table prefix, or null for the store's default. */
    public String getPostgresTablePrefix() {
        return postgresTablePrefix;
    }

    /** Sets {@link #getPostgresTablePrefix()}. */
    public void setPostgresTablePrefix(String postgresTablePrefix) {
        this.postgresTablePrefix = postgresTablePrefix;
    }

    /** The ACME certificate profile to request (RFC draft "profiles"), or null for the CA's default. */
    public String getProfile() {
        return profile;
    }

    /** Sets {@link #getProfile()}. */
    public void setProfile(String profile) {
        this.profile = profile;
    }
}
