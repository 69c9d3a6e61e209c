package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.DaemonThreads;
import io.github.autocert4j.internal.util.Names;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;

/**
 * The configured certificates of a manager, which can grow and shrink at run time: lookups by
 * name and by store key are lock-free; additions and removals are serialized and validated like
 * the builder's {@code certificate(...)}. (On-demand certificates live in {@link OnDemandCertificates}.)
 */
public final class CertificateSet {
    private final Services services;
    private final CopyOnWriteArrayList<ManagedCertificate> all;
    private final Map<String, ManagedCertificate> byName = new ConcurrentHashMap<>();
    private final Map<String, ManagedCertificate> byStoreKey = new ConcurrentHashMap<>();

    public CertificateSet(Services services, List<List<String>> configured, boolean verboseLoad) {
        this.services = services;
        List<ManagedCertificate> initial = new ArrayList<>(configured.size());
        for (List<String> names : configured) {
            ManagedCertificate m = new ManagedCertificate(names, services, verboseLoad);
            initial.add(m);
            index(m);
        }
        this.all = new CopyOnWriteArrayList<>(initial); // one copy, not one per certificate
    }

    private void index(ManagedCertificate m) {
        m.names.forEach(n -> byName.put(n, m));
        byStoreKey.put(StoreLayout.certBundle(m.id), m);
    }

    public List<ManagedCertificate> all() {
        return all;
    }

    public ManagedCertificate byName(String name) {
        return name == null ? null : byName.get(Names.normalize(name));
    }

    public ManagedCertificate byStoreKey(String key) {
        return byStoreKey.get(key);
    }

    public List<String> names() {
        return new ArrayList<>(byName.keySet());
    }

    /** Readers for a parallel start-up load: reads wait on the disk, so more readers than cores help. */
    private static final int READ_THREADS = 32;
    /** At most this many certificates read and not yet decoded (about 1.5 KB each), so readers cannot fill the heap. */
    private static final int READ_AHEAD = 2048;

    /**
     * One certificate's start-up load: the event to report (null: none), or {@code unavailable} if
     * the store did not answer for it (down, a read that failed or timed out: then nothing was decided,
     * it is not "none stored"; status and a {@link CertEvent.Failed} say so, see {@link NotLoadedYet}).
     */
    public record LoadResult(CertEvent.Loaded loaded, boolean unavailable) {
        public static final LoadResult UNAVAILABLE = new LoadResult(null, true);
    }

    /**
     * Loads every stored certificate of {@code all}, in parallel above {@code parallelAbove}; the
     * results (the events to report), in {@code all}'s order. Reading and decoding are two stages: with a cold page
     * cache the reads wait on the disk, so {@value #READ_THREADS} readers keep it busy (reading
     * 200,000 small files took 18 s with 2 readers and 5.5 s with 16 on a 2-core VM), while decoding
     * only computes, so it runs on one thread per core (with 16 decoders on 2 cores the JDK's
     * certificate parser, which serializes on one global lock, made the warm-cache load 40 % slower).
     * {@code progress} hears after each read whether the store answered (true) or failed (false).
     * A read the store failed (unavailable, timed out, a file it could not read) is
     * {@link LoadResult#UNAVAILABLE}: not "none stored", so never ordered for. Once the store was
     * unavailable, the certificates not yet read are not read either (each read could wait a
     * connection timeout) and are {@link LoadResult#UNAVAILABLE} too.
     */
    public static List<LoadResult> loadStored(List<ManagedCertificate> all, int parallelAbove, java.util.function.Consumer<Boolean> progress) {
        java.util.concurrent.atomic.AtomicReference<Exception> down = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.function.Function<ManagedCertificate, CertificateStorage.Read> reader = m -> {
            Exception downCause = down.get();
            if (downCause != null) {
                return CertificateStorage.Read.notAttempted(downCause);
            }
            CertificateStorage.Read read = m.readStored();
            if (read.unavailable()) {
                down.compareAndSet(null, read.storeFailure());
            }
            progress.accept(!read.unavailable()); // a failed entry (e.g. permission denied) is an answer: the load goes on
            return read;
        };
        if (!all.isEmpty()) {
            all.get(0).services.storage().issuers().preload(); // every check needs it: read it before the readers fill the pool
        }
        if (all.size() <= parallelAbove) {
            List<LoadResult> results = new ArrayList<>(all.size());
            for (ManagedCertificate m : all) {
                results.add(load(m, reader.apply(m)));
            }
            return results;
        }
        ExecutorService readers = Executors.newFixedThreadPool(Math.min(READ_THREADS, all.size()), DaemonThreads.named("autocert4j-load-read"));
        ExecutorService decoders = Executors.newFixedThreadPool(Math.min(Runtime.getRuntime().availableProcessors(), all.size()),
                DaemonThreads.named("autocert4j-load"));
        Semaphore readAhead = new Semaphore(READ_AHEAD);
        try {
            List<CompletableFuture<LoadResult>> futures = new ArrayList<>(all.size());
            for (ManagedCertificate m : all) {
                futures.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        readAhead.acquire(); // interruptible: an aborted load's shutdownNow() ends waiting readers
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.util.concurrent.CancellationException("the start-up load was aborted");
                    }
                    try {
                        return reader.apply(m); // never throws an exception; an Error must not keep the permit
                    } catch (Error e) {
                        readAhead.release();
                        throw e;
                    }
                }, readers).thenApplyAsync(read -> {
                    try {
                        return load(m, read);
                    } finally {
                        readAhead.release();
                    }
                }, decoders));
            }
            List<LoadResult> loaded = new ArrayList<>(all.size());
            for (CompletableFuture<LoadResult> f : futures) {
                try {
                    loaded.add(f.get());
                } catch (ExecutionException e) {
                    throw new IllegalStateException("loading a stored certificate failed unexpectedly", e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while loading the stored certificates", e);
                }
            }
            return loaded;
        } finally {
            readers.shutdownNow();
            decoders.shutdownNow();
        }
    }

    /** Serves {@code read} if usable; unavailable if the store did not answer it (then nothing was decided). */
    private static LoadResult load(ManagedCertificate m, CertificateStorage.Read read) {
        CertEvent.Loaded loaded = m.loadStored(read);
        return m.goingLive.notLoadedYet.waiting() ? LoadResult.UNAVAILABLE : new LoadResult(loaded, false);
    }

    /** Validates {@code names} like the builder does and adds a certificate for them; throws IllegalArgumentException naming the fix. */
    public synchronized ManagedCertificate add(String... names) {
        List<String> normalized = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String n : names == null ? new String[0] : names) {
            String name = Names.normalize(n);
            String problem = Names.problem("addCertificate", name, services.config().wildcardsAllowed(), services.config().ipAddressesAllowed());
            if (problem != null) {
                errors.add(problem);
            } else if (!seen.add(name)) {
                errors.add("addCertificate: '" + name + "' is given twice. Fix: name each host once");
            } else if (byName.containsKey(name)) {
                errors.add("addCertificate: '" + name + "' is already managed by certificate " + byName.get(name).id
                        + ". Fix: removeCertificate(\"" + byName.get(name).id + "\") first, or leave the name out");
            }
            normalized.add(name);
        }
        if (normalized.isEmpty()) {
            errors.add("addCertificate(): no names given. Fix: addCertificate(\"example.com\", \"www.example.com\")");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("cannot add the certificate:\n  - " + String.join("\n  - ", errors));
        }
        ManagedCertificate m = new ManagedCertificate(normalized, services, true);
        all.add(m);
        index(m);
        if (all.size() == 1) {
            services.keyManager().setDefault(m.id);
        }
        return m;
    }

    /** Removes the certificate covering {@code name} from the set (the caller stops it); null if none. */
    public synchronized ManagedCertificate remove(String name) {
        ManagedCertificate m = byName(name);
        if (m == null) {
            return null;
        }
        all.remove(m);
        m.names.forEach(n -> byName.remove(n, m));
        byStoreKey.remove(StoreLayout.certBundle(m.id), m);
        services.keyManager().setDefault(all.isEmpty() ? null : all.get(0).id);
        return m;
    }
}
