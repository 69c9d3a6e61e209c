package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.Base64;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The one Pebble refusal the Pebble tests leave out of their order counts ({@link PebbleDefects#lostPaddedSerial}) is
 * matched exactly: the exchange CI run 28 recorded, and nothing that only looks like it.
 */
class PaddedSerialDefectMatchTest {
    static final String LOST = "{\n   \"type\": \"urn:ietf:params:acme:error:serverInternal\",\n   \"detail\": \"could not find an order for"
            + " the given certificate: could not find order resulting in the given certificate serial number\",\n   \"status\": 500\n}";

    /** Whether Pebble's answer {@code status}/{@code body} to a newOrder with this {@code replaces} is the defect. */
    static boolean order(String replaces, int status, String body) {
        String payload = "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"shared-ari.autocert4j.test\"}]"
                + (replaces == null ? "" : ",\"replaces\":\"" + replaces + "\"") + "}";
        return PebbleDefects.lostPaddedSerial(status, payload, body);
    }

    @Test
    void theRefusalCiRecordedIsPebblesDefect() {
        // AORubvTeG2w: 00 e4 6e 6e f4 de 1b 6c, a 7-byte serial with its high bit set and DER's sign byte in front
        assertTrue(order("5eNHuwuKTjQvsCk7Zy1BPQrZSTs.AORubvTeG2w", 500, LOST));
    }

    @Test
    void onlyThatAnswerToAPaddedSerialMatches() {
        assertFalse(order("5eNHuwuKTjQvsCk7Zy1BPQrZSTs.GziAwN6OqIs", 500, LOST), "no sign byte");
        assertFalse(order("5eNHuwuKTjQvsCk7Zy1BPQrZSTs.AORubvTeG2w", 201, ""), "accepted");
        assertFalse(order("5eNHuwuKTjQvsCk7Zy1BPQrZSTs.AORubvTeG2w", 500,
                "{\"type\":\"urn:ietf:params:acme:error:serverInternal\",\"detail\":\"the database is down\"}"), "another 500");
        assertFalse(order(null, 500, LOST), "no replaces");
        // 00 05: a zero byte that is not a sign byte (DER would not write it): not the defect's shape
        assertFalse(order("5eNHuwuKTjQvsCk7Zy1BPQrZSTs.AAU", 500, LOST));
    }

    @Test
    void theSerialsItHitsAreThoseWhoseDerValueHasASignByte() {
        // what acme4j puts in a CertID is the DER value (BigInteger.toByteArray); Pebble keys by the magnitude alone
        for (BigInteger serial : List.of(new BigInteger("e46e6ef4de1b6c", 16), new BigInteger("1b3880c0de8ea88b", 16))) {
            byte[] der = serial.toByteArray();
            String certId = "5eNHuwuKTjQvsCk7Zy1BPQrZSTs." + Base64.getUrlEncoder().withoutPadding().encodeToString(der);
            assertEquals(serial.bitLength() % 8 == 0, order(certId, 500, LOST), serial.toString(16));
        }
    }
}
