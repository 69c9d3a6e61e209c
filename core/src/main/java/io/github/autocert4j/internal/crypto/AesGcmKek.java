package io.github.autocert4j.internal.crypto;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.SecureRandom;

import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

import io.github.autocert4j.KeyEncryptionKey;

/**
 * Internal: a {@link KeyEncryptionKey} that wraps data keys with AES/GCM under an AES key, in the
 * JCE's default provider or in a given one (a PKCS#11 token). Output: 12-byte IV, then ciphertext and tag.
 */
public final class AesGcmKek implements KeyEncryptionKey {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final String id;
    private final SecretKey key;
    private final Provider provider;

    /** A KEK {@code id} over {@code key}, computed in {@code provider} (null: the default). */
    public AesGcmKek(String id, SecretKey key, Provider provider) {
        if (id == null || !id.matches("[A-Za-z0-9:._-]{1,100}")) {
            throw new IllegalArgumentException("KEK id '" + id + "': use 1 to 100 of [A-Za-z0-9:._-]");
        }
        this.id = id;
        this.key = key;
        this.provider = provider;
    }

    @Override
    public String id() {
        return id;
    }

    private Cipher cipher() throws GeneralSecurityException {
        return provider == null ? Cipher.getInstance("AES/GCM/NoPadding") : Cipher.getInstance("AES/GCM/NoPadding", provider);
    }

    @Override
    public byte[] wrap(byte[] dataKey) throws GeneralSecurityException {
        byte[] iv = new byte[12];
        RANDOM.nextBytes(iv);
        Cipher c = cipher();
        c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
        c.updateAAD(("autocert4j KEK " + id).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        byte[] ct = c.doFinal(dataKey);
        return ByteBuffer.allocate(12 + ct.length).put(iv).put(ct).array();
    }

    @Override
    public byte[] unwrap(byte[] wrapped) throws GeneralSecurityException {
        if (wrapped.length < 12 + 16) {
            throw new GeneralSecurityException("wrapped data key too short");
        }
        Cipher c = cipher();
        c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, wrapped, 0, 12));
        c.updateAAD(("autocert4j KEK " + id).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        return c.doFinal(wrapped, 12, wrapped.length - 12);
    }

    @Override
    public String toString() {
        return "KEK " + id;
    }
}
