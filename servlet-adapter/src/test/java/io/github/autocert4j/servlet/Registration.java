package io.github.autocert4j.servlet;

/** How a test host puts the challenge filter into its context. */
enum Registration {
    /** {@link AutoCertServletInitializer} plus the {@code AutoCert} context attribute. */
    INITIALIZER,
    /** {@link AcmeChallengeFilter#register} from the host's own initializer. */
    REGISTER,
    /** Declarative filter by class name (no-arg constructor) plus the responder context attribute. */
    NO_ARG_FILTER,
    /** {@link AutoCertServletInitializer} without any attribute: no filter. */
    NONE
}
