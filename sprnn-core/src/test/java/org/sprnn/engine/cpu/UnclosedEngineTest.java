package org.sprnn.engine.cpu;

// Engines that are never closed must not keep their worker threads (and with them the engines) forever:
// 200 dropped cpu engines of 4 threads were 600 live threads before WorkerPool stopped its threads
// through a Cleaner. Also checks what the Cleaner must not do: stop the pool of an engine still in use.

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.sprnn.engine.RnnOutput;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

class UnclosedEngineTest {
    private static final RnnModel MODEL = SyntheticModels.random(CellType.GRU, 8, 64, 1, 0.3, 1.0, 11);
    private static final Tensor INPUT = SyntheticModels.input(6, 2, 8, 12);

    /** Live worker threads of every cpu engine in this JVM. */
    private static Set<Thread> workerThreads() {
        Set<Thread> s = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("sprnn-cpu-worker-") && t.isAlive()) {
                s.add(t);
            }
        }
        return s;
    }

    /** Makes {@code n} engines of 4 threads, runs every other one once, and drops them all; returns their threads. */
    private static Set<Thread> makeAndDrop(int n) {
        Set<Thread> before = workerThreads();
        List<CpuEngine> engines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            CpuEngine e = new CpuEngine(MODEL, 4);
            if (i % 2 == 0) {
                e.run(INPUT, null, null); // a run's body references the engine: the pool must forget it
            }
            engines.add(e);
        }
        Set<Thread> ours = workerThreads();
        ours.removeAll(before);
        assertThat(ours).as("3 worker threads per engine (the caller is the 4th)").hasSize(3 * n);
        engines.clear();
        return ours;
    }

    @Test
    void droppedEnginesStopTheirThreadsAndAnEngineInUseKeepsItsOwn() throws Exception {
        Set<Thread> before = workerThreads();
        CpuEngine kept = new CpuEngine(MODEL, 4);
        Set<Thread> keptThreads = workerThreads();
        keptThreads.removeAll(before);
        assertThat(keptThreads).hasSize(3);
        RnnOutput expected = kept.run(INPUT, null, null);
        Set<Thread> dropped = makeAndDrop(200);

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        long alive = dropped.size();
        while (alive > 0 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(50);
            alive = dropped.stream().filter(Thread::isAlive).count();
        }
        assertThat(alive).as("worker threads of 200 dropped engines still alive after collection: %d of %d", alive, dropped.size())
                .isZero();

        assertThat(kept.run(INPUT, null, null).output().data()).as("the engine still referenced runs as before")
                .containsExactly(expected.output().data());
        assertThat(keptThreads).as("the kept engine's threads").allMatch(Thread::isAlive);
        kept.close();
        kept.close(); // idempotent
        for (Thread t : keptThreads) {
            t.join(10_000);
            assertThat(t.isAlive()).as(t.getName() + " after close()").isFalse();
        }
    }
}
