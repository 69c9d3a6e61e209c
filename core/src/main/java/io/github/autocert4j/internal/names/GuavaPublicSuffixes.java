package io.github.autocert4j.internal.names;

import java.net.IDN;
import java.util.Locale;
import java.util.Optional;

import com.google.common.net.InternetDomainName;

/**
 * Internal: the Public Suffix List of the Guava on the class path ({@link InternetDomainName}, ICANN and
 * private sections both), for the same questions and with the same default rule as {@link PublicSuffixList}
 * (a name under no rule has its last label as public suffix). Loaded only when Guava is present
 * ({@link PublicSuffixes#configured}); a name Guava's syntax check refuses is answered by the bundled copy.
 */
final class GuavaPublicSuffixes implements PublicSuffixes {
    private final String source;
    private volatile CompactPublicSuffixList bundled;

    GuavaPublicSuffixes() {
        String version = InternetDomainName.class.getPackage() == null ? null : InternetDomainName.class.getPackage().getImplementationVersion();
        this.source = "Guava " + (version == null ? "(version unknown)" : version) + " (" + InternetDomainName.class.getName() + ")";
    }

    @Override
    public String source() {
        return source;
    }

    @Override
    public boolean isPublicSuffix(String name) {
        String n = normalize(name);
        InternetDomainName d = parse(n);
        if (d == null) {
            return bundled().isPublicSuffix(n);
        }
        return d.isPublicSuffix() || (!d.hasPublicSuffix() && d.parts().size() == 1);
    }

    @Override
    public Optional<String> registrableDomain(String name) {
        String n = normalize(name);
        InternetDomainName d = parse(n);
        if (d == null) {
            return bundled().registrableDomain(n);
        }
        if (d.isUnderPublicSuffix()) {
            return Optional.of(ascii(d.topPrivateDomain().toString()));
        }
        if (d.isPublicSuffix() || d.parts().size() < 2) {
            return Optional.empty();
        }
        // under no rule: the default rule "*" makes the last label the suffix
        int n2 = d.parts().size();
        return Optional.of(ascii(d.parts().get(n2 - 2) + "." + d.parts().get(n2 - 1)));
    }

    private static String normalize(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.startsWith("*.")) {
            n = n.substring(2);
        }
        while (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
        }
        return n;
    }

    /** Guava's view of {@code n} (Unicode labels: Guava matches the list's Unicode rules), or null if its syntax check refuses it. */
    private static InternetDomainName parse(String n) {
        try {
            // IDN loads the JDK's ICU data (~20 classes, on build()'s path): only a punycode label needs it
            return InternetDomainName.from(n.contains("xn--") ? IDN.toUnicode(n, IDN.ALLOW_UNASSIGNED) : n);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static String ascii(String name) {
        if (name.chars().allMatch(c -> c < 0x80)) {
            return name.toLowerCase(Locale.ROOT);
        }
        try {
            return IDN.toASCII(name, IDN.ALLOW_UNASSIGNED).toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            return name;
        }
    }

    private CompactPublicSuffixList bundled() {
        CompactPublicSuffixList b = bundled;
        if (b == null) {
            b = CompactPublicSuffixList.builtIn();
            bundled = b;
        }
        return b;
    }
}
