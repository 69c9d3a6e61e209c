package io.github.autocert4j.postgres;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.github.autocert4j.CertStore;

/**
 * A {@link CertStore} on the user's PostgreSQL (13 or newer), so that a fleet of servers shares one account,
 * one set of certificates and one lock per certificate.
 *
 * <p>What it keeps: three tables named with a prefix ({@code autocert4j_} by default), created on first use
 * by {@code schema-v1.sql} (versioned, idempotent, safe when several nodes start together):
 * {@code <prefix>entries} (one row per key, the value as {@code bytea}), {@code <prefix>locks} (one row per
 * lock name) and {@code <prefix>schema_version}. Every write is one upsert in one transaction, so a reader or
 * a restarted node sees the old value or the new one, never a mix.
 *
 * <p>Locks are leases on the database's clock: {@link #lock} takes the row only if it is free or its lease
 * ran out (one atomic {@code INSERT ... ON CONFLICT DO UPDATE ... WHERE expires_at <= clock_timestamp()}),
 * waiting with bounded polling up to the lock timeout; a heartbeat thread extends the lease every third of
 * it while the lock is held; only the acquisition that holds the lock (a random holder id plus the row's
 * token) can extend or release it; a holder that dies loses the lock when its lease runs out. Every
 * acquisition increments the row's {@code token} (the {@linkplain Lock#fencingToken() fencing token}), and
 * {@link #store(String, byte[], Lock)} writes only if, in the same transaction, the row still shows this
 * acquisition with a live lease, holding a row lock until commit so that no other node can take over
 * in between. See docs/postgres.md for why this is correct.
 *
 * <p>{@link #watch} uses {@code LISTEN}/{@code NOTIFY}: every write notifies, in its own transaction, on a
 * channel named after the prefix; a watch holds one connection of the DataSource for as long as it is open.
 *
 * <p>Connections: every operation borrows one connection from the DataSource and gives it back; the lock
 * heartbeat borrows one per extension; each open watch keeps one. Bound the waits with the DataSource's own
 * settings (for pgjdbc: {@code connectTimeout}, {@code socketTimeout}; for a pool: its connection timeout);
 * statements run with a 30 s query timeout. Failures surface as {@link IOException}s that say what failed
 * and what to do, without credentials.
 *
 * <pre>{@code
 * DataSource dataSource = ...;                        // e.g. a HikariDataSource for jdbc:postgresql://db/app
 * PostgresCertStore store = PostgresCertStore.builder(dataSource)
 *         .tablePrefix("autocert4j_")
 *         .leaseDuration(Duration.ofSeconds(30))
 *         .lockTimeout(Duration.ofMinutes(10))
 *         .build();
 * store.checkAccess();                                // creates the tables; clear error if it cannot
 * AutoCert.builder().store(store) ...
 * }</pre>
 */
public final class PostgresCertStore implements CertStore, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PostgresCertStore.class);
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9._@-]+(/[A-Za-z0-9._@-]+)*");
    private static final int MAX_KEY_LENGTH = 1000;
    private static final Pattern PREFIX = Pattern.compile("[a-z_][a-z0-9_]*");
    private static final int MAX_PREFIX_LENGTH = 40;
    /** PostgreSQL's identifier limit (NAMEDATALEN - 1). */
    private static final int MAX_IDENTIFIER_BYTES = 63;
    private static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);
    private static final Duration MIN_LEASE = Duration.ofSeconds(1);
    private static final Duration MAX_LEASE = Duration.ofHours(1);
    private static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofMinutes(10);
    private static final long MAX_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long HEARTBEAT_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final int RETRIES = 3;

    private final DataSource dataSource;
    private final DataSource listenDataSource;
    private final String prefix;
    /** The schema (null: the connection's search_path decides). */
    private final String schema;
    /** {@code prefix}, schema-qualified ({@code "schema".prefix}) when a schema is set: what the SQL names tables by. */
    private final String tables;
    private final Duration lease;
    private final long leaseNanos;
    private final Duration lockTimeout;
    private final String channel;
    private final String processId = Long.toString(ProcessHandle.current().pid());

    // package-private: PostgresDocsTest checks that docs/postgres.md shows these statements as they are
    final String sqlLoad;
    final String sqlUpsertNotify;
    final String sqlDeleteNotify;
    final String sqlList;
    final String sqlAcquire;
    final String sqlExtend;
    final String sqlRelease;
    final String sqlFence;
    final String sqlHolder;
    final String sqlAge;

    private final Object schemaLock = new Object();
    private volatile boolean schemaReady;
    private volatile boolean closed;
    /** In-process half of each lock: threads of this store queue here, so only one of them polls the row. */
    private final ConcurrentHashMap<String, LocalSlot> slots = new ConcurrentHashMap<>();
    private final Set<ChangeWatcher> watchers = ConcurrentHashMap.newKeySet();
    private final ScheduledThreadPoolExecutor heartbeats;

    private static final class LocalSlot {
        final Semaphore permit = new Semaphore(1, true);
        volatile Thread owner;
    }

    private PostgresCertStore(Builder b) {
        this.dataSource = b.dataSource;
        this.listenDataSource = b.listenDataSource != null ? b.listenDataSource : b.dataSource;
        this.prefix = b.tablePrefix;
        this.schema = b.schema;
        this.tables = schema == null ? prefix : quoteIdentifier(schema) + "." + prefix;
        this.lease = b.leaseDuration;
        this.leaseNanos = lease.toNanos();
        this.lockTimeout = b.lockTimeout;
        // one channel per database: stores in different schemas with the same prefix must not hear each other
        this.channel = schema == null ? prefix + "changes" : prefix + "changes_" + String.format("%08x", schema.hashCode());
        String entries = tables + "entries";
        String locks = tables + "locks";
        this.sqlLoad = "SELECT value FROM " + entries + " WHERE key = ?";
        this.sqlUpsertNotify = "WITH written AS (INSERT INTO " + entries + " AS e (key, value, updated_at) VALUES (?, ?, clock_timestamp())"
                + " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at RETURNING e.key)"
                + " SELECT pg_notify(?, key) FROM written";
        this.sqlDeleteNotify = "WITH deleted AS (DELETE FROM " + entries + " WHERE key = ? RETURNING key)"
                + " SELECT pg_notify(?, key) FROM deleted";
        this.sqlList = "SELECT key FROM " + entries + " WHERE key LIKE ? ESCAPE '!'";
        this.sqlAcquire = "INSERT INTO " + locks + " AS l (name, holder, token, expires_at)"
                + " VALUES (?, ?, 1, clock_timestamp() + ? * interval '1 millisecond')"
                + " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = l.token + 1, expires_at = excluded.expires_at"
                + " WHERE l.expires_at <= clock_timestamp()"
                + " RETURNING l.token";
        this.sqlExtend = "UPDATE " + locks + " SET expires_at = clock_timestamp() + ? * interval '1 millisecond'"
                + " WHERE name = ? AND holder = ? AND token = ? AND expires_at > clock_timestamp()";
        this.sqlRelease = "UPDATE " + locks + " SET expires_at = '-infinity'"
                + " WHERE name = ? AND holder = ? AND token = ?";
        this.sqlFence = "SELECT 1 FROM " + locks
                + " WHERE name = ? AND holder = ? AND token = ? AND expires_at > clock_timestamp() FOR SHARE";
        this.sqlHolder = "SELECT holder, token, expires_at, clock_timestamp() FROM " + locks + " WHERE name = ?";
        this.sqlAge = "SELECT (extract(epoch FROM clock_timestamp() - updated_at) * 1000)::bigint FROM " + entries + " WHERE key = ?";
        this.heartbeats = new ScheduledThreadPoolExecutor(2, r -> {
            Thread t = new Thread(r, "autocert4j-pg-lease-heartbeat");
            t.setDaemon(true);
            return t;
        });
        heartbeats.setKeepAliveTime(10, TimeUnit.SECONDS);
        heartbeats.allowCoreThreadTimeOut(true);
        heartbeats.setRemoveOnCancelPolicy(true);
    }

    /** Starts configuring a store on {@code dataSource} (a PostgreSQL 13+ database reached through pgjdbc). */
    public static Builder builder(DataSource dataSource) {
        return new Builder(dataSource);
    }

    /**
     * Configures a {@link PostgresCertStore}; {@link #build()} checks every field and names the one to fix.
     * Nothing connects before the first operation (or {@link PostgresCertStore#checkAccess()}).
     *
     * <pre>{@code
     * PostgresCertStore store = PostgresCertStore.builder(dataSource)
     *         .tablePrefix("myapp_certs_")
     *         .leaseDuration(Duration.ofSeconds(20))
     *         .build();
     * }</pre>
     */
    public static final class Builder {
        private final DataSource dataSource;
        private DataSource listenDataSource;
        private String tablePrefix = "autocert4j_";
        private String schema;
        private Duration leaseDuration = DEFAULT_LEASE;
        private Duration lockTimeout = DEFAULT_LOCK_TIMEOUT;

        private Builder(DataSource dataSource) {
            this.dataSource = dataSource;
        }

        /**
         * Prefix of the table names and of the notification channel (default {@code autocert4j_}): lower-case
         * letters, digits and {@code _}, starting with a letter or {@code _}, at most 40 characters. Stores with
         * different prefixes in one database are independent.
         */
        public Builder tablePrefix(String prefix) {
            this.tablePrefix = prefix;
            return this;
        }

        /**
         * The PostgreSQL schema of the tables (default: none, so the connection's {@code search_path} decides,
         * usually {@code public}). Used as a quoted identifier, exactly as given ({@code "MyApp"} keeps its case);
         * 1 to 63 bytes, no control characters. The schema must exist: {@code CREATE SCHEMA autocert4j} (with
         * {@code USAGE}, and {@code CREATE} for the first start, granted to the store's user). Stores in different
         * schemas of one database are independent (their notification channels differ too).
         */
        public Builder schema(String schema) {
            this.schema = schema;
            return this;
        }

        /**
         * How long a lock stays held without a heartbeat (default 30 s; 1 s to 1 h): a holder that dies or loses
         * the database releases its locks within this time. The heartbeat extends it every third of it.
         */
        public Builder leaseDuration(Duration lease) {
            this.leaseDuration = lease;
            return this;
        }

        /**
         * Where the {@linkplain PostgresCertStore#watch watch}'s {@code LISTEN} session connects (default: the store's
         * DataSource). Give it an unpooled DataSource of the same database (e.g. pgjdbc's {@code PGSimpleDataSource},
         * with a short {@code connectTimeout}) when the store's DataSource is a pool: the session then does not hold
         * one of the pool's connections for good, and after an outage it reconnects at its own one-second retry
         * instead of waiting for the pool's reconnect backoff (HikariCP's grows to 5 s), so the node hears of its
         * peers' renewals again within about a second of the database answering.
         */
        public Builder listenDataSource(DataSource listen) {
            this.listenDataSource = listen;
            return this;
        }

        /** How long {@link PostgresCertStore#lock} waits for a lock before it throws (default 10 minutes). */
        public Builder lockTimeout(Duration timeout) {
            this.lockTimeout = timeout;
            return this;
        }

        /** Checks the configuration and creates the store; throws IllegalArgumentException naming the field to fix. */
        public PostgresCertStore build() {
            if (dataSource == null) {
                throw new IllegalArgumentException("dataSource is null: pass the javax.sql.DataSource of your PostgreSQL database "
                        + "to PostgresCertStore.builder(dataSource), e.g. a HikariDataSource for jdbc:postgresql://host/db");
            }
            if (tablePrefix == null || !PREFIX.matcher(tablePrefix).matches() || tablePrefix.length() > MAX_PREFIX_LENGTH) {
                throw new IllegalArgumentException("tablePrefix '" + tablePrefix + "' is invalid: use lower-case letters, digits and '_', "
                        + "starting with a letter or '_', at most " + MAX_PREFIX_LENGTH + " characters, e.g. \"autocert4j_\"");
            }
            String schemaProblem = schemaProblem(schema);
            if (schemaProblem != null) {
                throw new IllegalArgumentException("schema " + schemaProblem);
            }
            if (leaseDuration == null || leaseDuration.compareTo(MIN_LEASE) < 0 || leaseDuration.compareTo(MAX_LEASE) > 0) {
                throw new IllegalArgumentException("leaseDuration " + leaseDuration + " is out of range: use 1 s to 1 h, e.g. "
                        + "Duration.ofSeconds(30) (a dead holder's locks free up after it; the heartbeat extends it every third of it)");
            }
            if (lockTimeout == null || lockTimeout.isNegative() || lockTimeout.isZero()) {
                throw new IllegalArgumentException("lockTimeout " + lockTimeout + " is invalid: use a positive duration, e.g. "
                        + "Duration.ofMinutes(10) (well above an order's duration, so only a stuck holder trips it)");
            }
            return new PostgresCertStore(this);
        }
    }

    /** The lease of a lock without heartbeat. */
    public Duration leaseDuration() {
        return lease;
    }

    /** How long {@link #lock} waits. */
    public Duration lockTimeout() {
        return lockTimeout;
    }

    /** The table prefix. */
    public String tablePrefix() {
        return prefix;
    }

    /** The schema of the tables, empty when the connection's {@code search_path} decides. */
    public Optional<String> schema() {
        return Optional.ofNullable(schema);
    }

    /**
     * Null if {@code schema} is a usable schema name for {@link Builder#schema} (null, or 1 to 63 bytes of UTF-8
     * without control characters), else what is wrong with it and the fix (starting with the quoted value).
     */
    public static String schemaProblem(String schema) {
        if (schema == null) {
            return null;
        }
        String fix = ". Fix: the name of an existing schema, e.g. \"autocert4j\" (CREATE SCHEMA autocert4j), or no schema to use the "
                + "search_path (public)";
        if (schema.isEmpty() || schema.isBlank()) {
            return "'" + schema + "' is blank" + fix;
        }
        if (schema.chars().anyMatch(Character::isISOControl)) {
            return "'" + schema.replaceAll("\\p{Cntrl}", "?") + "' contains a control character" + fix;
        }
        if (schema.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_IDENTIFIER_BYTES) {
            return "'" + schema + "' is longer than PostgreSQL's " + MAX_IDENTIFIER_BYTES + "-byte identifiers" + fix;
        }
        return null;
    }

    /** {@code name} as a quoted SQL identifier ({@code "} doubled). */
    static String quoteIdentifier(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    // ------------------------------------------------------------------ key/value

    @Override
    public Optional<byte[]> load(String key) throws IOException {
        checkKey(key);
        return run("load '" + key + "'", c -> {
            try (PreparedStatement ps = prepare(c, sqlLoad)) {
                ps.setString(1, key);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.<byte[]>empty();
                }
            }
        });
    }

    @Override
    public void store(String key, byte[] value) throws IOException {
        checkKey(key);
        Objects.requireNonNull(value, "value");
        run("store '" + key + "'", c -> singleStatement(c, () -> {
            upsert(c, key, value);
            return null;
        }));
    }

    /**
     * Stores {@code value} only if {@code held} (a lock of this store) is still held: in one transaction, the
     * lock row is read {@code FOR SHARE} with this acquisition's holder id and token and a lease that has not
     * run out on the database's clock, then the value is upserted and the transaction commits. The row lock
     * makes a concurrent acquisition of the lock wait for this commit, so every fenced write of a holder
     * commits before the next holder's acquisition.
     *
     * @throws LockLostException if the lock is no longer held; nothing is stored then
     * @throws IllegalArgumentException if {@code held} is not a lock of this store
     */
    @Override
    public void store(String key, byte[] value, Lock held) throws IOException {
        checkKey(key);
        Objects.requireNonNull(value, "value");
        LeasedLock lock = ownLock(held);
        lock.ensureHeld();
        boolean written = run("store '" + key + "' under lock '" + lock.name + "'", c -> transaction(c, () -> {
            try (PreparedStatement ps = prepare(c, sqlFence)) {
                ps.setString(1, lock.name);
                ps.setString(2, lock.holder);
                ps.setLong(3, lock.token);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return false; // rolled back by transaction()
                    }
                }
            }
            upsert(c, key, value);
            return true;
        }));
        if (!written) {
            lock.markLost("the database no longer shows this acquisition as the holder with a live lease "
                    + "(its lease ran out on the database's clock, or another node took the lock)");
            throw new LockLostException("lock '" + lock.name + "' (token " + lock.token + ") is no longer held, so '" + key
                    + "' was not stored: its lease ran out on the database's clock or another node took the lock");
        }
    }

    @Override
    public List<String> list(String keyPrefix) throws IOException {
        if (keyPrefix == null) {
            throw new IllegalArgumentException("list prefix is null: pass \"\" to list every key");
        }
        String pattern = escapeLike(keyPrefix) + "%";
        return run("list keys under '" + keyPrefix + "'", c -> {
            try (PreparedStatement ps = prepare(c, sqlList)) {
                ps.setString(1, pattern);
                List<String> keys = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        keys.add(rs.getString(1));
                    }
                }
                return keys;
            }
        });
    }

    /** How long ago the row of {@code key} was written ({@code updated_at}), on the database's clock, so node clocks do not matter. */
    @Override
    public Optional<Duration> age(String key) throws IOException {
        checkKey(key);
        return run("read the age of '" + key + "'", c -> {
            try (PreparedStatement ps = prepare(c, sqlAge)) {
                ps.setString(1, key);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(Duration.ofMillis(Math.max(0, rs.getLong(1)))) : Optional.<Duration>empty();
                }
            }
        });
    }

    @Override
    public boolean delete(String key) throws IOException {
        checkKey(key);
        return run("delete '" + key + "'", c -> singleStatement(c, () -> {
            try (PreparedStatement ps = prepare(c, sqlDeleteNotify)) {
                ps.setString(1, key);
                ps.setString(2, channel);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next();
                }
            }
        }));
    }

    // ------------------------------------------------------------------ locks

    /**
     * Takes the lock {@code name}, waiting (polling 5 ms doubling to 200 ms, with jitter) while another node
     * or thread holds it, at most the lock timeout. The returned lock's lease is extended by a heartbeat until
     * it is closed; {@link Lock#ensureHeld()} reports a lease that could not be extended.
     *
     * @throws IllegalStateException if the calling thread already holds {@code name} in this store (locks are not reentrant)
     * @throws IOException if the lock timeout passes (the message names the current holder and its lease end)
     *         or the database cannot be reached
     */
    @Override
    public Lock lock(String name) throws IOException {
        checkKey(name);
        ensureOpen();
        LocalSlot slot = slots.computeIfAbsent(name, n -> new LocalSlot());
        if (slot.owner == Thread.currentThread()) {
            throw new IllegalStateException("lock '" + name + "' is already held by this thread; store locks are not reentrant");
        }
        long deadline = System.nanoTime() + lockTimeout.toNanos();
        try {
            if (!slot.permit.tryAcquire(lockTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw new IOException("timed out after " + lockTimeout + " waiting for lock '" + name
                        + "' held by another thread using this store");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for lock '" + name + "'");
        }
        slot.owner = Thread.currentThread();
        boolean acquired = false;
        try {
            Lock lock = acquire(name, deadline, () -> {
                slot.owner = null;
                slot.permit.release();
            });
            acquired = true;
            return lock;
        } finally {
            if (!acquired) {
                slot.owner = null;
                slot.permit.release();
            }
        }
    }

    private Lock acquire(String name, long deadline, Runnable releaseSlot) throws IOException {
        String holder = UUID.randomUUID() + "/pid-" + processId;
        long pause = TimeUnit.MILLISECONDS.toNanos(5);
        while (true) {
            long sent = System.nanoTime();
            OptionalLong token = run("acquire lock '" + name + "'", c -> singleStatement(c, () -> {
                try (PreparedStatement ps = prepare(c, sqlAcquire)) {
                    ps.setString(1, name);
                    ps.setString(2, holder);
                    ps.setLong(3, lease.toMillis());
                    try (ResultSet rs = ps.executeQuery()) {
                        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
                    }
                }
            }));
            if (token.isPresent()) {
                LeasedLock lock = new LeasedLock(this, name, holder, token.getAsLong(), localLeaseEnd(sent), releaseSlot);
                scheduleHeartbeat(lock, leaseNanos / 3);
                return lock;
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                throw new IOException("timed out after " + lockTimeout + " waiting for lock '" + name + "': " + describeHolder(name)
                        + ". A live holder extends its lease while it works; a dead one loses the lock within the lease ("
                        + lease + ")");
            }
            long jittered = pause / 2 + ThreadLocalRandom.current().nextLong(pause / 2 + 1);
            sleepNanos(Math.min(jittered, remaining), name);
            pause = Math.min(pause * 2, MAX_POLL_NANOS);
        }
    }

    /** The local end of a lease whose statement was sent at {@code sentNanos}: see {@link LeasedLock}. */
    private long localLeaseEnd(long sentNanos) {
        return sentNanos + leaseNanos - leaseNanos / 100;
    }

    private void scheduleHeartbeat(LeasedLock lock, long delayNanos) {
        if (closed || lock.isClosed()) {
            return;
        }
        try {
            lock.heartbeat(heartbeats.schedule(() -> heartbeat(lock), delayNanos, TimeUnit.NANOSECONDS));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // store closed meanwhile: the lease runs out on its own
        }
    }

    /** Extends the lease; a failed extension is retried until the lease's local end, then the lock is lost. */
    private void heartbeat(LeasedLock lock) {
        if (lock.isClosed() || lock.isLost()) {
            return;
        }
        long sent = System.nanoTime();
        try {
            int rows = run("extend the lease of lock '" + lock.name + "'", c -> singleStatement(c, () -> {
                try (PreparedStatement ps = prepare(c, sqlExtend)) {
                    ps.setLong(1, lease.toMillis());
                    ps.setString(2, lock.name);
                    ps.setString(3, lock.holder);
                    ps.setLong(4, lock.token);
                    return ps.executeUpdate();
                }
            }));
            if (rows == 1) {
                lock.extendedUntil(localLeaseEnd(sent));
                scheduleHeartbeat(lock, leaseNanos / 3);
            } else if (!lock.isClosed()) {
                lock.markLost("the heartbeat found its lease gone (it ran out on the database's clock, or another node took the lock)");
                LOG.warn("lock '{}' (token {}) was lost: its lease ran out before the heartbeat could extend it", lock.name, lock.token);
            }
        } catch (IOException | RuntimeException e) {
            if (System.nanoTime() - lock.validUntilNanos() > 0) {
                lock.markLost("its lease of " + lease + " ran out while the heartbeat could not reach the database: " + e.getMessage());
                LOG.warn("lock '{}' (token {}) was lost: could not extend its lease in time: {}", lock.name, lock.token, e.getMessage());
            } else {
                LOG.warn("could not extend the lease of lock '{}' (token {}), retrying: {}", lock.name, lock.token, e.getMessage());
                scheduleHeartbeat(lock, Math.min(leaseNanos / 3, HEARTBEAT_RETRY_NANOS));
            }
        }
    }

    /** Gives up this acquisition's row (never another's); a failure only logs: the lease then runs out. */
    void release(LeasedLock lock) {
        try {
            releaseRow(lock.name, lock.holder, lock.token);
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not release lock '{}' (token {}); it frees itself when its lease ends within {}: {}",
                    lock.name, lock.token, lease, e.getMessage());
        }
    }

    /** Expires the row of {@code (name, holder, token)}; returns whether such a row existed. */
    boolean releaseRow(String name, String holder, long token) throws IOException {
        return run("release lock '" + name + "'", c -> singleStatement(c, () -> {
            try (PreparedStatement ps = prepare(c, sqlRelease)) {
                ps.setString(1, name);
                ps.setString(2, holder);
                ps.setLong(3, token);
                return ps.executeUpdate() == 1;
            }
        }));
    }

    private String describeHolder(String name) {
        try {
            return run("read the holder of lock '" + name + "'", c -> {
                try (PreparedStatement ps = prepare(c, sqlHolder)) {
                    ps.setString(1, name);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            return "no holder recorded";
                        }
                        return "held by " + rs.getString(1) + " (token " + rs.getLong(2) + ") with a lease until "
                                + rs.getTimestamp(3).toInstant() + ", database time now " + rs.getTimestamp(4).toInstant();
                    }
                }
            });
        } catch (IOException e) {
            return "holder unknown (" + e.getMessage() + ")";
        }
    }

    private LeasedLock ownLock(Lock held) {
        if (held instanceof LeasedLock l && l.store == this) {
            return l;
        }
        throw new IllegalArgumentException("the lock passed to store(key, value, lock) was not taken from this PostgresCertStore ("
                + held + "): pass the Lock returned by this store's lock(name)");
    }

    // ------------------------------------------------------------------ watch, access, life cycle

    /**
     * Starts a {@code LISTEN} on this store's channel over a connection taken from the DataSource and kept
     * until the returned handle is closed; {@code onChange} gets each key under {@code prefix} that any node
     * (this one included) stores or deletes, on the watch's own thread, after the change committed. If the
     * connection breaks, the watch reconnects with backoff and then calls {@code onChange(prefix)}: re-read
     * everything, notifications may have been missed.
     *
     * @throws IOException if the first {@code LISTEN} fails (the database cannot be reached)
     */
    @Override
    public Optional<AutoCloseable> watch(String prefix, Consumer<String> onChange) throws IOException {
        if (prefix == null || onChange == null) {
            throw new IllegalArgumentException("watch needs a key prefix (\"\" for all keys) and a callback");
        }
        ensureOpen();
        ensureSchema();
        ChangeWatcher[] self = new ChangeWatcher[1];
        self[0] = new ChangeWatcher(listenDataSource, channel, prefix, onChange, () -> watchers.remove(self[0]));
        watchers.add(self[0]);
        return Optional.of(self[0]);
    }

    /**
     * Connects, creates the tables if needed (see {@code schema-v1.sql}) and checks that this user may read and
     * write them, in a transaction that is rolled back; throws an IOException that names the problem (server
     * unreachable, wrong credentials, missing database, missing privileges) and the fix.
     */
    @Override
    public void checkAccess() throws IOException {
        ensureOpen();
        schemaReady = false;
        ensureSchema();
        run("check read and write access to its tables", c -> transaction(c, () -> {
            String probe = ".autocert4j-access-probe";
            try (PreparedStatement ps = prepare(c, "INSERT INTO " + tables + "entries (key, value) VALUES (?, ?)"
                    + " ON CONFLICT (key) DO UPDATE SET value = excluded.value")) {
                ps.setString(1, probe);
                ps.setBytes(2, new byte[] {1});
                ps.executeUpdate();
            }
            try (PreparedStatement ps = prepare(c, sqlLoad)) {
                ps.setString(1, probe);
                ps.executeQuery().close();
            }
            try (PreparedStatement ps = prepare(c, "DELETE FROM " + tables + "entries WHERE key = ?")) {
                ps.setString(1, probe);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = prepare(c, "INSERT INTO " + tables + "locks AS l (name, holder, token, expires_at)"
                    + " VALUES (?, '', 0, '-infinity') ON CONFLICT (name) DO UPDATE SET token = l.token")) {
                ps.setString(1, probe);
                ps.executeUpdate();
            }
            try (PreparedStatement ps = prepare(c, "DELETE FROM " + tables + "locks WHERE name = ?")) {
                ps.setString(1, probe);
                ps.executeUpdate();
            }
            return Boolean.FALSE; // a probe: roll back, nothing to keep
        }));
    }

    /**
     * Stops the lease heartbeats (held locks then free themselves within the lease) and closes open watches.
     * The DataSource stays open: it belongs to the caller.
     */
    @Override
    public void close() {
        closed = true;
        heartbeats.shutdownNow();
        for (ChangeWatcher w : List.copyOf(watchers)) {
            w.close();
        }
    }

    @Override
    public String toString() {
        return "PostgresCertStore[tables " + tables + "entries/" + tables + "locks, lease " + lease + ", lockTimeout " + lockTimeout
                + (closed ? ", closed" : "") + "]";
    }

    // ------------------------------------------------------------------ plumbing

    @FunctionalInterface
    private interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }

    @FunctionalInterface
    private interface SqlBody<T> {
        T run() throws SQLException;
    }

    /** Borrows a connection (schema ensured first), runs {@code work}, retries serialization failures, translates errors. */
    private <T> T run(String what, SqlWork<T> work) throws IOException {
        ensureSchema();
        return runRaw(what, work);
    }

    private <T> T runRaw(String what, SqlWork<T> work) throws IOException {
        for (int attempt = 1; ; attempt++) {
            Connection c;
            try {
                c = dataSource.getConnection();
            } catch (SQLException e) {
                throw SqlFailures.connect(what, e);
            }
            try (c) {
                return work.run(c);
            } catch (SQLException e) {
                if (attempt < RETRIES && SqlFailures.isRetryable(e)) {
                    continue;
                }
                throw SqlFailures.statement(what, e);
            }
        }
    }

    private void ensureSchema() throws IOException {
        if (schemaReady) {
            return;
        }
        synchronized (schemaLock) {
            if (schemaReady) {
                return;
            }
            Connection c;
            try {
                c = dataSource.getConnection();
            } catch (SQLException e) {
                throw SqlFailures.connect("create or check its tables", e);
            }
            try (c) {
                Schema.ensure(c, prefix, schema);
            } catch (SQLException e) {
                throw SqlFailures.statement("give back a connection after checking its tables", e);
            }
            schemaReady = true;
        }
    }

    /** A single statement is its own transaction under autocommit; commit it ourselves if the pool turned autocommit off. */
    private static <T> T singleStatement(Connection c, SqlBody<T> body) throws SQLException {
        if (c.getAutoCommit()) {
            return body.run();
        }
        return transaction(c, body);
    }

    /** Runs {@code body} in one transaction: commit if it returns anything but {@code false}, else roll back. */
    private static <T> T transaction(Connection c, SqlBody<T> body) throws SQLException {
        boolean autoCommit = c.getAutoCommit();
        if (autoCommit) {
            c.setAutoCommit(false);
        }
        try {
            T result = body.run();
            if (Boolean.FALSE.equals(result)) {
                c.rollback();
            } else {
                c.commit();
            }
            return result;
        } catch (SQLException | RuntimeException e) {
            try {
                c.rollback();
            } catch (SQLException r) {
                e.addSuppressed(r);
            }
            throw e;
        } finally {
            if (autoCommit) {
                try {
                    c.setAutoCommit(true);
                } catch (SQLException ignored) {
                    // broken connection: the pool discards it
                }
            }
        }
    }

    private void upsert(Connection c, String key, byte[] value) throws SQLException {
        try (PreparedStatement ps = prepare(c, sqlUpsertNotify)) {
            ps.setString(1, key);
            ps.setBytes(2, value);
            ps.setString(3, channel);
            ps.executeQuery().close();
        }
    }

    private static PreparedStatement prepare(Connection c, String sql) throws SQLException {
        PreparedStatement ps = c.prepareStatement(sql);
        ps.setQueryTimeout(SqlFailures.QUERY_TIMEOUT_SECONDS);
        return ps;
    }

    /** LIKE pattern that matches {@code prefix} literally ({@code !} escapes {@code !}, {@code %} and {@code _}). */
    static String escapeLike(String prefix) {
        StringBuilder sb = new StringBuilder(prefix.length() + 8);
        for (char ch : prefix.toCharArray()) {
            if (ch == '!' || ch == '%' || ch == '_') {
                sb.append('!');
            }
            sb.append(ch);
        }
        return sb.toString();
    }

    private static void checkKey(String key) {
        if (key == null || key.length() > MAX_KEY_LENGTH || !KEY.matcher(key).matches() || key.contains("..")) {
            throw new IllegalArgumentException("invalid store key or lock name '" + key
                    + "': use segments of [A-Za-z0-9._@-] joined by '/', at most " + MAX_KEY_LENGTH + " characters");
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this PostgresCertStore is closed");
        }
    }

    private static void sleepNanos(long nanos, String name) throws InterruptedIOException {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for lock '" + name + "'");
        }
    }
}
