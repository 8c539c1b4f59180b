package org.sprnn.engine.cpu;

import org.sprnn.JvmSupport;
import org.sprnn.SprnnException;
import org.sprnn.engine.ComposedFeatures;
import org.sprnn.engine.Engine;
import org.sprnn.engine.FloatRnnOutput;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * The {@code cpu} engine: float32, multi-threaded, touching only the nonzeros of W_ih and W_hh.
 *
 * <p>The one idea: a pruned RNN step is bound by streaming its nonzeros, so every nonzero is loaded
 * once and used for as many products as possible. Per layer:
 * <ol>
 *   <li><b>Input projection, all steps at once.</b> {@code P = W_ih X + b_ih} is not recurrent, so it
 *       runs as one sparse-times-dense product over blocks of 64 (step, batch) columns: X is stored
 *       block by block ({@code [blocks][I][64]}, off-heap and 64-byte aligned so that every vector load
 *       of it is one cache line), one block (590 KB at I = 2304) stays in L2 while
 *       every W_ih row streams its nonzeros over it, and each nonzero feeds 64 products held in four
 *       vector registers ({@link VectorKernels#projectBlock}). W_ih is read once per block, not per step.
 *   <li><b>Recurrence, step by step.</b> The hidden state is kept {@code [H][B]}, batch innermost, so a
 *       W_hh nonzero {@code (r, c, v)} fetches {@code h[c][0..B)} with one load and is reused B times
 *       ({@link VectorKernels#rowDot}); then the cell update reads P for this step, which is stored
 *       time-major ({@code [T][G*H][B]}) so that it streams.
 * </ol>
 * Work is split by hidden unit: worker w owns a contiguous range of units (balanced by their nonzeros)
 * and computes all G gate rows of those units (rows are packed unit-major, {@link UnitMajorCsr}), their
 * part of P, and their cell updates, so the only synchronisation is one barrier per step, after the new
 * state is written (and one after the input projection). Within a step a worker claims its units in
 * chunks of 128 gate rows and, when its own are done, takes the other workers' unclaimed chunks
 ({@link CpuRun}): on a machine whose cores are shared with other processes, the slowed worker hands work
 * over instead of holding the other at the barrier. The threads ({@link WorkerPool}) are made once per engine
 * and stopped by {@link #close()} (or when the engine is collected unclosed); buffers are made once per
 * (T, B) shape and reused ({@link CpuWorkspace}), so a run allocates only its result tensors and the small
 * {@link CpuRun} that holds its arguments.
 *
 * <p>The parts: {@link CpuWeights} (the packed layers, immutable), {@link CpuWorkspace} (the per-run
 * buffers), {@link CpuRun} (one run's arguments and the body every worker executes), {@link CpuLayout} (the
 * buffer layouts and the copies between them and the caller's arrays), {@link CpuOverflow} (the float32
 * range checks), {@link VectorKernels} (the Vector API inner loops).
 *
 * <p>Two entry points: {@link #run} on float64 {@link Tensor}s (the input is converted to float32 while
 * it is transposed into X, the outputs back into a new {@code double[]}), and {@link #runFloat} on
 * {@link FloatTensor}s, which reads a float32 input as it is and writes the outputs into a buffer the
 * caller may reuse: the float32 path measured faster by a few percent of a step (results/cpu/README.md).
 * Either way the workers also test the input for NaN and infinity while they transpose it, in parallel,
 * instead of a serial scan before the run.
 *
 * <p>Dot products accumulate in float32; GRU, LSTM and tanh updates are evaluated in double from the
 * float sums and rounded once (the ReLU update, with the Vector API, in float32). Results agree with
 * {@link CpuReferenceEngine} to about 1e-7 relative for layers of 33 units or more.
 */
public final class CpuEngine implements Engine {
    public static final String NAME = "cpu";

    /**
     * Whether jdk.incubator.vector is in this JVM ({@code --add-modules jdk.incubator.vector}); if not,
     * the engine runs its scalar loops and never loads {@link VectorKernels}.
     */
    static final boolean VECTOR_API_PRESENT = JvmSupport.vectorApi();

    private final RnnModel model;
    private final int hidden;
    private final CpuWeights weights; // packed once, read by every run
    private final CpuWorkspace workspace; // written by every run; only inside the synchronized run methods
    private final WorkerPool pool;
    private final boolean vectorApi;
    private final int chunkUnits; // units per chunk of a step's work (128 gate rows by default), the unit a worker may take over

    /**
     * Packs the model's weights and starts {@code threads - 1} worker threads (fewer if the model has
     * fewer hidden units). Uses the Vector API if jdk.incubator.vector is in this JVM; if not, runs the
     * scalar loops and says so once per JVM ({@link JvmSupport#reportScalarFallback()}).
     *
     * @throws SprnnException if a matrix is wider than 65,536 columns (see {@link CpuEngineFactory})
     */
    public CpuEngine(RnnModel model, int threads) {
        this(model, threads, VECTOR_API_PRESENT);
        if (!VECTOR_API_PRESENT) {
            JvmSupport.reportScalarFallback();
        }
    }

    /**
     * As {@link #CpuEngine(RnnModel, int)}, choosing the inner loops: {@code vectorApi} needs the
     * jdk.incubator.vector module; {@code false} runs the scalar loops (for tests and measurements).
     */
    CpuEngine(RnnModel model, int threads, boolean vectorApi) {
        this(model, threads, vectorApi, Math.max(1, 128 / model.cell().gates()));
    }

    /**
     * As {@link #CpuEngine(RnnModel, int, boolean)} with {@code chunkUnits} hidden units per chunk of a
     * step's work, the unit a worker may take over from another (tests use 1, so that chunks change
     * hands all the time).
     */
    CpuEngine(RnnModel model, int threads, boolean vectorApi, int chunkUnits) {
        if (model.bidirectional()) {
            throw new SprnnException("cpu: a bidirectional model runs as a BidirectionalEngine of one engine per layer and direction (EngineProvider builds it)");
        }
        if (chunkUnits < 1) {
            throw new SprnnException("cpu engine: chunkUnits must be >= 1, got " + chunkUnits);
        }
        if (vectorApi && !VECTOR_API_PRESENT) {
            throw new SprnnException("cpu engine: the Vector API was requested but jdk.incubator.vector is not in this JVM (--add-modules jdk.incubator.vector)");
        }
        this.vectorApi = vectorApi;
        this.model = model;
        this.hidden = model.hiddenSize();
        this.chunkUnits = chunkUnits;
        int workers = Math.max(1, Math.min(threads, hidden));
        this.weights = new CpuWeights(model, workers, vectorApi);
        this.workspace = new CpuWorkspace(weights, workers, vectorApi);
        this.pool = new WorkerPool(workers, "sprnn-cpu", this);
    }

    /** Runs of fewer multiply-adds than this run on the caller's thread alone ({@link CpuRun#SOLO_MACS}). */
    private volatile long soloMacs = CpuRun.SOLO_MACS;

    /** Tests: 0 sends every run through the worker pool, Long.MAX_VALUE none. */
    void soloBelow(long macs) {
        this.soloMacs = macs;
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Whether the inner loops use the Vector API (jdk.incubator.vector present) or the scalar ones. */
    public boolean usesVectorApi() {
        return vectorApi;
    }

    /** Worker threads, the caller included. */
    public int threads() {
        return pool.size();
    }

    /**
     * Bytes of weights in one pass over every layer's nonzeros, W_ih and W_hh: 6 per nonzero (fp32 value +
     * 16-bit column index). The numerator of the memory floor.
     */
    public long weightBytes() {
        return weights.streamedBytes();
    }

    /** Lengths, in one run at the whole batch: a sequence's lanes freeze at its last step. */
    @Override
    public java.util.Set<org.sprnn.engine.EngineFeature> features() {
        return ComposedFeatures.ENGINE_FEATURES;
    }

    /** A session whose states live on the Java heap, checked now ({@link ComposedFeatures#session}). */
    @Override
    public org.sprnn.engine.Session openSession(int batch, Tensor h0, Tensor c0) {
        return ComposedFeatures.session(this, model, batch, h0, c0);
    }

    @Override
    public synchronized RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        return run(input, h0, c0, null);
    }

    /**
     * Sequences of different lengths in one run at the whole batch (not one per distinct length): from each
     * sequence's last step on, its lanes keep their states and output zeros, so the final states are those of its
     * last step; its padding is replaced by zeros before the run and never read.
     */
    @Override
    public synchronized RnnOutput run(Tensor input, Tensor h0, Tensor c0, org.sprnn.engine.SequenceLengths lengths) {
        int b = RunInputs.checkExceptInputValues(model, input, h0, c0);
        int t = input.dim(0);
        double[] x = input.data();
        int[] len = null;
        if (lengths != null) {
            lengths.check(b, t);
            if (!lengths.allEqual(t)) {
                len = lengths.values();
                x = x.clone();
                int in = input.dim(2);
                for (int n = 0; n < b; n++) {
                    for (int s = len[n]; s < t; s++) {
                        java.util.Arrays.fill(x, (s * b + n) * in, (s * b + n + 1) * in, 0.0);
                    }
                }
            }
        }
        double[] out;
        try {
            out = new double[t * b * hidden];
        } catch (OutOfMemoryError e) {
            throw org.sprnn.JvmSupport.heapTooSmall("the cpu engine's outputs [T][B][H] = [" + t + "][" + b + "][" + hidden + "]",
                    8L * t * b * hidden, "run the sequence in pieces");
        }
        CpuRun r = new CpuRun(weights, workspace, pool, vectorApi, chunkUnits, t, b, x, null,
                h0 == null ? null : h0.toFloats(), c0 == null ? null : c0.toFloats(), out, null, len, soloMacs);
        if (!execute(r)) {
            RunInputs.check(model, input, h0, c0, lengths);
            throw new SprnnException("input holds a non-finite value (found by the cpu engine while reading it)");
        }
        int[] st = {model.numLayers(), b, hidden};
        return new RnnOutput(new Tensor(new int[] {t, b, hidden}, out), Tensor.ofFloats(r.hN, st),
                r.cN == null ? null : Tensor.ofFloats(r.cN, st));
    }

    /**
     * The float32 run without float64 copies: the input is read as it is, and the outputs are written
     * straight into {@code output} (allocated here only where it is null), so that a caller who reuses
     * one output buffer makes a run allocate nothing larger than the final states.
     */
    @Override
    public synchronized FloatRnnOutput runFloat(FloatTensor input, FloatTensor h0, FloatTensor c0, FloatTensor output) {
        int b = RunInputs.checkExceptInputValues(model, input, h0, c0, output);
        int t = input.dim(0);
        FloatTensor out = output != null ? output : FloatTensor.zeros(t, b, hidden);
        CpuRun r = new CpuRun(weights, workspace, pool, vectorApi, chunkUnits, t, b, null, input.data(),
                h0 == null ? null : h0.data(), c0 == null ? null : c0.data(), null, out.data(), soloMacs);
        if (!execute(r)) {
            RunInputs.check(model, input, h0, c0, output);
            throw new SprnnException("input holds a non-finite value (found by the cpu engine while reading it)");
        }
        int[] st = {model.numLayers(), b, hidden};
        return new FloatRnnOutput(out, new FloatTensor(st, r.hN), r.cN == null ? null : new FloatTensor(st, r.cN));
    }

    /**
     * Runs every worker over {@code r}; leaves the final states in {@code r.hN} and {@code r.cN}.
     *
     * @return false if the input holds NaN or infinity (the workers test it while they transpose it, and
     *         then stop before the first layer; the caller reports it through {@link RunInputs#check})
     */
    private boolean execute(CpuRun r) {
        try {
            workspace.ensureCapacity(r.steps, r.batch); // a buffer left unmade is made again by the next run
        } catch (OutOfMemoryError e) {
            throw org.sprnn.JvmSupport.heapTooSmall("the cpu engine's buffers for " + r.steps + " steps at batch " + r.batch
                    + " (about [T][B][" + model.cell().gates() + "H] float32 a layer)", 4L * r.steps * r.batch * model.cell().gates() * hidden, "run the sequence in pieces");
        }
        workspace.overflow.reset();
        if (r.solo) {
            pool.runAlone(r); // the caller alone, as worker 0 over every unit: no hand-off, no barrier
        } else {
            pool.run(r);
        }
        if (workspace.anyNonFiniteInput()) {
            return false;
        }
        workspace.overflow.throwIfAny();
        return true;
    }

    /**
     * Stops the worker threads; idempotent. A closed engine refuses to run. An engine that is dropped
     * without close() stops its threads once the garbage collector finds it unreachable
     * ({@link WorkerPool}); its other memory is on the Java heap or in automatic arenas and goes with it.
     */
    @Override
    public void close() {
        pool.close();
    }
}
