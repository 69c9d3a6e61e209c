package io.github.autocert4j.dns;

import java.io.IOException;

/**
 * A refusal by the DNS server that retrying cannot fix: a TSIG key the server does not accept (BADSIG, BADKEY), an
 * update its policy refuses (REFUSED, NOTAUTH), a zone it does not serve, a success answer not signed with the key.
 * {@link Dns01Solver} reports it as a permanent {@code IssuanceException}, so no order is retried (and, found by its
 * pre-flight check, none is placed) until the configuration is fixed. The message names the server and the fix.
 */
final class DnsConfigurationException extends IOException {
    private static final long serialVersionUID = 1L;

    DnsConfigurationException(String message) {
        super(message);
    }

    DnsConfigurationException(String message, Throwable cause) {
        super(message, cause);
    }
}
