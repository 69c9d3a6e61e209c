package io.github.autocert4j;

import io.github.autocert4j.internal.util.LogSafe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Text from a CA is escaped before it reaches a log line: control characters, line separators and
 * the invisible bidi and format characters that would make a log viewer show something other than
 * what was logged (a "Trojan Source" reordering through U+202E).
 */
class LogSafeTest {

    @Test
    void bidiControlsAreEscaped() {
        // U+202E (RIGHT-TO-LEFT OVERRIDE) shows "...evil.test gnp.example" reversed in a terminal
        assertEquals("rejected \\u202egnp.evil.test\\u202c", LogSafe.text("rejected \u202Egnp.evil.test\u202C"));
        for (char c : new char[] {'\u061C', '\u200E', '\u200F', '\u202A', '\u202B', '\u202C', '\u202D', '\u202E',
                '\u2066', '\u2067', '\u2068', '\u2069'}) {
            assertEquals(String.format("a\\u%04xb", (int) c), LogSafe.text("a" + c + "b"), "U+" + Integer.toHexString(c));
        }
    }

    @Test
    void otherInvisibleFormatCharactersAreEscaped() {
        assertEquals("x\\u200by\\ufeffz\\u00ad", LogSafe.text("x\u200By\uFEFFz\u00AD"));
    }

    @Test
    void controlsAndSeparatorsStayEscapedAndOrdinaryTextIsUnchanged() {
        assertEquals("a\\u000ab\\u0000c\\u2028d", LogSafe.text("a\nb\u0000c\u2028d"));
        String ok = "détail: ünïcode names, \u4e2d\u6587, emoji \uD83D\uDE00, Hebrew \u05E9\u05DC\u05D5\u05DD";
        assertEquals(ok, LogSafe.text(ok), "letters of any script and paired surrogates pass unchanged");
        assertEquals("\\ud83d", LogSafe.text("\uD83D"), "an unpaired surrogate is escaped");
    }

    @Test
    void anIssuanceExceptionFromACaCarriesNoRawBidiControl() {
        IssuanceException e = new IssuanceException("the CA said: \u202Eabc", false, null,
                "urn:ietf:params:acme:error:\u202Emalformed", "detail \u2066x\u2069", null);
        for (String s : new String[] {e.getMessage(), e.problemType().orElseThrow(), e.detail().orElseThrow()}) {
            assertTrue(s.chars().noneMatch(c -> Character.getType(c) == Character.FORMAT), s);
        }
        assertEquals("detail \\u2066x\\u2069", e.detail().orElseThrow());
    }
}
