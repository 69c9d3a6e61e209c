package io.github.autocert4j;

import io.github.autocert4j.internal.util.Names;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/** The loops that replaced regular expressions in name validation accept exactly what the expressions accepted. */
class NamesTest {
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    @Test
    void aLabelIsValidExactlyWhenTheRegularExpressionMatchesIt() {
        String alphabet = "az09-_.*A\u00e9";
        Random random = new Random(7);
        for (int i = 0; i < 100_000; i++) {
            StringBuilder b = new StringBuilder();
            int length = random.nextInt(4) == 0 ? 60 + random.nextInt(6) : random.nextInt(6);
            for (int n = 0; n < length; n++) {
                // mostly valid characters, so that long labels are often valid ones
                b.append(random.nextInt(10) < 8 ? (char) ('a' + random.nextInt(26)) : alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String label = b.toString();
            assertEquals(LABEL.matcher(label).matches(), Names.isValidLabel(label), "'" + label + "' (" + label.length() + ")");
        }
        assertTrue(Names.isValidLabel("a".repeat(63)));
        assertFalse(Names.isValidLabel("a".repeat(64)));
        assertTrue(Names.isValidLabel("xn--bcher-kva"));
        assertFalse(Names.isValidLabel("a-"));
        assertFalse(Names.isValidLabel(""));
    }

    @Test
    void ipAddressesAreRecognizedAndNamesAreNot() {
        for (String ip : List.of("127.0.0.1", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::1")) {
            assertTrue(Names.isIpAddress(ip), ip);
        }
        for (String notIp : List.of("256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "example.com", "1.2.3.4a", "::g", "")) {
            assertFalse(Names.isIpAddress(notIp), notIp);
        }
    }
}
