package io.github.autocert4j;

import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.store.MemoryCertStore;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.RolloverRecord;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.security.KeyPair;
import java.util.Optional;

import org.junit.jupiter.api.Test;

/**
 * The hand-over of an account key rollover to servers sharing the store ({@link RolloverRecord}): a server that knows
 * the old key follows a hand-over signed with it to the stored new key, and nothing else (a record signed with another
 * key, one naming another key than the stored one).
 */
class KeyRolloverRecordTest {
    static final URI CA = URI.create("https://ca.test/dir");

    @Test
    void aServerFollowsOnlyAHandOverSignedWithTheKeyItKnows() throws Exception {
        MemoryCertStore store = new MemoryCertStore();
        StoreLayout layout = new StoreLayout(CA);
        KeyPair old = KeyType.EC_P256.generate();
        KeyPair next = KeyType.EC_P256.generate();
        KeyPair planted = KeyType.EC_P256.generate();
        String tOld = OwnAccounts.thumbprint(old.getPublic());
        String tNext = OwnAccounts.thumbprint(next.getPublic());
        store.store(layout.accountKey(), Pem.encodeKeyPair(old));
        OwnAccounts own = new OwnAccounts(store);
        own.addCa(CA);
        assertTrue(own.isOwn(tOld));

        // A store writer without the old key: a key of theirs and a hand-over signed with it is not followed.
        store.store(layout.accountKey(), Pem.encodeKeyPair(planted));
        store.store(layout.accountKeyRolledOver(), RolloverRecord.encode(planted, tOld, OwnAccounts.thumbprint(planted.getPublic())));
        assertFalse(own.isOwn(OwnAccounts.thumbprint(planted.getPublic())));
        assertTrue(own.isOwn(tOld));

        // A hand-over signed with the old key to another key than the stored one is not followed either.
        store.store(layout.accountKeyRolledOver(), RolloverRecord.encode(old, tOld, tNext));
        assertFalse(own.isOwn(OwnAccounts.thumbprint(planted.getPublic())));

        // The real rollover: the stored key is the one the hand-over signed with the old key names.
        store.store(layout.accountKey(), Pem.encodeKeyPair(next));
        assertTrue(own.isOwn(tNext));
        assertFalse(own.isOwn(tOld), "the old key's answers are no longer served");
        assertEquals(Optional.of(tNext), RolloverRecord.verify(store.load(layout.accountKeyRolledOver()).orElseThrow(), old.getPublic(), tOld));
    }
}
