package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(60)
class FileCertStoreTest {

    @TempDir
    Path tmp;

    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stopPool() throws InterruptedException {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS), "test threads did not stop");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aKeySegmentTooLongForAFileNameIsRefusedOnStoreAndAbsentOnLoad() throws IOException {
        FileCertStore store = FileCertStore.of(tmp.resolve("store"));
        String longest = "challenges/http-01/" + "a".repeat(FileCertStore.MAX_SEGMENT);
        store.store(longest, bytes("fits"));
        assertArrayEquals(bytes("fits"), store.load(longest).orElseThrow());
        String tooLong = "challenges/http-01/" + "a".repeat(256);
        IOException e = assertThrows(IOException.class, () -> store.store(tooLong, bytes("x")));
        assertTrue(e.getMessage().contains("longer than " + FileCertStore.MAX_SEGMENT), e.getMessage());
        // A random over-long token from the network is a plain miss, not a file system error.
        assertEquals(Optional.empty(), store.load(tooLong));
        assertFalse(store.delete(tooLong));
        assertTrue(store.delete(longest));
    }

    @Test
    void storeLoadListDeleteRoundTrip() throws IOException {
        FileCertStore store = FileCertStore.of(tmp.resolve("store"));
        assertEquals(Optional.empty(), store.load("a/b.pem").map(String::new));
        assertEquals(List.of(), store.list(""), "a store whose directory does not exist yet lists nothing");

        store.store("a/b.pem", bytes("one"));
        store.store("a/c.json", bytes("two"));
        store.store("top.txt", bytes("three"));

        assertArrayEquals(bytes("one"), store.load("a/b.pem").orElseThrow());
        assertArrayEquals(bytes("two"), store.load("a/c.json").orElseThrow());
        assertEquals(Set.of("a/b.pem", "a/c.json", "top.txt"), new HashSet<>(store.list("")));
        assertEquals(Set.of("a/b.pem", "a/c.json"), new HashSet<>(store.list("a/")));
        assertEquals(List.of(), store.list("zzz"));

        store.store("a/b.pem", bytes("replaced"));
        assertArrayEquals(bytes("replaced"), store.load("a/b.pem").orElseThrow());

        assertTrue(store.delete("a/b.pem"));
        assertFalse(store.delete("a/b.pem"), "second delete reports that nothing existed");
        assertTrue(store.load("a/b.pem").isEmpty());
        assertEquals(Set.of("a/c.json", "top.txt"), new HashSet<>(store.list("")));
        assertEquals(tmp.resolve("store").toAbsolutePath().normalize(), store.directory());
    }

    @Test
    void emptyAndBinaryValuesSurvive() throws IOException {
        FileCertStore store = FileCertStore.of(tmp);
        store.store("empty", new byte[0]);
        assertArrayEquals(new byte[0], store.load("empty").orElseThrow());
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) {
            all[i] = (byte) i;
        }
        store.store("binary", all);
        assertArrayEquals(all, store.load("binary").orElseThrow());
    }

    @Test
    void listHidesLocksAndTemporaryFiles() throws IOException {
        FileCertStore store = FileCertStore.of(tmp);
        store.store("x/y", bytes("v"));
        try (CertStore.Lock lock = store.lock("some-lock")) {
            Files.writeString(tmp.resolve("x/.y.tmp-1-1"), "half-written");
            assertEquals(List.of("x/y"), store.list(""));
        }
    }

    @Test
    void storeLeavesNoTemporaryFiles() throws IOException {
        FileCertStore store = FileCertStore.of(tmp);
        for (int i = 0; i < 20; i++) {
            store.store("certs/example.com/example.com.pem", bytes("value " + i));
        }
        try (Stream<Path> files = Files.walk(tmp)) {
            List<String> all = files.filter(Files::isRegularFile).map(p -> tmp.relativize(p).toString()).toList();
            assertEquals(List.of("certs/example.com/example.com.pem"), all);
        }
    }

    @Test
    void concurrentReaderSeesOnlyWholeValues() throws Exception {
        FileCertStore store = FileCertStore.of(tmp);
        byte[] a = new byte[100 * 1024];
        byte[] b = new byte[100 * 1024];
        Arrays.fill(a, (byte) 'a');
        Arrays.fill(b, (byte) 'b');
        store.store("big", a);
        AtomicBoolean done = new AtomicBoolean();
        Future<?> writer = pool.submit(() -> {
            try {
                for (int i = 0; i < 200; i++) {
                    store.store("big", i % 2 == 0 ? b : a);
                }
            } finally {
                done.set(true);
            }
            return null;
        });
        int reads = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((!done.get() || reads < 10) && System.nanoTime() < deadline && reads < 1_000_000) {
            byte[] seen = store.load("big").orElseThrow(() -> new AssertionError("value vanished during a replace"));
            if (!Arrays.equals(seen, a) && !Arrays.equals(seen, b)) {
                fail("reader saw a partial or mixed value of " + seen.length + " bytes");
            }
            reads++;
        }
        writer.get(30, TimeUnit.SECONDS);
        assertTrue(reads >= 10, "reader ran " + reads + " times");
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of("big"), files.map(p -> p.getFileName().toString()).toList(), "no temporary file left behind");
        }
    }

    @Test
    void concurrentWritersOfOneKeyLeaveOneWholeValue() throws Exception {
        FileCertStore store = FileCertStore.of(tmp);
        int writers = 4;
        List<byte[]> values = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            byte[] v = new byte[20_000];
            Arrays.fill(v, (byte) ('0' + w));
            values.add(v);
        }
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            byte[] v = values.get(w);
            futures.add(pool.submit(() -> {
                go.await();
                for (int i = 0; i < 50; i++) {
                    store.store("k", v);
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> f : futures) {
            f.get(30, TimeUnit.SECONDS);
        }
        byte[] last = store.load("k").orElseThrow();
        assertTrue(values.stream().anyMatch(v -> Arrays.equals(v, last)), "final value is one writer's whole value");
    }

    @Test
    void filesAre0600AndDirectories0700() throws IOException {
        Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX file system");
        Path root = tmp.resolve("root");
        FileCertStore store = FileCertStore.of(root);
        store.store("acme/ca/certs/example.com/example.com.pem", bytes("secret"));
        try (CertStore.Lock lock = store.lock("l")) {
            // lock files too
        }
        Set<PosixFilePermission> file = PosixFilePermissions.fromString("rw-------");
        Set<PosixFilePermission> dir = PosixFilePermissions.fromString("rwx------");
        assertEquals(file, Files.getPosixFilePermissions(root.resolve("acme/ca/certs/example.com/example.com.pem")));
        assertEquals(file, Files.getPosixFilePermissions(root.resolve("locks/l.lock")));
        for (Path d : List.of(root, root.resolve("acme"), root.resolve("acme/ca"), root.resolve("acme/ca/certs"),
                root.resolve("acme/ca/certs/example.com"), root.resolve("locks"))) {
            assertEquals(dir, Files.getPosixFilePermissions(d), d.toString());
        }
        // a replaced value keeps 0600
        store.store("acme/ca/certs/example.com/example.com.pem", bytes("secret 2"));
        assertEquals(file, Files.getPosixFilePermissions(root.resolve("acme/ca/certs/example.com/example.com.pem")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x", "a/../../x", "..", "a//b", "/abs", "a b", "a/", "", "a\\b", "a/b/", "é", "a\nb", "x/../y"})
    void invalidKeysAreRejected(String key) {
        FileCertStore store = FileCertStore.of(tmp);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.store(key, bytes("v")));
        assertTrue(e.getMessage().contains("invalid store key"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> store.load(key));
        assertThrows(IllegalArgumentException.class, () -> store.delete(key));
    }

    @Test
    void nullKeyAndNullDirectoryAreRejected() {
        FileCertStore store = FileCertStore.of(tmp);
        assertThrows(IllegalArgumentException.class, () -> store.load(null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FileCertStore.of(null));
        assertTrue(e.getMessage().contains("writable directory"), e.getMessage());
    }

    @Test
    void keysNeverEscapeTheRoot() throws IOException {
        Path root = tmp.resolve("root");
        FileCertStore store = FileCertStore.of(root);
        store.store("a.b-c_d@e/f", bytes("ok"));
        assertTrue(Files.exists(root.resolve("a.b-c_d@e/f")));
        try (Stream<Path> files = Files.walk(tmp)) {
            assertTrue(files.filter(Files::isRegularFile).allMatch(p -> p.startsWith(root)));
        }
    }

    @Test
    void lockExcludesOtherThreadsUntilClosed() throws Exception {
        FileCertStore store = FileCertStore.of(tmp);
        CertStore.Lock first = store.lock("cert-example.com");
        CountDownLatch attempting = new CountDownLatch(1);
        AtomicBoolean acquired = new AtomicBoolean();
        Future<?> second = pool.submit(() -> {
            attempting.countDown();
            try (CertStore.Lock l = store.lock("cert-example.com")) {
                acquired.set(true);
            }
            return null;
        });
        assertTrue(attempting.await(10, TimeUnit.SECONDS));
        assertThrows(TimeoutException.class, () -> second.get(300, TimeUnit.MILLISECONDS), "second lock must wait while the first is held");
        assertFalse(acquired.get());
        first.close();
        second.get(10, TimeUnit.SECONDS);
        assertTrue(acquired.get());
    }

    @Test
    void differentLockNamesDoNotBlockEachOther() throws Exception {
        FileCertStore store = FileCertStore.of(tmp);
        try (CertStore.Lock a = store.lock("a")) {
            Future<?> other = pool.submit(() -> {
                try (CertStore.Lock b = store.lock("b")) {
                    return null;
                }
            });
            other.get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void lockGivesMutualExclusionUnderContention() throws Exception {
        FileCertStore store = FileCertStore.of(tmp);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        AtomicInteger entries = new AtomicInteger();
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            futures.add(pool.submit(() -> {
                for (int i = 0; i < 25; i++) {
                    try (CertStore.Lock l = store.lock("contended")) {
                        int now = inside.incrementAndGet();
                        maxInside.accumulateAndGet(now, Math::max);
                        entries.incrementAndGet();
                        Thread.yield();
                        inside.decrementAndGet();
                    }
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get(30, TimeUnit.SECONDS);
        }
        assertEquals(100, entries.get());
        assertEquals(1, maxInside.get(), "never two holders at once");
    }

    /**
     * Two FileCertStore instances on one directory in one JVM (e.g. two AutoCert instances, or a
     * store re-created by the application) must queue on each other's locks like two processes do.
     * BUG: the in-JVM lock map is per instance, so the second FileChannel.lock() in the same JVM
     * throws OverlappingFileLockException instead of waiting. Fix: make the ReentrantLock map
     * static and key it by the lock file's absolute path.
     */
    @Test
    void twoInstancesOnOneDirectoryQueue() throws Exception {
        FileCertStore one = FileCertStore.of(tmp);
        FileCertStore two = FileCertStore.of(tmp);
        CertStore.Lock first = one.lock("shared");
        Future<?> second = pool.submit(() -> {
            try (CertStore.Lock l = two.lock("shared")) {
                return null;
            }
        });
        assertThrows(TimeoutException.class, () -> second.get(300, TimeUnit.MILLISECONDS));
        first.close();
        second.get(10, TimeUnit.SECONDS);
    }

    @Test
    void checkAccessPassesAndLeavesNothingBehind() throws IOException {
        Path root = tmp.resolve("new/dir");
        FileCertStore store = FileCertStore.of(root);
        store.checkAccess();
        assertTrue(Files.isDirectory(root));
        assertEquals(List.of(), store.list(""));
        try (Stream<Path> files = Files.list(root)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void checkAccessFailsWhenTheDirectoryCannotBeCreated() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "I am a file");
        FileCertStore store = FileCertStore.of(file.resolve("sub"));
        assertThrows(IOException.class, store::checkAccess);
        assertThrows(IOException.class, () -> FileCertStore.of(file).checkAccess());
        assertThrows(IOException.class, () -> store.store("k", bytes("v")));
    }

    @Test
    void loadOfADirectoryKeyIsAnIOExceptionNotEmpty() throws IOException {
        FileCertStore store = FileCertStore.of(tmp);
        store.store("d/k", bytes("v"));
        assertThrows(IOException.class, () -> store.load("d"));
    }

    @Test
    void toStringNamesTheDirectory() {
        assertTrue(FileCertStore.of(tmp).toString().contains(tmp.toAbsolutePath().normalize().toString()));
    }
}
