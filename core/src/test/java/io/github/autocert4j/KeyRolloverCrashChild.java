package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;

/**
 * The JVM {@link KeyRolloverPebbleTest} kills in the middle of a key rollover: it rolls the account key of the
 * store at {@code store-dir} and, when the new key is about to replace the stored one (the CA has taken it),
 * prints {@code HALT} and waits there until the parent SIGKILLs it.
 *
 * <p>Args: directory, acme-trust-pem, store-dir.
 */
public final class KeyRolloverCrashChild {
    private KeyRolloverCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        URI directory = URI.create(args[0]);
        String accountKey = new StoreLayout(directory).accountKey();
        CertStore store = new DelegatingStore(FileCertStore.of(Path.of(args[2]))) {
            @Override
            public void store(String key, byte[] value) throws IOException {
                if (key.equals(accountKey)) {
                    System.out.println("HALT");
                    System.out.flush();
                    try {
                        Thread.sleep(60_000); // the parent kills this JVM here
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    throw new IOException("not killed in time");
                }
                super.store(key, value);
            }
        };
        StoreAccounts.of(store, AcmeCa.of(directory).withServerTrust(Path.of(args[1]))).rolloverKey();
        System.out.println("NOT HALTED");
    }
}
