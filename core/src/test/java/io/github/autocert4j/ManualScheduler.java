package io.github.autocert4j;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A scheduler on virtual time for state-machine tests: nothing runs until the test calls
 * {@link #runDue()} or {@link #advance}, and then on the test's thread, in due order. Its
 * {@link #clock()} is the clock the manager reads, so "in 12 hours" takes no time at all.
 * {@link #rejectFromNowOn()} makes it refuse new work like a shut-down host executor.
 */
final class ManualScheduler implements ScheduledExecutorService {
    private final MutableClock clock;
    private final PriorityQueue<Task> queue = new PriorityQueue<>(Comparator.comparing((Task t) -> t.due).thenComparingLong(t -> t.seq));
    private final AtomicLong seq = new AtomicLong();
    private volatile boolean rejecting;
    private volatile boolean rejectSchedulesOnly;
    private int ran;

    ManualScheduler(Instant start) {
        this.clock = new MutableClock(start);
    }

    Clock clock() {
        return clock;
    }

    Instant now() {
        return clock.instant();
    }

    /** Refuses every execute() and schedule() from now on. */
    void rejectFromNowOn() {
        rejecting = true;
    }

    /** Takes work again after {@link #rejectFromNowOn()}. */
    void acceptAgain() {
        rejecting = false;
        rejectSchedulesOnly = false;
    }

    /** Refuses schedule() (delayed work) but still takes execute(). */
    void rejectSchedulesFromNowOn() {
        rejectSchedulesOnly = true;
    }

    synchronized int pending() {
        return (int) queue.stream().filter(t -> !t.cancelled).count();
    }

    /** The due time of the earliest pending task, or null. */
    synchronized Instant nextDue() {
        return queue.stream().filter(t -> !t.cancelled).map(t -> t.due).min(Comparator.naturalOrder()).orElse(null);
    }

    /** Runs every task due now (tasks they add that are due now run too); bounded. */
    void runDue() {
        for (int i = 0; i < 10_000; i++) {
            Task t;
            synchronized (this) {
                t = queue.peek();
                if (t == null || t.due.isAfter(clock.instant())) {
                    return;
                }
                queue.poll();
                if (t.cancelled) {
                    continue;
                }
                ran++;
            }
            t.run();
        }
        throw new AssertionError("more than 10,000 tasks due at " + clock.instant() + ": a scheduling loop");
    }

    /** Moves the clock forward by {@code d}, running each task at its due time. */
    void advance(Duration d) {
        Instant target = clock.instant().plus(d);
        for (int i = 0; i < 100_000; i++) {
            runDue();
            Instant next = nextDue();
            if (next == null || next.isAfter(target)) {
                break;
            }
            clock.set(next.isBefore(clock.instant()) ? clock.instant() : next);
        }
        clock.set(target);
        runDue();
    }

    /** Moves the clock to {@code t} (forward only), running tasks on the way. */
    void advanceTo(Instant t) {
        if (t.isAfter(clock.instant())) {
            advance(Duration.between(clock.instant(), t));
        } else {
            runDue();
        }
    }

    synchronized int tasksRun() {
        return ran;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        if (rejecting || rejectSchedulesOnly) {
            throw new RejectedExecutionException("ManualScheduler is rejecting");
        }
        return add(command, clock.instant().plusNanos(unit.toNanos(Math.max(0, delay))));
    }

    @Override
    public void execute(Runnable command) {
        if (rejecting) {
            throw new RejectedExecutionException("ManualScheduler is rejecting");
        }
        add(command, clock.instant());
    }

    private synchronized Task add(Runnable r, Instant due) {
        Task t = new Task(r, due, seq.incrementAndGet());
        queue.add(t);
        return t;
    }

    private final class Task implements ScheduledFuture<Object> {
        final Runnable r;
        final Instant due;
        final long seq;
        volatile boolean cancelled;
        volatile boolean done;

        Task(Runnable r, Instant due, long seq) {
            this.r = r;
            this.due = due;
            this.seq = seq;
        }

        void run() {
            try {
                r.run();
            } finally {
                done = true;
            }
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(Duration.between(clock.instant(), due));
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (done) {
                return false;
            }
            cancelled = true;
            return true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done || cancelled;
        }

        @Override
        public Object get() {
            return null;
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            return null;
        }
    }

    // ---- not used by the manager

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void shutdown() {
        rejecting = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
        rejecting = true;
        return new ArrayList<>();
    }

    @Override
    public boolean isShutdown() {
        return rejecting;
    }

    @Override
    public boolean isTerminated() {
        return rejecting;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return true;
    }

    @Override
    public <T> Future<T> submit(Callable<T> task) {
        throw new UnsupportedOperationException();
    }

    @Override
    public <T> Future<T> submit(Runnable task, T result) {
        throw new UnsupportedOperationException();
    }

    @Override
    public Future<?> submit(Runnable task) {
        throw new UnsupportedOperationException();
    }

    @Override
    public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks) {
        throw new UnsupportedOperationException();
    }

    @Override
    public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public <T> T invokeAny(Collection<? extends Callable<T>> tasks) throws ExecutionException {
        throw new UnsupportedOperationException();
    }

    @Override
    public <T> T invokeAny(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        void set(Instant t) {
            now = t;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
