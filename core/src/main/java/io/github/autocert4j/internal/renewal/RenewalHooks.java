package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.internal.store.CertBundle;

/** What an owner of {@link ManagedCertificate}s (the on-demand cache) wants to know about or decide for them. */
public interface RenewalHooks {
    /** No owner: renew always, report nothing. */
    RenewalHooks NONE = new RenewalHooks() { };

    /** Before a live certificate is renewed: whether it should be (on-demand asks the application again). */
    default boolean shouldRenew(ManagedCertificate m) throws InterruptedException {
        return true;
    }

    /** After a certificate went live by issuance or adoption (not at load). */
    default void renewed(ManagedCertificate m, CertBundle bundle) {
    }
}
