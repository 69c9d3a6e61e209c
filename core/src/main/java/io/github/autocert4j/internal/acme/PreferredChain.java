package io.github.autocert4j.internal.acme;

import io.github.autocert4j.internal.util.LogSafe;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.shredzone.acme4j.exception.AcmeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the certificate chain to serve from what the CA offers: its default chain, or the first
 * alternate chain whose top certificate was issued by (or is) the configured preferred root.
 * Split out of {@link AcmeIssuer} (issue 19).
 */
final class PreferredChain {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class); // the CA's log, as before

    private PreferredChain() {
    }

    /**
     * The CA's default chain, or the first alternate chain whose top certificate was issued by (or
     * is) {@code preferredChain}; the default when none matches, with a log line.
     */
    static List<X509Certificate> choose(org.shredzone.acme4j.Certificate certificate, String preferredChain, String id) throws AcmeException {
        List<X509Certificate> main = certificate.getCertificateChain();
        if (preferredChain == null || topMatches(main, preferredChain)) {
            return main;
        }
        List<String> offered = new ArrayList<>();
        offered.add(topIssuer(main));
        for (org.shredzone.acme4j.Certificate alternate : certificate.getAlternateCertificates()) {
            List<X509Certificate> chain = alternate.getCertificateChain();
            if (topMatches(chain, preferredChain)) {
                LOG.info("autocert4j: using the CA's alternate chain to '{}' (preferredChain)", preferredChain);
                return chain;
            }
            offered.add(topIssuer(chain));
        }
        LOG.info("autocert4j: the CA {} offers no chain to '{}' (its chains end at {}); using its default chain", id,
                LogSafe.text(preferredChain), offered);
        return main;
    }

    private static boolean topMatches(List<X509Certificate> chain, String commonName) {
        X509Certificate top = chain.get(chain.size() - 1);
        return commonName.equals(commonName(top.getIssuerX500Principal())) || commonName.equals(commonName(top.getSubjectX500Principal()));
    }

    private static String topIssuer(List<X509Certificate> chain) {
        return LogSafe.text(String.valueOf(commonName(chain.get(chain.size() - 1).getIssuerX500Principal())));
    }

    public static String commonName(javax.security.auth.x500.X500Principal principal) {
        try {
            for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(principal.getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return String.valueOf(rdn.getValue());
                }
            }
        } catch (javax.naming.InvalidNameException e) {
            return null;
        }
        return null;
    }
}
