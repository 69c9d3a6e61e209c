package io.github.autocert4j;

import io.github.autocert4j.internal.store.FileIo;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The default {@link CertStore}: plain PEM and JSON files under one directory, readable with
 * {@code openssl}, written atomically (temporary file, fsync, rename, fsync of the directory),
 * files 0600 and directories 0700.
 *
 * <p>A write killed halfway leaves a temporary file ({@code .<name>.tmp-<pid>-<thread>}) next to its
 * target, never a torn value; {@link #removeLeftovers()} (run by the manager at start and then
 * hourly) deletes those whose writer is gone.
 *
 * <p>Locks are {@code flock}-style file locks under {@code locks/}, so several JVMs on one host
 * (or on a shared file system that supports them), and several store instances in one JVM, coordinate.
 *
 * <pre>{@code
 * CertStore store = FileCertStore.of(Path.of("/var/lib/myapp/autocert4j"));
 * }</pre>
 */
public final class FileCertStore implements CertStore {

    private static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofMinutes(10);
    /** Longest key segment: a file name holds 255 bytes, and the temporary file adds up to about 40. */
    static final int MAX_SEGMENT = 200;
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9._@-]+(/[A-Za-z0-9._@-]+)*");
    private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
    /** A temporary file of {@link #store}: {@code .<name>.tmp-<pid>-<thread id>}. */
    private static final Pattern TEMP_FILE = Pattern.compile("\\..+\\.tmp-(\\d+)-\\d+");
    /** No write takes this long: a temporary file this old is a leftover whoever wrote it (another host, a reused pid). */
    private static final Duration TEMP_FILE_MAX_AGE = Duration.ofMinutes(10);

    private final Path root;
    private final boolean posix;
    private final Duration lockTimeout;
    // In-JVM half of each lock: FileLock is per process, so threads of one JVM queue here first.
    private final ConcurrentHashMap<String, ReentrantLock> jvmLocks = new ConcurrentHashMap<>();
    private final StepObserver steps;
    /** When this process started: a temporary file older than that cannot be one of its own writes in progress. */
    private final Instant processStart;

    /**
     * Test seam (crash tests): told after each step of a write or delete, so a test can kill the
     * process exactly there. Steps of {@link #store}: {@code temp-created}, {@code temp-half-written},
     * {@code temp-written}, {@code temp-synced}, {@code renamed}, {@code directory-synced}; of
     * {@link #delete}: {@code deleted}, {@code directory-synced}.
     */
    interface StepObserver {
        StepObserver NONE = (step, key) -> { };

        void reached(String step, String key);
    }

    private FileCertStore(Path root, Duration lockTimeout) {
        this(root, lockTimeout, StepObserver.NONE);
    }

    /** For crash tests: a store that reports every step of its writes to {@code steps}. */
    FileCertStore(Path root, Duration lockTimeout, StepObserver steps) {
        this.root = root.toAbsolutePath().normalize();
        this.lockTimeout = lockTimeout;
        this.posix = root.getFileSystem().supportedFileAttributeViews().contains("posix");
        this.steps = steps;
        this.processStart = ProcessHandle.current().info().startInstant().orElseGet(Instant::now);
    }

    /** A store rooted at {@code directory}; the directory is created (0700) on first write. */
    public static FileCertStore of(Path directory) {
        if (directory == null) {
            throw new IllegalArgumentException("FileCertStore directory is null: pass a writable directory, e.g. Path.of(\"/var/lib/myapp/certs\")");
        }
        return new FileCertStore(directory, DEFAULT_LOCK_TIMEOUT);
    }

    /**
     * A store whose {@link #lock} gives up with an IOException after {@code lockTimeout}
     * (default 10 minutes, well above an order's timeout, so only a stuck holder trips it).
     */
    public static FileCertStore of(Path directory, Duration lockTimeout) {
        if (lockTimeout == null || lockTimeout.isNegative() || lockTimeout.isZero()) {
            throw new IllegalArgumentException("lockTimeout must be a positive duration, e.g. Duration.ofMinutes(10)");
        }
        return new FileCertStore(of(directory).root, lockTimeout, StepObserver.NONE);
    }

    /** The root directory of this store. */
    public Path directory() {
        return root;
    }

    @Override
    public Optional<byte[]> load(String key) throws IOException {
        Path file = resolve(key);
        if (tooLongForAFileName(key)) {
            return Optional.empty(); // store() refuses such a key, so it cannot be there (e.g. a random 256-character token)
        }
        try {
            return Optional.of(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    @Override
    public void store(String key, byte[] value) throws IOException {
        Path target = resolve(key);
        if (tooLongForAFileName(key)) {
            throw new IOException("store key '" + key + "' has a segment longer than " + MAX_SEGMENT + " characters, more than a file "
                    + "name (255 bytes, with room for the temporary file's suffix) can hold; use a PostgresCertStore or shorter keys");
        }
        Path dir = target.getParent();
        createDirectories(dir);
        Path tmp = dir.resolve("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + Thread.currentThread().getId());
        Files.deleteIfExists(tmp);
        try (FileChannel ch = FileChannel.open(tmp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), fileAttributes(FILE_MODE))) {
            steps.reached("temp-created", key);
            // Two halves only so that a crash test can stop between them (a torn temp file).
            FileIo.writeFully(ch, ByteBuffer.wrap(value, 0, value.length / 2));
            steps.reached("temp-half-written", key);
            FileIo.writeFully(ch, ByteBuffer.wrap(value, value.length / 2, value.length - value.length / 2));
            steps.reached("temp-written", key);
            ch.force(true);
            steps.reached("temp-synced", key);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(tmp);
            throw new IOException("file system of " + root + " cannot rename atomically; choose a local directory for the store", e);
        }
        steps.reached("renamed", key);
        FileIo.fsyncDirectory(dir);
        steps.reached("directory-synced", key);
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        // Only the directory the prefix names is walked (a key under "renewals/" lies in root/renewals):
        // managers list "renewals/" every few seconds, which must not read every certificate's directory.
        int slash = prefix.lastIndexOf('/');
        Path start = slash < 0 ? root : root.resolve(prefix.substring(0, slash)).normalize();
        if (!start.startsWith(root)) {
            start = root;
        }
        if (!Files.isDirectory(start)) {
            return List.of();
        }
        List<String> keys = new ArrayList<>();
        try (Stream<Path> files = Files.walk(start)) {
            files.filter(Files::isRegularFile).forEach(p -> {
                String key = root.relativize(p).toString().replace(p.getFileSystem().getSeparator(), "/");
                if (key.startsWith(prefix) && !p.getFileName().toString().startsWith(".") && !key.startsWith("locks/")) {
                    keys.add(key);
                }
            });
        }
        return keys;
    }

    @Override
    public boolean delete(String key) throws IOException {
        Path file = resolve(key);
        if (tooLongForAFileName(key)) {
            return false;
        }
        boolean existed = Files.deleteIfExists(file);
        if (existed) {
            steps.reached("deleted", key);
            FileIo.fsyncDirectory(file.getParent());
            steps.reached("directory-synced", key);
        }
        return existed;
    }

    /** Now minus the file's modification time (the time of the rename that stored it); empty if there is no such key. */
    @Override
    public Optional<Duration> age(String key) throws IOException {
        Path file = resolve(key);
        if (tooLongForAFileName(key)) {
            return Optional.empty();
        }
        try {
            Duration age = Duration.between(Files.getLastModifiedTime(file).toInstant(), Instant.now());
            return Optional.of(age.isNegative() ? Duration.ZERO : age);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /**
     * Deletes the temporary files that writes killed halfway left: those of a process that is no longer
     * running (or of this process's pid, reused after a restart) written before this process started,
     * and any older than 10 minutes. A temporary file another live process may still be renaming is kept.
     */
    @Override
    public int removeLeftovers() throws IOException {
        if (!Files.isDirectory(root)) {
            return 0;
        }
        List<Path> leftovers = FileIo.leftovers(root, TEMP_FILE, Instant.now().minus(TEMP_FILE_MAX_AGE), processStart);
        int removed = 0;
        for (Path p : leftovers) {
            if (Files.deleteIfExists(p)) {
                removed++;
            }
        }
        return removed;
    }

    /** For tests: a file time this store takes for "before this process started". */
    FileTime beforeStart() {
        return FileTime.from(processStart.minusSeconds(1));
    }

    @Override
    public Lock lock(String name) throws IOException {
        Path lockFile = resolve("locks/" + name + ".lock");
        createDirectories(lockFile.getParent());
        ReentrantLock jvmLock = jvmLocks.computeIfAbsent(name, n -> new ReentrantLock());
        if (jvmLock.isHeldByCurrentThread()) {
            throw new IllegalStateException("lock '" + name + "' is already held by this thread; store locks are not reentrant");
        }
        long deadline = System.nanoTime() + lockTimeout.toNanos();
        try {
            if (!jvmLock.tryLock(lockTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new IOException("timed out after " + lockTimeout + " waiting for lock '" + name + "' held by another thread");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for lock '" + name + "'");
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE), fileAttributes(FILE_MODE));
            FileLock fileLock = acquire(channel, name, deadline);
            FileChannel held = channel;
            return () -> {
                try {
                    fileLock.release();
                    held.close();
                } finally {
                    jvmLock.unlock();
                }
            };
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                channel.close();
            }
            jvmLock.unlock();
            throw e;
        }
    }

    /**
     * Polls for the file lock (5 ms doubling to 200 ms) until {@code deadline}. Polling, not
     * {@code FileChannel.lock()}: the wait stays bounded, and another store instance on the same
     * directory in this JVM (whose FileLock would make {@code lock()} throw) is simply waited for.
     */
    private FileLock acquire(FileChannel channel, String name, long deadline) throws IOException {
        long sleepMillis = 5;
        while (true) {
            try {
                FileLock lock = channel.tryLock();
                if (lock != null) {
                    return lock;
                }
            } catch (OverlappingFileLockException e) {
                // held by another FileCertStore instance in this JVM: wait like for another process
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("timed out after " + lockTimeout + " waiting for lock '" + name + "' held by another process or store instance");
            }
            try {
                Thread.sleep(sleepMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for lock '" + name + "'");
            }
            sleepMillis = Math.min(sleepMillis * 2, 200);
        }
    }

    @Override
    public void checkAccess() throws IOException {
        createDirectories(root);
        if (!Files.isWritable(root)) {
            throw new IOException("directory " + root + " is not writable by this process");
        }
        // Created, written and deleted without store()'s fsyncs: they make a write durable, which a probe does not
        // need, and cost every build() three disk flushes on the caller's thread (issue 23). Not Files.createTempFile:
        // its random name initialises the JDK's security providers (about 100 classes) on the same thread.
        Path probe = root.resolve(".probe-" + ProcessHandle.current().pid() + "-" + Thread.currentThread().getId() + "-" + System.nanoTime());
        try {
            Files.write(probe, new byte[] {1}, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    @Override
    public String toString() {
        return "FileCertStore[" + root + "]";
    }

    /** Whether a segment of the key is too long to be a file name together with the temporary file's prefix and suffix. */
    private static boolean tooLongForAFileName(String key) {
        if (key.length() <= MAX_SEGMENT) {
            return false; // the common case: no segment can be longer than the whole key
        }
        for (String segment : key.split("/")) {
            if (segment.length() > MAX_SEGMENT) {
                return true;
            }
        }
        return false;
    }

    private Path resolve(String key) {
        if (key == null || !KEY.matcher(key).matches() || key.contains("..")) {
            throw new IllegalArgumentException("invalid store key '" + key + "': use segments of [A-Za-z0-9._@-] joined by '/'");
        }
        return root.resolve(key);
    }

    private void createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path parent = dir.getParent();
        if (parent != null && !parent.equals(dir)) {
            createDirectories(parent);
        }
        try {
            Files.createDirectory(dir, fileAttributes(DIR_MODE));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
        }
    }

    private FileAttribute<?>[] fileAttributes(Set<PosixFilePermission> mode) {
        return posix ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(mode)} : new FileAttribute<?>[0];
    }

}
