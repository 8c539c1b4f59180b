package org.sprnn.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import org.sprnn.SprnnException;
import org.sprnn.check.FullCheckJobs.Job;
import org.sprnn.check.FullCheckJobs.ModelKey;
import org.sprnn.check.FullCheckJobs.Shape;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.Plan;
import org.sprnn.sparse.CsrMatrix;

/**
 * Why this file exists: {@code kernel-check --full} is fast because the CPU work runs beside the GPU. This is the
 * check's memory of that work: models (drawn once, by the first thread that asks), plans (one pool task per model,
 * options and batch, refusals included) and float64 references (pool tasks, queued in GPU order), each dropped once
 * the last job that needs it has run, and the thread pool they run on.
 */
final class FullCheckState implements AutoCloseable {
    /** A batch's plans (one per layer) or why it is refused. */
    record Planned(List<Plan> plans, String refusal) {
    }

    /** Inputs and the float64 reference of one shape. */
    record Reference(Tensor x, Tensor h0, Tensor c0, RnnOutput want) {
    }

    final DeviceLimits limits;
    final ExecutorService pool;
    // models and their W_hh in CSR are made by the first thread that asks (inline, never queued behind the
    // tasks waiting for them); plans and references are pool tasks
    final Map<ModelKey, FutureTask<RnnModel>> models = new ConcurrentHashMap<>();
    final Map<ModelKey, FutureTask<List<CsrMatrix>>> rows = new ConcurrentHashMap<>();
    final Map<String, Future<Planned>> plans = new ConcurrentHashMap<>();
    final Map<Shape, Future<Reference>> refs = new ConcurrentHashMap<>();
    final Map<Shape, Integer> shapeUses = new ConcurrentHashMap<>();   // runs left per shape: its reference is dropped at 0
    final Map<ModelKey, Integer> modelUses = new ConcurrentHashMap<>(); // jobs left per model: dropped at 0

    FullCheckState(DeviceLimits limits) {
        this.limits = limits;
        int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
        pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "kernel-check-worker");
            t.setDaemon(true);
            return t;
        });
    }

    Future<RnnModel> model(ModelKey k) {
        return inline(models, k, () -> k.unequalRows()
                ? SyntheticModels.randomUnequalRows(k.cell(), FullCheckJobs.INPUT, k.hidden(), k.layers(), k.density(), 1.0, k.seed())
                : SyntheticModels.random(k.cell(), FullCheckJobs.INPUT, k.hidden(), k.layers(), k.density(), 1.0, k.seed()));
    }

    Future<List<CsrMatrix>> rows(ModelKey k) {
        return inline(rows, k, () -> get(model(k)).layers().stream().map(l -> CsrMatrix.of(l.wHh())).toList());
    }

    /** The memoized value of {@code key}, computed by the calling thread if no thread has started it. */
    static <K, V> Future<V> inline(Map<K, FutureTask<V>> memo, K key, java.util.concurrent.Callable<V> make) {
        FutureTask<V> mine = new FutureTask<>(make);
        FutureTask<V> f = memo.putIfAbsent(key, mine);
        if (f == null) {
            mine.run();
            return mine;
        }
        return f;
    }

    static String planKey(Job j, int batch) {
        return j.model() + "|" + j.options() + "|" + batch;
    }

    Future<Planned> plan(Job j, int batch) {
        return plans.computeIfAbsent(planKey(j, batch), key -> pool.submit(() -> {
            try {
                List<CsrMatrix> rs = get(rows(j.model()));
                List<Plan> ps = new ArrayList<>();
                for (int k = 0; k < rs.size(); k++) {
                    Plan p = Plan.of(rs.get(k), j.model().cell(), batch, limits, j.options());
                    if (!p.fits()) {
                        return new Planned(null, EngineTesting.refusal(k, p, batch));
                    }
                    ps.add(p);
                }
                return new Planned(ps, null);
            } catch (RuntimeException e) { // reported as the row's failure (no capacity numbers), not fatal
                return new Planned(null, "planning failed: " + FullCheckReport.oneLine(e));
            }
        }));
    }

    Future<Reference> reference(Shape s) {
        return refs.computeIfAbsent(s, key -> pool.submit(() -> {
            RnnModel m = get(model(key.model()));
            long seed = key.model().seed() * 31 + key.batch() * 1009L + key.steps();
            int layers = m.numLayers(), h = m.hiddenSize();
            Tensor x = SyntheticModels.input(key.steps(), key.batch(), m.inputSize(), seed + 1);
            Tensor h0 = SyntheticModels.state(layers, key.batch(), h, seed + 2);
            Tensor c0 = m.cell().hasCellState() ? SyntheticModels.state(layers, key.batch(), h, seed + 3) : null;
            return new Reference(x, h0, c0, Fp16Range.reference(m, x, h0, c0)); // null: beyond float32's range
        }));
    }

    /** One run of {@code s} is done: its reference is dropped once no later job runs the shape. */
    void shapeDone(Shape s) {
        if (shapeUses.merge(s, -1, Integer::sum) <= 0) {
            refs.remove(s); // its output may be large: kept only while a later job runs the shape
        }
    }

    /** One job of {@code m} is done: the model is dropped once no later job uses it. */
    void modelDone(ModelKey m) {
        if (modelUses.merge(m, -1, Integer::sum) <= 0) {
            models.remove(m);
        }
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }

    static <T> T get(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SprnnException("kernel-check: interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new SprnnException("kernel-check: " + c);
        }
    }
}
