package io.github.autocert4j.postgres;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.CertStore;

/**
 * A node of the lock tests, run as a separate JVM by {@link PostgresLockContentionTest}.
 *
 * <pre>
 * hammer URL USER PASSWORD PREFIX LOCK JVM_INDEX THREADS ITERATIONS STORES THINK_MILLIS
 *     THREADS threads (sharing STORES store instances; up to THINK_MILLIS between holds) each take LOCK ITERATIONS times; inside, each bumps a
 *     shared counter row (and an in-JVM counter) on entry and lowers it on exit, logs its fencing token and
 *     makes a fenced write. Prints "READY", starts on the next stdin line, then prints
 *     "DONE acquisitions=A overlaps=O" and exits 0, or prints "FAIL ..." and exits 1.
 * hold URL USER PASSWORD PREFIX LOCK LEASE_MILLIS
 *     takes LOCK, prints "HELD token", then obeys stdin lines: "WRITE key value" (fenced write; prints "WROTE"
 *     or "LOST message"), "ENSURE" (prints "HELD" or "LOST message"), "EXIT".
 * </pre>
 */
public final class LockNode {

    private LockNode() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "hammer" -> hammer(args);
            case "hold" -> hold(args);
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void hammer(String[] a) throws Exception {
        String url = a[1], user = a[2], password = a[3], prefix = a[4], lockName = a[5];
        int jvm = Integer.parseInt(a[6]), threads = Integer.parseInt(a[7]), iterations = Integer.parseInt(a[8]), storeCount = Integer.parseInt(a[9]);
        int thinkMillis = Integer.parseInt(a[10]);
        try (HikariDataSource pool = PgSupport.pool(url, user, password, threads + 2, Duration.ofSeconds(10))) {
            List<PostgresCertStore> stores = new ArrayList<>();
            for (int i = 0; i < storeCount; i++) {
                stores.add(PostgresCertStore.builder(pool).tablePrefix(prefix).lockTimeout(Duration.ofSeconds(90)).build());
            }
            AtomicInteger insideJvm = new AtomicInteger();
            AtomicLong acquisitions = new AtomicLong();
            AtomicLong overlaps = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                PostgresCertStore store = stores.get(t % storeCount);
                Thread w = new Thread(() -> {
                    try {
                        for (int i = 0; i < iterations; i++) {
                            try (CertStore.Lock lock = store.lock(lockName)) {
                                if (insideJvm.incrementAndGet() != 1) {
                                    overlaps.incrementAndGet();
                                }
                                try (Connection c = pool.getConnection()) {
                                    int inside;
                                    try (PreparedStatement ps = c.prepareStatement("UPDATE " + prefix + "hammer SET inside = inside + 1,"
                                            + " max_inside = greatest(max_inside, inside + 1), entries = entries + 1 WHERE id = 1 RETURNING inside")) {
                                        try (ResultSet rs = ps.executeQuery()) {
                                            rs.next();
                                            inside = rs.getInt(1);
                                        }
                                    }
                                    if (inside != 1) {
                                        overlaps.incrementAndGet();
                                    }
                                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + prefix + "hammer_log (token, jvm, thread) VALUES (?, ?, ?)")) {
                                        ps.setLong(1, lock.fencingToken());
                                        ps.setInt(2, jvm);
                                        ps.setInt(3, thread);
                                        ps.executeUpdate();
                                    }
                                    store.store("hammer/last", (jvm + "/" + thread + "/" + lock.fencingToken()).getBytes(StandardCharsets.UTF_8), lock);
                                    Thread.sleep(ThreadLocalRandom.current().nextInt(3));
                                    try (PreparedStatement ps = c.prepareStatement("UPDATE " + prefix + "hammer SET inside = inside - 1 WHERE id = 1")) {
                                        ps.executeUpdate();
                                    }
                                }
                                acquisitions.incrementAndGet();
                                insideJvm.decrementAndGet();
                            }
                            // think time: without it the releasing thread (or a thread queued behind it in the same
                            // store) takes the lock straight back while the other nodes sleep between polls
                            Thread.sleep(ThreadLocalRandom.current().nextInt(thinkMillis + 1));
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }, "hammer-" + jvm + "-" + t);
                workers.add(w);
            }
            // warm up the pool, then start together with the other JVMs
            pool.getConnection().close();
            System.out.println("READY");
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            workers.forEach(Thread::start);
            for (Thread w : workers) {
                w.join();
            }
            stores.forEach(PostgresCertStore::close);
            if (failure.get() != null) {
                System.out.println("FAIL " + failure.get());
                failure.get().printStackTrace();
                System.exit(1);
            }
            System.out.println("DONE acquisitions=" + acquisitions.get() + " overlaps=" + overlaps.get());
        }
    }

    private static void hold(String[] a) throws Exception {
        String url = a[1], user = a[2], password = a[3], prefix = a[4], lockName = a[5];
        Duration lease = Duration.ofMillis(Long.parseLong(a[6]));
        try (HikariDataSource pool = PgSupport.pool(url, user, password, 3, Duration.ofSeconds(5))) {
            PostgresCertStore store = PostgresCertStore.builder(pool).tablePrefix(prefix).leaseDuration(lease).build();
            CertStore.Lock lock = store.lock(lockName);
            System.out.println("HELD " + lock.fencingToken());
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line; (line = in.readLine()) != null; ) {
                String[] cmd = line.split(" ");
                try {
                    switch (cmd[0]) {
                        case "WRITE" -> {
                            store.store(cmd[1], cmd[2].getBytes(StandardCharsets.UTF_8), lock);
                            System.out.println("WROTE");
                        }
                        case "ENSURE" -> {
                            lock.ensureHeld();
                            System.out.println("HELD");
                        }
                        case "EXIT" -> {
                            lock.close();
                            store.close();
                            System.out.println("BYE");
                            return;
                        }
                        default -> System.out.println("UNKNOWN " + line);
                    }
                } catch (CertStore.LockLostException e) {
                    System.out.println("LOST " + e.getMessage());
                }
            }
        }
    }
}
