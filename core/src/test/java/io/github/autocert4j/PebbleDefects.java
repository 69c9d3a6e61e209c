package io.github.autocert4j;

import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Known defects of the Pebble versions the tests run against, matched exactly so that a test can leave out what
 * Pebble, not the library, did (and nothing else). Plain text in, no server: the fast suite tests the matching
 * ({@code PaddedSerialDefectMatchTest}).
 */
final class PebbleDefects {
    private static final Pattern REPLACES_SERIAL = Pattern.compile("\"replaces\"\\s*:\\s*\"[A-Za-z0-9_-]+\\.([A-Za-z0-9_-]+)\"");

    private PebbleDefects() {
    }

    /**
     * Whether a newOrder answer is Pebble refusing a correct {@code replaces} because of its own defect
     * (letsencrypt/pebble#550, open in 2.10.1 and main): it indexes issued orders by {@code hex(serial.Bytes())}, the
     * serial without DER's sign byte, and looks a {@code replaces} up by the hex of the CertID's serial bytes, which
     * RFC 9773 4.1 makes the DER value bytes, with a leading {@code 00} when the serial's first byte is 0x80 or more.
     * Pebble's serials are random below 2^63, so about one certificate in 256 (a 7-byte serial with its high bit set)
     * cannot be replaced: the refusal is HTTP 500 "could not find order resulting in the given certificate serial
     * number" (CI run 28), after which the library orders again without {@code replaces}. Exactly that case is
     * matched: that answer to a CertID whose serial part starts with a sign byte.
     */
    static boolean lostPaddedSerial(int status, String requestPayload, String responseBody) {
        if (status != 500 || !responseBody.contains("could not find order resulting in the given certificate serial number")) {
            return false;
        }
        Matcher m = REPLACES_SERIAL.matcher(requestPayload);
        if (!m.find()) {
            return false;
        }
        byte[] serial = Base64.getUrlDecoder().decode(m.group(1));
        return serial.length > 1 && serial[0] == 0 && (serial[1] & 0x80) != 0;
    }
}
