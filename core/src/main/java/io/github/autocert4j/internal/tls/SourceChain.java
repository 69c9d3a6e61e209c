package io.github.autocert4j.internal.tls;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The ordered certificate sources {@link LiveKeyManager} asks at every handshake, built once
 * (by the internal {@code Wiring}): TLS-ALPN-01 challenge certificates, the live certificates
 * (configured ones and on-demand ones already loaded), on-demand TLS for a name nothing covers yet,
 * then the default certificate or the self-signed fallback. Each source does one job; the first
 * answer wins, {@link LiveKeyManager#NO_CERTIFICATE} ends the walk.
 */
public final class SourceChain {
    private final CertificateSource[] sources;
    private final String[] names;

    private SourceChain(List<CertificateSource> sources, List<String> names) {
        this.sources = sources.toArray(new CertificateSource[0]);
        this.names = names.toArray(new String[0]);
    }

    /** A chain being built, in the order sources are added. */
    public static Builder builder() {
        return new Builder();
    }

    /** The first source's answer for {@code handshake} (null: none answered). */
    public LiveKeyManager.Entry select(Handshake handshake) {
        for (CertificateSource s : sources) {
            LiveKeyManager.Entry e = s.select(handshake);
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    /** The entry of an alias one of the sources handed out, or null. */
    public LiveKeyManager.Entry byAlias(String alias) {
        for (CertificateSource s : sources) {
            LiveKeyManager.Entry e = s.byAlias(alias);
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    /** The sources' names, in the order they are asked. */
    public List<String> names() {
        return List.of(names);
    }

    @Override
    public String toString() {
        return "SourceChain" + names();
    }

    /** Adds sources in order; {@link #build()} freezes them. */
    public static final class Builder {
        private final List<CertificateSource> sources = new ArrayList<>();
        private final List<String> names = new ArrayList<>();

        private Builder() {
        }

        /** Adds {@code source} under {@code name} (for diagnostics); a null source is skipped (a feature not enabled). */
        public Builder then(String name, CertificateSource source) {
            if (source != null) {
                sources.add(source);
                names.add(Objects.requireNonNull(name, "name"));
            }
            return this;
        }

        public SourceChain build() {
            return new SourceChain(sources, names);
        }
    }
}
