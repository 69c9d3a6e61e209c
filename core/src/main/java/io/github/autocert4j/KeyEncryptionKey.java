package io.github.autocert4j;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;

import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

import io.github.autocert4j.internal.crypto.AesGcmKek;

/**
 * A key-encryption key (KEK): wraps and unwraps the random AES-256 data keys that
 * {@link EncryptedCertStore} encrypts each private key with (envelope encryption). Its {@link #id()} is
 * recorded next to every wrapped data key, so a store can hold values under several KEKs while one is
 * rotated to another ({@link EncryptedCertStore#rotate()}).
 *
 * <pre>{@code
 * KeyEncryptionKey kek = KeyEncryptionKey.fromFile(Path.of("/etc/myapp/autocert4j.kek")); // 32 bytes, base64
 * AutoCert.builder().store(EncryptedCertStore.wrap(store, kek)) ...
 * }</pre>
 */
public interface KeyEncryptionKey {

    /** The id recorded with each wrapped data key ({@code [A-Za-z0-9:._-]}, at most 100 characters). */
    String id();

    /** Encrypts a data key. */
    byte[] wrap(byte[] dataKey) throws GeneralSecurityException;

    /** Decrypts what {@link #wrap} returned; throws if this KEK did not wrap it. */
    byte[] unwrap(byte[] wrapped) throws GeneralSecurityException;

    /**
     * A KEK from 32 bytes of AES-256 key material under {@code id}. The bytes are copied.
     *
     * @throws IllegalArgumentException if the key is not 32 bytes or the id has other characters
     */
    static KeyEncryptionKey aes256(String id, byte[] key) {
        if (key == null || key.length != 32) {
            throw new IllegalArgumentException("KEK " + id + ": " + (key == null ? "no key" : key.length + " bytes")
                    + ", need 32 (AES-256). Fix: make one with KeyEncryptionKey.writeNewKeyFile(path) or `openssl rand -base64 32`");
        }
        return new AesGcmKek(id, new SecretKeySpec(key.clone(), "AES"), null);
    }

    /**
     * A KEK read from {@code file}: 32 bytes of key material written as base64 (44 characters, as
     * {@code openssl rand -base64 32} prints) or as 32 raw bytes. Its id is {@code file-} followed by
     * the first 16 hex digits of SHA-256 over a label and the key (a fingerprint, not the key), so
     * a different file gets a different id.
     */
    static KeyEncryptionKey fromFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("KEK file " + file + " does not exist. Fix: create it with KeyEncryptionKey.writeNewKeyFile(path) "
                    + "or `openssl rand -base64 32 > " + file + " && chmod 600 " + file + "`, or point the option at the existing file");
        }
        byte[] raw = Files.readAllBytes(file);
        byte[] key = raw.length == 32 ? raw : decodeBase64("KEK file " + file, new String(raw, StandardCharsets.US_ASCII));
        return aes256(fingerprintId("file", key), key);
    }

    /** A KEK from the environment variable {@code variable} (base64 of 32 bytes); see {@link #fromEnvironment(String, Map)}. */
    static KeyEncryptionKey fromEnvironment(String variable) throws IOException {
        return fromEnvironment(variable, System.getenv());
    }

    /**
     * A KEK from {@code environment.get(variable)}: base64 of 32 bytes. Its id is {@code env-} and a
     * fingerprint, as for {@link #fromFile}. (The map is a parameter for launchers and tests that pass
     * their own environment.)
     */
    static KeyEncryptionKey fromEnvironment(String variable, Map<String, String> environment) throws IOException {
        String value = environment.get(variable);
        if (value == null || value.isBlank()) {
            throw new IOException("KEK environment variable " + variable + " is not set. Fix: export " + variable
                    + "=$(openssl rand -base64 32) (the same value on every node sharing the store), or configure another KEK");
        }
        byte[] key = decodeBase64("KEK environment variable " + variable, value);
        return aes256(fingerprintId("env", key), key);
    }

    /**
     * A KEK held in a PKCS#11 token (an HSM, SoftHSM2) as the AES secret key under {@code alias} of
     * {@code token}, a loaded {@code KeyStore.getInstance("PKCS11", provider)}. The key never leaves the
     * token: wrapping runs there (AES/GCM). Its id is {@code pkcs11-} and the alias.
     */
    static KeyEncryptionKey pkcs11(KeyStore token, String alias, char[] pin) throws GeneralSecurityException {
        Key key = token.getKey(alias, pin);
        if (!(key instanceof SecretKey)) {
            throw new GeneralSecurityException("PKCS#11 token " + token.getProvider().getName() + " has no AES secret key under alias '"
                    + alias + "'. Fix: create one (e.g. pkcs11-tool --keygen --key-type AES:32 --label " + alias
                    + " --extractable=false) or pass the right alias and PIN");
        }
        return new AesGcmKek("pkcs11-" + alias.replaceAll("[^A-Za-z0-9:._-]", "_"), (SecretKey) key, token.getProvider());
    }

    /** Writes a new random 32-byte KEK as base64 to {@code file} (owner read/write only where POSIX) and returns it. */
    static KeyEncryptionKey writeNewKeyFile(Path file) throws IOException {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Files.writeString(file, Base64.getEncoder().encodeToString(key) + "\n", StandardCharsets.US_ASCII,
                java.nio.file.StandardOpenOption.CREATE_NEW);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException notPosix) {
            // Windows: the directory's ACL applies.
        }
        return fromFile(file);
    }

    private static byte[] decodeBase64(String what, String text) throws IOException {
        try {
            byte[] key = Base64.getMimeDecoder().decode(text.trim());
            if (key.length != 32) {
                throw new IOException(what + " holds " + key.length + " bytes, need 32 (AES-256). Fix: `openssl rand -base64 32`");
            }
            return key;
        } catch (IllegalArgumentException e) {
            throw new IOException(what + " is not base64. Fix: write 32 random bytes as base64 (`openssl rand -base64 32`)");
        }
    }

    private static String fingerprintId(String kind, byte[] key) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update("autocert4j KEK id\0".getBytes(StandardCharsets.US_ASCII));
            return kind + "-" + HexFormat.of().formatHex(sha.digest(key), 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
