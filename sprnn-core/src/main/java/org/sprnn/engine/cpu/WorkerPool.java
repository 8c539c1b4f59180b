package org.sprnn.engine.cpu;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.sprnn.SprnnException;

/**
 * A fixed team of threads that runs one SPMD body per call, with a barrier the body calls between
 * phases (one per timestep in the {@code cpu} engine).
 *
 * <p>Why not an {@code ExecutorService}: a sequence of 256 steps needs 256 hand-offs, and futures,
 * lambdas and lock-based barriers would allocate and park on every one. Here the threads are made once,
 * the calling thread is worker 0, and {@link #await()} spins for a few tens of microseconds (a step's
 * usual imbalance) before it parks, so that on a machine shared with other processes a waiting worker
 * gives its core back instead of burning it.
 *
 * <p>A body that throws breaks the barrier: every other worker leaves its wait, {@link #run} rethrows
 * the first failure, and the pool refuses further work.
 *
 * <p>The pool belongs to an owner (the engine) and stops its threads when the owner is closed, or, if
 * the owner is never closed, once the owner has become unreachable (a {@link Cleaner}). For that the
 * threads and the cleaning action reference the pool and never the owner, and the pool forgets each
 * run's body (which does reference the owner) when the run ends.
 */
final class WorkerPool implements AutoCloseable {
    /** What every worker runs; {@code worker} is 0 (the caller) .. size-1. */
    interface Body {
        void run(int worker);
    }

    /** Spin this long at a barrier or for a job before parking. */
    private static final long SPIN_NANOS = 50_000;

    /** Stops the pools of owners that were dropped without close(); one daemon thread for all pools. */
    private static final Cleaner CLEANER = Cleaner.create();

    private final int size;
    private final Thread[] members; // [size]; members[0] is the thread currently inside run()
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int phase;
    private volatile int job; // incremented once per run(); workers wait for it to move
    private volatile Body body; // the current run's; null between runs (it holds the owner)
    private volatile Throwable failure;
    private volatile boolean closed;
    private final Cleaner.Cleanable cleanable; // runs stop() once: at close() or when the owner is unreachable

    /**
     * Starts {@code size - 1} daemon threads named {@code name-worker-N}, stopped by {@link #close()} or
     * when {@code owner} becomes unreachable.
     */
    WorkerPool(int size, String name, Object owner) {
        if (size < 1) {
            throw new SprnnException("--threads: must be >= 1, got " + size);
        }
        this.size = size;
        this.members = new Thread[size];
        for (int w = 1; w < size; w++) {
            int id = w;
            Thread t = new Thread(() -> workerLoop(id), name + "-worker-" + w);
            t.setDaemon(true);
            members[w] = t;
        }
        for (int w = 1; w < size; w++) {
            members[w].start();
        }
        this.cleanable = CLEANER.register(owner, this::stop); // the action holds the pool, not the owner
    }

    /** Number of workers, the caller included. */
    int size() {
        return size;
    }

    /**
     * Runs {@code b} as worker 0 alone on the calling thread, waking no other worker ({@code b} must not wait at
     * {@link #await()}): for runs too small to repay the hand-off.
     *
     * @throws SprnnException if the pool is closed or broken by an earlier failure
     */
    synchronized void runAlone(Body b) {
        checkUsable();
        b.run(0);
    }

    private void checkUsable() {
        if (closed) {
            throw new SprnnException("cpu engine: used after close()");
        }
        if (failure != null) {
            throw new SprnnException("cpu engine: a worker failed in an earlier run: " + failure, failure);
        }
    }

    /**
     * Runs {@code b} on every worker (the caller as worker 0) and returns when all have finished.
     *
     * @throws SprnnException if the pool is closed, broken by an earlier failure, or a worker fails now
     */
    synchronized void run(Body b) {
        checkUsable();
        members[0] = Thread.currentThread();
        body = b;
        job = job + 1;
        for (int w = 1; w < size; w++) {
            LockSupport.unpark(members[w]);
        }
        execute(0, b);
        // every worker has read the body and passed the run's last barrier, unless a failure broke it
        // (then a worker not yet started sees null and skips the run)
        body = null;
        members[0] = null;
        if (failure != null) {
            throw new SprnnException("cpu engine: worker failed: " + failure, failure);
        }
    }

    private void execute(int worker, Body b) {
        try {
            b.run(worker);
            await();
        } catch (BrokenBarrier e) {
            // another worker failed; run() reports it
        } catch (Throwable t) {
            breakBarrier(t);
        }
    }

    private void workerLoop(int id) {
        int seen = 0;
        while (true) {
            long start = System.nanoTime();
            int spins = 0;
            while (job == seen && !closed) {
                if (++spins < 1024 || System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (closed) {
                return;
            }
            seen = job;
            Body b = body; // null only for a worker late to a run that another worker's failure ended
            if (b != null) {
                execute(id, b);
            }
        }
    }

    /** Thrown at a barrier that another worker broke. */
    private static final class BrokenBarrier extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BrokenBarrier() {
            super(null, null, false, false);
        }
    }

    /**
     * Waits until every worker has called {@code await} for this phase. Memory written before the call
     * by any worker is visible to every worker after it.
     */
    void await() {
        int p = phase;
        if (arrived.incrementAndGet() == size) {
            arrived.set(0);
            phase = p + 1;
            Thread self = Thread.currentThread();
            for (Thread t : members) {
                if (t != self) {
                    LockSupport.unpark(t);
                }
            }
            return;
        }
        long start = System.nanoTime();
        int spins = 0;
        while (phase == p) {
            if (failure != null) {
                throw new BrokenBarrier();
            }
            if (++spins < 1024 || System.nanoTime() - start < SPIN_NANOS) {
                Thread.onSpinWait();
            } else {
                LockSupport.park(this);
            }
        }
    }

    private void breakBarrier(Throwable t) {
        synchronized (members) {
            if (failure == null) {
                failure = t;
            }
        }
        for (Thread m : members) {
            if (m != null && m != Thread.currentThread()) {
                LockSupport.unpark(m);
            }
        }
    }

    /** Stops the worker threads; idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }

    /** The cleaning action: wakes every worker to see {@code closed} and leave (once, from clean()). */
    private synchronized void stop() {
        closed = true;
        for (int w = 1; w < size; w++) {
            LockSupport.unpark(members[w]);
        }
    }
}
