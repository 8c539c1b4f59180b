package org.sprnn.engine.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.sprnn.SprnnException;
import org.sprnn.engine.Engine;
import org.sprnn.engine.Float32Range;
import org.sprnn.engine.FloatRnnOutput;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.Layer;
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
 * ({@link #stepChunks}; the projection likewise, by block and chunk, {@link #projectChunks}): on a
 * machine whose cores are shared with other processes, the slowed worker hands work over instead of
 * holding the other at the barrier. The threads ({@link WorkerPool}) are made once per engine and stopped by
 * {@link #close()} (or when the engine is collected unclosed); buffers are made once per (T, B) shape and
 * reused, so a run allocates only its result tensors.
 *
 * <p>Two entry points: {@link #run} on float64 {@link Tensor}s (the input is converted to float32 while
 * it is transposed into X, the outputs back into a new {@code double[]}), and {@link #runFloat} on
 * {@link FloatTensor}s, which reads a float32 input as it is and writes the outputs into a buffer the
 * caller may reuse: at hidden 2304, batch 4, 256 steps the float32 path saves 4-10 µs of a step
 * (results/cpu/README.md). Either way the workers also test the input for NaN and infinity while
 * they transpose it, in parallel, instead of a serial scan before the run.
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
    static final boolean VECTOR_API_PRESENT = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /**
     * (step, batch) columns per block of the input projection: 16 steps at batch 4, four AVX-512
     * vectors. Layer inputs are stored block by block ({@code [blocks][I][BLOCK]}) so that a block of X
     * is contiguous.
     */
    static final int BLOCK = 64;

    private final RnnModel model;
    private final CellType cell;
    private final int gates;
    private final int hidden;
    private final PackedLayer[] layers;
    private final WorkerPool pool;
    private final boolean vectorApi;

    /** One layer's weights in the engine's form, and which units each worker owns. */
    private record PackedLayer(UnitMajorCsr wIh, UnitMajorCsr wHh, char[] wHhOffsets4, float[] bIh, float[] bHh,
                               int[] unitStart, double maxAbsBHh) {
    }

    /**
     * W_hh's column indices times 4 ({@code [nnz]}, the offsets of {@code h[c][0]} at batch 4) for
     * {@link VectorKernels#rowDot4Offsets}, or null where the Vector API is off or {@code 4 * hidden}
     * does not fit 16 bits.
     */
    private static char[] offsetsTimes4(UnitMajorCsr hh, int hidden, boolean vectorApi) {
        if (!vectorApi || 4L * hidden > UnitMajorCsr.MAX_COLS) {
            return null;
        }
        char[] col = hh.col(), off = new char[col.length];
        for (int k = 0; k < col.length; k++) {
            off[k] = (char) (col[k] * 4);
        }
        return off;
    }

    // per-run buffers, grown to the largest (T, B) seen; only touched inside run()
    private int capSteps;
    private int capBatch;
    private MemorySegment x0; // [blocks][I][BLOCK] float, 64-byte aligned (alignedFloats): the model input; column c = t*B + b is x0[c / BLOCK][i][c % BLOCK]
    private MemorySegment[] seq; // 2 x [blocks][H][BLOCK] float, 64-byte aligned: layer outputs that feed the next layer, ping-pong
    private float[] pre; // [T][G*H][B] input projections + b_ih, rows unit-major, batch innermost
    private float[][] state; // 2 x [H][B] hidden state, batch innermost; step t writes state[t & 1]
    private float[] outHistory; // [T][H][B] the last layer's h of every step, float; converted to out after the last step
    private float[] cellState; // [H][B] LSTM cell state (each worker updates only its units)
    private float[] gateSums; // [G*H][B] W_hh h of the current step, rows unit-major (each worker writes its rows)
    private float[][] hhBiasByElement; // per layer [H][B] b_hh[u] repeated B times (single-gate cells), so the update runs over [u][b] as one flat loop
    private final int chunkUnits; // units per chunk of a step's work (128 gate rows by default), the unit a worker may take over
    private final AtomicIntegerArray claims; // [3][workers] x 16: per use (step parity 0/1, projection) and worker, the next chunk of its units to claim
    private final boolean[] nonFiniteInput; // [workers] whether worker w found NaN/Inf in its features of the input (this run)
    private final int[][] overflowAt; // [workers] {layer, step, batch element, stage (0 input projection, 1 recurrent product, 2 hidden state), gate row (PyTorch's order) or unit} of the first value worker w found beyond float32 in this run, in that order, or null
    private final double[] overflowValue; // [workers] that value
    private float[][] inputRows; // per worker [BLOCK][its features of the model input]: one block's input rows, float32, which transposeInput transposes into x0 (Vector API only)
    private float[][][] blockOut; // per worker 2 x [BLOCK] one or two rows' projections of one block, before they go to pre

    // the current run's arguments, published to the workers by WorkerPool.run
    private int steps;
    private int batch;
    private boolean reluWritesOutput; // the last layer's ReLU update writes the output [T][B][H] from the new state (no outHistory, no writeOutput)
    private double[] inputDoubles; // [T][B][I] the caller's input of run(), or null
    private float[] inputFloats; // [T][B][I] the caller's input of runFloat(), or null
    private float[] h0; // [L][B][H] initial hidden states (float32), or null for zeros
    private float[] c0; // [L][B][H] initial cell states (float32), or null for zeros
    private double[] outDoubles; // [T][B][H] run()'s output, or null
    private float[] outFloats; // [T][B][H] runFloat()'s output, or null
    private float[] hN; // [L][B][H]
    private float[] cN; // [L][B][H] or null

    /**
     * Packs the model's weights and starts {@code threads - 1} worker threads (fewer if the model has
     * fewer hidden units). Uses the Vector API if jdk.incubator.vector is in this JVM.
     *
     * @throws SprnnException if a matrix is wider than 65,536 columns (see {@link CpuEngineFactory})
     */
    public CpuEngine(RnnModel model, int threads) {
        this(model, threads, VECTOR_API_PRESENT);
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
        if (chunkUnits < 1) {
            throw new SprnnException("cpu engine: chunkUnits must be >= 1, got " + chunkUnits);
        }
        if (vectorApi && !VECTOR_API_PRESENT) {
            throw new SprnnException("cpu engine: the Vector API was requested but jdk.incubator.vector is not in this JVM (--add-modules jdk.incubator.vector)");
        }
        this.vectorApi = vectorApi;
        this.model = model;
        this.cell = model.cell();
        this.gates = cell.gates();
        this.hidden = model.hiddenSize();
        if (model.inputSize() > UnitMajorCsr.MAX_COLS || hidden > UnitMajorCsr.MAX_COLS) {
            throw new SprnnException("cpu engine: input size " + model.inputSize() + " or hidden size " + hidden
                    + " exceeds " + UnitMajorCsr.MAX_COLS + " (16-bit column indices)");
        }
        int workers = Math.max(1, Math.min(threads, hidden));
        List<Layer> ls = model.layers();
        this.layers = new PackedLayer[ls.size()];
        for (int k = 0; k < ls.size(); k++) {
            Layer l = ls.get(k);
            UnitMajorCsr ih = UnitMajorCsr.pack(l.wIh(), gates, hidden);
            UnitMajorCsr hh = UnitMajorCsr.pack(l.wHh(), gates, hidden);
            layers[k] = new PackedLayer(ih, hh, offsetsTimes4(hh, hidden, vectorApi), UnitMajorCsr.unitMajor(l.bIh(), gates, hidden),
                    UnitMajorCsr.unitMajor(l.bHh(), gates, hidden), balance(ih, hh, workers), maxAbs(l.bHh().data()));
        }
        this.blockOut = new float[workers][2][BLOCK];
        this.nonFiniteInput = new boolean[workers];
        this.overflowAt = new int[workers][];
        this.overflowValue = new double[workers];
        this.chunkUnits = chunkUnits;
        this.claims = new AtomicIntegerArray(3 * workers * 16);
        this.pool = new WorkerPool(workers, "sprnn-cpu", this);
    }

    /** Splits units into {@code workers} contiguous ranges of about equal nonzeros (both matrices). */
    private int[] balance(UnitMajorCsr ih, UnitMajorCsr hh, int workers) {
        long total = (long) ih.nnz() + hh.nnz() + hidden; // + 1 per unit for the cell update
        int[] start = new int[workers + 1];
        long sum = 0;
        int w = 1;
        for (int u = 0; u < hidden && w < workers; u++) {
            sum += ih.unitNnz(u, gates) + hh.unitNnz(u, gates) + 1;
            while (w < workers && sum * workers >= total * w) {
                start[w++] = u + 1;
            }
        }
        while (w < workers) {
            start[w++] = hidden;
        }
        start[workers] = hidden;
        return start;
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
        long b = 0;
        for (PackedLayer l : layers) {
            b += l.wIh.streamedBytes() + l.wHh.streamedBytes();
        }
        return b;
    }

    @Override
    public synchronized RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        int b = RunInputs.checkExceptInputValues(model, input, h0, c0);
        int t = input.dim(0);
        double[] out = new double[t * b * hidden];
        try {
            this.inputDoubles = input.data();
            this.outDoubles = out;
            if (!execute(t, b, h0 == null ? null : h0.toFloats(), c0 == null ? null : c0.toFloats())) {
                RunInputs.check(model, input, h0, c0);
                throw new SprnnException("input holds a non-finite value (found by the cpu engine while reading it)");
            }
            int[] st = {layers.length, b, hidden};
            return new RnnOutput(new Tensor(new int[] {t, b, hidden}, out), Tensor.ofFloats(hN, st),
                    cN == null ? null : Tensor.ofFloats(cN, st));
        } finally {
            this.inputDoubles = null;
            this.outDoubles = null;
        }
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
        try {
            this.inputFloats = input.data();
            this.outFloats = out.data();
            if (!execute(t, b, h0 == null ? null : h0.data(), c0 == null ? null : c0.data())) {
                RunInputs.check(model, input, h0, c0, output);
                throw new SprnnException("input holds a non-finite value (found by the cpu engine while reading it)");
            }
            int[] st = {layers.length, b, hidden};
            return new FloatRnnOutput(out, new FloatTensor(st, hN), cN == null ? null : new FloatTensor(st, cN));
        } finally {
            this.inputFloats = null;
            this.outFloats = null;
        }
    }

    /**
     * Runs every worker over the current run's arguments; leaves the final states in hN and cN.
     *
     * @return false if the input holds NaN or infinity (the workers test it while they transpose it, and
     *         then stop before the first layer; the caller reports it through {@link RunInputs#check})
     */
    private boolean execute(int t, int b, float[] h0, float[] c0) {
        ensureCapacity(t, b);
        this.steps = t;
        this.batch = b;
        this.reluWritesOutput = cell == CellType.RNN_RELU && vectorApi;
        this.h0 = h0;
        this.c0 = c0;
        this.hN = new float[layers.length * b * hidden];
        this.cN = cell.hasCellState() ? new float[layers.length * b * hidden] : null;
        Arrays.fill(overflowAt, null);
        try {
            pool.run(this::work);
        } finally {
            this.h0 = null;
            this.c0 = null;
        }
        if (anyNonFiniteInput()) {
            return false;
        }
        throwIfOverflow();
        return true;
    }

    /**
     * Throws the {@link Float32Range} overflow error for the first value float32 cannot hold in the order
     * (layer, step, batch element, input projection before state, row or unit), as {@code cpu-reference}
     * names it.
     */
    private void throwIfOverflow() {
        int first = -1;
        for (int w = 0; w < overflowAt.length; w++) {
            int[] a = overflowAt[w];
            if (a != null && (first < 0 || Arrays.compare(a, overflowAt[first]) < 0)) {
                first = w;
            }
        }
        if (first >= 0) {
            int[] a = overflowAt[first];
            String what = switch (a[3]) {
                case 0 -> Float32Range.INPUT_PROJECTION;
                case 1 -> Float32Range.RECURRENT_PRODUCT;
                default -> Float32Range.HIDDEN_STATE;
            };
            throw Float32Range.overflow(what, a[0], a[1], a[2], a[4], overflowValue[first]);
        }
    }

    /** Whether a worker found NaN or infinity in its part of the input; valid after the first barrier. */
    private boolean anyNonFiniteInput() {
        for (boolean bad : nonFiniteInput) {
            if (bad) {
                return true;
            }
        }
        return false;
    }

    private void ensureCapacity(int t, int b) {
        if (vectorApi && inputRows == null) {
            int workers = pool.size();
            inputRows = new float[workers][BLOCK * ((model.inputSize() + workers - 1) / workers)];
        }
        if (t <= capSteps && b == capBatch) {
            return;
        }
        int blocks = (t * b + BLOCK - 1) / BLOCK;
        long widest = Math.max((long) blocks * Math.max(model.inputSize(), hidden) * BLOCK, (long) t * gates * hidden * b);
        if (widest > Integer.MAX_VALUE - 16) {
            throw new SprnnException("input of " + t + " steps x batch " + b + " is too long for the cpu engine's buffers: split the sequence");
        }
        x0 = alignedFloats((long) blocks * model.inputSize() * BLOCK);
        seq = layers.length > 1 ? new MemorySegment[] {alignedFloats((long) blocks * hidden * BLOCK), alignedFloats((long) blocks * hidden * BLOCK)}
                : new MemorySegment[2];
        pre = new float[t * gates * hidden * b];
        state = new float[][] {new float[hidden * b], new float[hidden * b]};
        outHistory = new float[t * hidden * b];
        cellState = new float[hidden * b];
        gateSums = new float[gates * hidden * b];
        hhBiasByElement = new float[layers.length][];
        if (gates == 1) {
            for (int k = 0; k < layers.length; k++) {
                float[] e = new float[hidden * b];
                for (int i = 0; i < e.length; i++) {
                    e[i] = layers[k].bHh[i / b];
                }
                hhBiasByElement[k] = e;
            }
        }
        capSteps = t;
        capBatch = b;
    }

    /**
     * A zeroed buffer of {@code n} floats starting on a 64-byte boundary, off the Java heap (freed by the
     * garbage collector once unreachable), for the layer inputs X that the input projection reads in
     * whole 64-byte lines. Why not a {@code float[]}: an array's elements start 16 bytes past its
     * header, so a large array (which G1 places at the start of a region) has every 64-byte load of X
     * straddle two cache lines, and a small one is aligned or not depending on where the collector put
     * it; with straddling loads the projection took 63 instead of 49 µs of a step (2 threads, hidden
     * 2304, batch 4, results/cpu/README.md). The state {@code h} stays a {@code float[]}: its 16-byte
     * loads straddle a line only when the array sits 8 bytes off a 16-byte boundary (about 4% of the
     * recurrent loop), and reading it from a segment cost more than that.
     */
    private static MemorySegment alignedFloats(long n) {
        return Arena.ofAuto().allocate(n * Float.BYTES, 64);
    }

    /** The whole run as seen by worker {@code w}; every worker executes it, meeting at barriers. */
    private void work(int w) {
        int workers = pool.size(), inSize = model.inputSize();
        nonFiniteInput[w] = !transposeInput(w, inSize * w / workers, inSize * (w + 1) / workers);
        for (int k = 0; k < layers.length; k++) {
            PackedLayer l = layers[k];
            int u0 = l.unitStart[w], u1 = l.unitStart[w + 1];
            initState(k, u0, u1);
            claims.set(claimSlot(2, w), 0);
            pool.await(); // the layer input and every unit's initial state are written
            if (k == 0 && anyNonFiniteInput()) {
                return; // every worker sees the same flags after the barrier and leaves here
            }
            MemorySegment x = k == 0 ? x0 : seq[(k - 1) & 1];
            if (workers == 1) {
                project(l, x, u0, u1, blockOut[w]);
            } else {
                projectChunks(k, x, w);
            }
            boolean last = k == layers.length - 1;
            MemorySegment seqOut = last ? null : seq[k & 1];
            if (workers > 1) {
                claims.set(claimSlot(0, w), 0);
                claims.set(claimSlot(1, w), 0);
                pool.await(); // every unit's projections are written: a chunk may run on any worker
            }
            if (overflowAt[w] == null || overflowAt[w][0] == k) {
                findProjectionOverflow(k, u0, u1, w);
            }
            for (int t = 0; t < steps; t++) {
                if (workers == 1) {
                    step(k, t, u0, u1, seqOut, w);
                } else {
                    stepChunks(k, t, w, seqOut);
                }
                pool.await(); // state[t & 1] complete
            }
            if (overflowAt[w] == null || overflowAt[w][0] == k) {
                findOverflow(k, seqOut, u0, u1, w);
            }
            finalState(k, u0, u1);
            if (k + 1 < layers.length) {
                // the next layer's partition of units can differ: nobody may overwrite state[1] or
                // cellState with layer k+1's initial state while another worker still copies layer k's out
                pool.await();
            }
            if (last && !reluWritesOutput) {
                writeOutput(u0, u1);
            }
        }
    }

    /**
     * Index in {@link #claims} of worker w's counter, one cache line apart: {@code use} 0 and 1 for the
     * steps of that parity, 2 for the input projection.
     */
    private int claimSlot(int use, int w) {
        return (use * pool.size() + w) * 16;
    }

    /**
     * The input projection as seen by worker w: tasks of one 64-column block times one chunk of units,
     * block by block, its own first (so that its blocks of X stay in its L2 across its chunks), then the
     * other workers' unclaimed tasks, as in {@link #stepChunks}.
     */
    private void projectChunks(int k, MemorySegment x, int w) {
        int workers = pool.size(), blocks = (steps * batch + BLOCK - 1) / BLOCK;
        PackedLayer l = layers[k];
        for (int i = 0; i < workers; i++) {
            int v = (w + i) % workers, slot = claimSlot(2, v);
            int u0 = l.unitStart[v], u1 = l.unitStart[v + 1], width = chunkUnits;
            int chunks = (u1 - u0 + width - 1) / width;
            for (int task; (task = claims.getAndIncrement(slot)) < blocks * chunks; ) {
                int cu0 = u0 + (task % chunks) * width, block = task / chunks;
                projectBlockRows(l, x, block * BLOCK, cu0 * gates, Math.min(u1, cu0 + width) * gates, blockOut[w]);
            }
        }
    }

    /**
     * Step t as seen by worker w: first the chunks of its own units, claimed one at a time from its
     * counter, then whatever chunks of the other workers' units are still unclaimed. On a machine whose
     * cores are shared, a worker slowed by another process loses chunks to the other instead of making
     * it wait at the barrier; on a quiet machine each worker mostly runs its own chunks, in order.
     * Resets its counter for step t + 1 (nobody claims from it during step t).
     */
    private void stepChunks(int k, int t, int w, MemorySegment seqOut) {
        int workers = pool.size(), parity = t & 1;
        claims.set(claimSlot(parity ^ 1, w), 0);
        for (int i = 0; i < workers; i++) {
            int v = (w + i) % workers, slot = claimSlot(parity, v);
            int u0 = layers[k].unitStart[v], u1 = layers[k].unitStart[v + 1], width = chunkUnits;
            int chunks = (u1 - u0 + width - 1) / width;
            for (int c; (c = claims.getAndIncrement(slot)) < chunks; ) {
                int cu0 = u0 + c * width;
                step(k, t, cu0, Math.min(u1, cu0 + width), seqOut, w);
            }
        }
    }

    /**
     * The last layer's outputs of units [u0, u1), from {@code outHistory [T][H][B]} float into
     * the run's output {@code [T][B][H]} (double or float). Done once after the last step rather than inside it: written per
     * step, the four batch rows of {@code out} are four strided streams into a freshly allocated array,
     * which measured about 30 µs per step (2 threads, hidden 2304, batch 4); here each (step, batch)
     * row segment is written in one sequential run.
     */
    private void writeOutput(int u0, int u1) {
        int b = batch, hb = hidden * b;
        float[] hist = outHistory;
        double[] od = outDoubles;
        float[] of = outFloats;
        for (int t = 0; t < steps; t++) {
            for (int n = 0; n < b; n++) {
                int dst = (t * b + n) * hidden, src = t * hb + n;
                if (of != null) {
                    for (int u = u0; u < u1; u++) {
                        of[dst + u] = hist[src + u * b];
                    }
                } else {
                    for (int u = u0; u < u1; u++) {
                        od[dst + u] = hist[src + u * b];
                    }
                }
            }
        }
    }

    /**
     * The model input {@code [T][B][I]} (the double or the float array of the run) into x0
     * {@code [blocks][I][BLOCK]} float, for features [i0, i1), block by block; writes run along a block's
     * 64 columns, reads reuse each input line for several features (measured faster here than tiles of
     * 64 columns × 16 features). Columns past T*B in the last block keep whatever they held; their
     * projections are never read.
     *
     * <p>Also tests those input values for NaN and infinity, which {@link RunInputs#checkExceptInputValues}
     * left to the engine, in the same pass: with the Vector API each row of the block (this worker's
     * features) is first copied into {@code inputRows[w]}, rounded to float32 and tested in one vector
     * loop ({@link VectorKernels#toFloats}), and the transposition reads that compact copy; for a float64
     * input this took 170-175 instead of 178-182 µs off a whole step (2 threads, hidden 2304, batch 4,
     * 256 steps), where the transposition had read and rounded each double twice from the input. The
     * scalar path tests each row, then transposes from the input.
     *
     * @return whether every value read was finite
     */
    private boolean transposeInput(int w, int i0, int i1) {
        double[] ind = inputDoubles;
        float[] inf = inputFloats;
        int inSize = model.inputSize(), cols = steps * batch, width = i1 - i0;
        boolean finite = true;
        for (int c0 = 0; c0 < cols; c0 += BLOCK) {
            int n = Math.min(BLOCK, cols - c0), blockBase = (c0 / BLOCK) * inSize * BLOCK;
            if (vectorApi) {
                float[] rows = inputRows[w]; // [n][width]
                for (int m = 0; m < n; m++) {
                    int from = (c0 + m) * inSize + i0;
                    finite &= inf != null ? VectorKernels.toFloats(inf, from, width, rows, m * width)
                            : VectorKernels.toFloats(ind, from, width, rows, m * width);
                }
                for (int i = i0; i < i1; i++) {
                    int dst = blockBase + i * BLOCK, src = i - i0;
                    for (int m = 0; m < n; m++) {
                        x0.setAtIndex(ValueLayout.JAVA_FLOAT, dst + m, rows[src + m * width]);
                    }
                }
                continue;
            }
            for (int m = 0; m < n; m++) {
                int from = (c0 + m) * inSize + i0;
                finite &= inf != null ? allFinite(inf, from, width) : allFinite(ind, from, width);
            }
            for (int i = i0; i < i1; i++) {
                int dst = blockBase + i * BLOCK, src = c0 * inSize + i;
                if (inf != null) {
                    for (int m = 0; m < n; m++) {
                        x0.setAtIndex(ValueLayout.JAVA_FLOAT, dst + m, inf[src + m * inSize]);
                    }
                } else {
                    for (int m = 0; m < n; m++) {
                        x0.setAtIndex(ValueLayout.JAVA_FLOAT, dst + m, (float) ind[src + m * inSize]);
                    }
                }
            }
        }
        return finite;
    }

    /** Whether {@code x[from, from + n)} holds no NaN or infinity (the scalar path). */
    private static boolean allFinite(float[] x, int from, int n) {
        float zeros = 0f; // x - x is 0 for every finite x and NaN otherwise
        for (int i = from, e = from + n; i < e; i++) {
            zeros += x[i] - x[i];
        }
        return zeros == 0f;
    }

    /** Whether {@code x[from, from + n)} holds no NaN or infinity (the scalar path). */
    /** Whether every value rounds to a finite float32 (1e300 does not). */
    private static boolean allFinite(double[] x, int from, int n) {
        float zeros = 0;
        for (int i = from, e = from + n; i < e; i++) {
            float f = (float) x[i];
            zeros += f - f;
        }
        return zeros == 0f;
    }

    /**
     * Looks for a NaN or infinite state (an overflow, {@link Float32Range}) among layer k's outputs of units
     * [u0, u1), every step, where the layer left them: the next layer's input {@code seqOut}, the run's
     * output (ReLU with the Vector API), or {@code outHistory}; records the earliest (step, batch element,
     * unit) in {@link #overflowAt}, stopping at the first step that has one.
     */
    private void findOverflow(int k, MemorySegment seqOut, int u0, int u1, int w) {
        int b = batch, n = u1 - u0;
        if (n <= 0) {
            return;
        }
        if (seqOut != null) { // [blocks][H][BLOCK]: column c = t*B + e of unit u at ((c / BLOCK) * H + u) * BLOCK + c % BLOCK
            for (int c0 = 0, cols = steps * b; c0 < cols; c0 += BLOCK) {
                int first = Math.min(BLOCK, cols - c0), unit = -1;
                float value = 0;
                for (int u = u0; u < u1; u++) { // the lowest column of the block, then the lowest unit
                    long base = ((long) (c0 / BLOCK) * hidden + u) * BLOCK;
                    for (int m = 0; m < first; m++) {
                        float v = seqOut.getAtIndex(ValueLayout.JAVA_FLOAT, base + m);
                        if (!(Math.abs(v) <= Float.MAX_VALUE)) {
                            first = m;
                            unit = u;
                            value = v;
                            break;
                        }
                    }
                }
                if (unit >= 0) {
                    record(w, k, (c0 + first) / b, (c0 + first) % b, unit, value);
                    return;
                }
            }
            return;
        }
        for (int t = 0; t < steps; t++) {
            for (int e = 0; e < b; e++) {
                if (reluWritesOutput) { // the run's output [T][B][H]
                    int o = (t * b + e) * hidden + u0;
                    int at = outFloats != null ? Float32Range.firstNonFinite(outFloats, o, n) : firstNonFinite(outDoubles, o, n);
                    if (at >= 0) {
                        record(w, k, t, e, u0 + at - o, outFloats != null ? outFloats[at] : (float) outDoubles[at]);
                        return;
                    }
                } else { // outHistory [T][H][B]: a step's units of one batch element are B apart
                    for (int u = u0; u < u1; u++) {
                        float v = outHistory[t * hidden * b + u * b + e];
                        if (!(Math.abs(v) <= Float.MAX_VALUE)) {
                            record(w, k, t, e, u, v);
                            return;
                        }
                    }
                }
            }
        }
    }

    /**
     * Looks for a NaN or infinite input projection ({@code pre}, W_ih x + b_ih, float32) among layer k's rows
     * of units [u0, u1), every step; records the earliest step's, lowest batch element's, lowest row's
     * (in PyTorch's gate order) in {@link #overflowAt}.
     */
    private void findProjectionOverflow(int k, int u0, int u1, int w) {
        int b = batch, gh = gates * hidden, r0 = u0 * gates, n = (u1 - u0) * gates * b;
        for (int t = 0; t < steps; t++) {
            int from = (t * gh + r0) * b;
            if (Float32Range.firstNonFinite(pre, from, n) < 0) {
                continue;
            }
            int bestRow = Integer.MAX_VALUE, bestBatch = Integer.MAX_VALUE;
            float value = 0;
            for (int i = from; i < from + n; i++) {
                if (!(Math.abs(pre[i]) <= Float.MAX_VALUE)) {
                    int r = (i - t * gh * b) / b, e = i % b, row = (r % gates) * hidden + r / gates; // unit-major row to PyTorch's
                    if (e < bestBatch || e == bestBatch && row < bestRow) {
                        bestBatch = e;
                        bestRow = row;
                        value = pre[i];
                    }
                }
            }
            record(w, new int[] {k, t, bestBatch, 0, bestRow}, value);
            return;
        }
    }

    /**
     * Whether no recurrent product {@code W_hh h + b_hh} of {@code gateSums[from, from + n)} can leave float32's
     * range: their largest magnitude plus the layer's largest bias is within it (NaN fails the test).
     */
    private static boolean recurrentInRange(float[] sums, int from, int n, double maxAbsBias) {
        float widest = 0f;
        for (int i = from, e = from + n; i < e; i++) {
            widest = Math.max(widest, Math.abs(sums[i]));
        }
        return widest + maxAbsBias <= Float.MAX_VALUE;
    }

    /**
     * Records the first recurrent product {@code W_hh h + b_hh} (summed in float64, as the cell update does)
     * that float32 cannot hold among gate rows [r0, r1) (unit-major) at step t, by batch element, then row
     * in PyTorch's order.
     */
    private void findRecurrentOverflow(int k, int t, int r0, int r1, int w) {
        int b = batch;
        float[] bhh = layers[k].bHh;
        int bestRow = Integer.MAX_VALUE, bestBatch = Integer.MAX_VALUE;
        double value = 0;
        for (int r = r0; r < r1; r++) {
            for (int e = 0; e < b; e++) {
                double v = (double) gateSums[r * b + e] + bhh[r];
                int row = (r % gates) * hidden + r / gates; // unit-major row to PyTorch's
                if (!Float32Range.holds(v) && (e < bestBatch || e == bestBatch && row < bestRow)) {
                    bestBatch = e;
                    bestRow = row;
                    value = v;
                }
            }
        }
        if (bestBatch != Integer.MAX_VALUE) {
            record(w, new int[] {k, t, bestBatch, 1, bestRow}, value);
        }
    }

    private static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** Keeps {@code at} as worker w's first overflow if it comes before the one it has. */
    private void record(int w, int[] at, double value) {
        if (overflowAt[w] == null || Arrays.compare(at, overflowAt[w]) < 0) {
            overflowAt[w] = at;
            overflowValue[w] = value;
        }
    }

    private void record(int w, int layer, int step, int batchElement, int unit, float value) {
        record(w, new int[] {layer, step, batchElement, 2, unit}, value);
    }

    private static int firstNonFinite(double[] a, int from, int n) {
        for (int i = from, e = from + n; i < e; i++) {
            if (!(Math.abs(a[i]) <= Float.MAX_VALUE)) {
                return i;
            }
        }
        return -1;
    }

    private void initState(int k, int u0, int u1) {
        float[] h = state[1]; // step 0 reads state[1]
        int base = k * batch * hidden;
        for (int u = u0; u < u1; u++) {
            for (int b = 0; b < batch; b++) {
                h[u * batch + b] = h0 == null ? 0f : h0[base + b * hidden + u];
                cellState[u * batch + b] = c0 == null ? 0f : c0[base + b * hidden + u];
            }
        }
    }

    private void finalState(int k, int u0, int u1) {
        float[] h = state[(steps - 1) & 1];
        int base = k * batch * hidden;
        for (int u = u0; u < u1; u++) {
            for (int b = 0; b < batch; b++) {
                hN[base + b * hidden + u] = h[u * batch + b];
                if (cN != null) {
                    cN[base + b * hidden + u] = cellState[u * batch + b];
                }
            }
        }
    }

    /**
     * {@code pre[t][r][b] = b_ih[r] + Σ W_ih[r][c] x[c][t*B+b]} for the rows of units [u0, u1), block by
     * block: a block of x ({@code [cols][BLOCK]}, contiguous) stays in L2 while every row streams its
     * nonzeros over it; each row's 64 sums go to {@code scratch}, then to their (step, batch) places.
     *
     * @param x       [blocks][cols][BLOCK] float the layer input
     * @param scratch 2 x [BLOCK] this worker's
     */
    private void project(PackedLayer l, MemorySegment x, int u0, int u1, float[][] scratch) {
        for (int c0 = 0, len = steps * batch; c0 < len; c0 += BLOCK) {
            projectBlockRows(l, x, c0, u0 * gates, u1 * gates, scratch);
        }
    }

    /** {@link #project}'s work for one block (columns from {@code c0} on) and rows [r0, r1). */
    private void projectBlockRows(PackedLayer l, MemorySegment x, int c0, int r0, int r1, float[][] scratch) {
        UnitMajorCsr w = l.wIh;
        int[] ptr = w.rowPtr();
        char[] col = w.col();
        float[] val = w.val();
        float[] bias = l.bIh;
        int cols = w.cols(), b = batch, stepStride = gates * hidden * b;
        int len = steps * b;
        boolean pairs = vectorApi && VectorKernels.projectPairSupported();
        float[] scratchA = scratch[0], scratchB = scratch[1];
        long xBase = (long) (c0 / BLOCK) * cols * BLOCK;
        int n = Math.min(BLOCK, len - c0);
        int t0 = c0 / b, n0 = c0 % b;
        for (int r = r0; r < r1; r++) {
            if (pairs && r + 1 < r1) {
                VectorKernels.projectPair(ptr[r], ptr[r + 1], bias[r], ptr[r + 1], ptr[r + 2], bias[r + 1], col, val,
                        x, xBase, scratchA, scratchB);
                scatter(scratchA, r, n, t0, n0, stepStride);
                r++;
                scatter(scratchB, r, n, t0, n0, stepStride);
                continue;
            }
            if (vectorApi) {
                VectorKernels.projectBlock(ptr[r], ptr[r + 1], col, val, bias[r], x, xBase, scratchA);
            } else {
                java.util.Arrays.fill(scratchA, bias[r]);
                for (int k = ptr[r], e = ptr[r + 1]; k < e; k++) {
                    axpy(scratchA, val[k], x, xBase + col[k] * BLOCK);
                }
            }
            scatter(scratchA, r, n, t0, n0, stepStride);
        }
    }

    /** Copies row r's sums of one block (columns from step t0, batch element n0 on) to {@code pre[t][r][b]}. */
    private void scatter(float[] sums, int r, int n, int t0, int n0, int stepStride) {
        int b = batch;
        if (b == 4 && n == BLOCK && vectorApi) { // a whole block at batch 4: 16 steps of 4 sums, n0 = 0
            VectorKernels.scatterSteps4(sums, pre, t0 * stepStride + r * 4, stepStride);
            return;
        }
        for (int m = 0, t = t0, nb = n0; m < n; m++) {
            pre[t * stepStride + r * b + nb] = sums[m];
            if (++nb == b) {
                nb = 0;
                t++;
            }
        }
    }

    /** {@code y[m] += a * x[xOff + m]} for one block. */
    private static void axpy(float[] y, float a, MemorySegment x, long xOff) {
        for (int m = 0; m < BLOCK; m++) {
            y[m] += a * x.getAtIndex(ValueLayout.JAVA_FLOAT, xOff + m);
        }
    }

    /**
     * One step for units [u0, u1): first every W_hh row of those units against the state (one tight
     * loop over the nonzeros), then the cell updates, which read the sums back from {@code gateSums}.
     */
    private void step(int k, int t, int u0, int u1, MemorySegment seqOut, int worker) {
        PackedLayer l = layers[k];
        float[] hPrev = state[(t + 1) & 1], hNext = state[t & 1], a = gateSums;
        UnitMajorCsr w = l.wHh;
        int[] ptr = w.rowPtr();
        char[] col = w.col();
        float[] val = w.val();
        int b = batch, g = gates;
        int r0 = u0 * g, r1 = u1 * g;
        if (b == 4 && l.wHhOffsets4 != null) {
            char[] off = l.wHhOffsets4;
            for (int r = r0; r < r1; r++) {
                VectorKernels.rowDot4Offsets(ptr[r], ptr[r + 1], off, val, hPrev, a, r * 4);
            }
        } else if (vectorApi && VectorKernels.rowDotSupports(b)) {
            for (int r = r0; r < r1; r++) {
                VectorKernels.rowDot(ptr[r], ptr[r + 1], col, val, hPrev, b, a, r * b);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                rowDot(w, r, hPrev, b, a, r * b);
            }
        }
        if (!recurrentInRange(a, r0 * b, (r1 - r0) * b, l.maxAbsBHh)) {
            findRecurrentOverflow(k, t, r0, r1, worker);
        }
        int preStep = t * g * hidden * b;
        if (seqOut == null && g == 1) {
            singleGateUpdate(hhBiasByElement[k], preStep, u0, u1, hNext, t * hidden * b);
            return;
        }
        for (int u = u0; u < u1; u++) {
            for (int n = 0; n < b; n++) {
                int c = t * b + n; // (step, batch) column
                float hv = cellUpdate(l, u, n, preStep, hPrev[u * b + n]);
                hNext[u * b + n] = hv;
                if (seqOut != null) {
                    seqOut.setAtIndex(ValueLayout.JAVA_FLOAT, ((long) (c / BLOCK) * hidden + u) * BLOCK + c % BLOCK, hv);
                } else {
                    outHistory[t * hidden * b + u * b + n] = hv;
                }
            }
        }
    }

    /**
     * The ReLU / tanh cell update of units [u0, u1) as one flat loop over their {@code [u][b]} elements
     * (G = 1, so element i of {@code pre}, {@code gateSums}, the state and {@code bias} is unit
     * {@code i / B}), writing the new state and the last layer's {@code outHistory}. Flat and
     * contiguous so that the ReLU update runs as one Vector API loop ({@link VectorKernels#reluUpdate});
     * the scalar per-unit loop took about 9 µs of a step (2 threads, hidden 2304, batch 4), about 2 ns
     * per element.
     *
     * <p>With the Vector API ({@link #reluWritesOutput}), the step's outputs are copied from the new
     * state (in L1) straight into the run's output {@code [T][B][H]} instead of going through
     * {@code outHistory}, which saves {@link #writeOutput}'s pass over the whole sequence.
     *
     * @param bias [H][B] b_hh per element ({@link #hhBiasByElement})
     */
    private void singleGateUpdate(float[] bias, int preStep, int u0, int u1, float[] hNext, int histStep) {
        int b = batch, e = u1 * b;
        float[] p = pre, a = gateSums, hist = outHistory;
        if (reluWritesOutput) {
            VectorKernels.reluUpdate(p, preStep, a, bias, u0 * b, e, hNext);
            float[] of = outFloats; // [T][B][H] (float or double); step t's rows start at histStep = t*B*H
            double[] od = outDoubles;
            if (b == 4 && VectorKernels.copyBatch4Supported()) {
                if (of != null) {
                    VectorKernels.copyBatch4(hNext, u0, u1, of, histStep, hidden);
                } else {
                    VectorKernels.copyBatch4(hNext, u0, u1, od, histStep, hidden);
                }
                return;
            }
            for (int n = 0; n < b; n++) {
                int o = histStep + n * hidden;
                if (of != null) {
                    for (int u = u0; u < u1; u++) {
                        of[o + u] = hNext[u * b + n];
                    }
                } else {
                    for (int u = u0; u < u1; u++) {
                        od[o + u] = hNext[u * b + n];
                    }
                }
            }
        } else if (cell == CellType.RNN_RELU && vectorApi) {
            VectorKernels.reluUpdate(p, preStep, a, bias, u0 * b, e, hNext, hist, histStep);
        } else if (cell == CellType.RNN_RELU) {
            for (int i = u0 * b; i < e; i++) {
                float hv = (float) Math.max(0.0, (double) p[preStep + i] + a[i] + bias[i]);
                hNext[i] = hv;
                hist[histStep + i] = hv;
            }
        } else {
            for (int i = u0 * b; i < e; i++) {
                float hv = (float) Math.tanh((double) p[preStep + i] + a[i] + bias[i]);
                hNext[i] = hv;
                hist[histStep + i] = hv;
            }
        }
    }

    /**
     * The cell update of unit u, batch element n; returns h'. Gate q's sums are
     * {@code pre[preStep + i]} and {@code gateSums[i]} with {@code i = (u*G + q)*B + n}. Evaluated in double
     * from the float sums and rounded once: in float, a saturated gate ({@code z = sigmoid(14)}) would
     * leave {@code 1 - z} with no correct digit.
     */
    private float cellUpdate(PackedLayer l, int u, int n, int preStep, float hOld) {
        int b = batch, r = u * gates, i0 = r * b + n, p0 = preStep + i0;
        float[] bhh = l.bHh, a = gateSums, p = pre;
        switch (cell) {
            case RNN_RELU -> {
                return (float) Math.max(0.0, (double) p[p0] + a[i0] + bhh[r]);
            }
            case RNN_TANH -> {
                return (float) Math.tanh((double) p[p0] + a[i0] + bhh[r]);
            }
            case GRU -> {
                double rg = sigmoid((double) p[p0] + a[i0] + bhh[r]);
                double z = sigmoid((double) p[p0 + b] + a[i0 + b] + bhh[r + 1]);
                double nn = Math.tanh(p[p0 + 2 * b] + rg * ((double) a[i0 + 2 * b] + bhh[r + 2]));
                return (float) ((1.0 - z) * nn + z * hOld);
            }
            case LSTM -> {
                double i = sigmoid((double) p[p0] + a[i0] + bhh[r]);
                double f = sigmoid((double) p[p0 + b] + a[i0 + b] + bhh[r + 1]);
                double gg = Math.tanh((double) p[p0 + 2 * b] + a[i0 + 2 * b] + bhh[r + 2]);
                double o = sigmoid((double) p[p0 + 3 * b] + a[i0 + 3 * b] + bhh[r + 3]);
                int ci = u * b + n;
                double c = f * cellState[ci] + i * gg;
                cellState[ci] = (float) c;
                return (float) (o * Math.tanh(c));
            }
            default -> throw new IllegalStateException("unhandled cell " + cell);
        }
    }

    private static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }

    /** {@code a[o + n] = Σ_k val[k] * h[col[k]*B + n]} over row r's nonzeros, for n in [0, B): the scalar loops. */
    static void rowDot(UnitMajorCsr w, int r, float[] h, int b, float[] a, int o) {
        int[] ptr = w.rowPtr();
        char[] col = w.col();
        float[] val = w.val();
        int k = ptr[r], e = ptr[r + 1];
        switch (b) {
            case 1 -> {
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                for (; k + 3 < e; k += 4) {
                    s0 += val[k] * h[col[k]];
                    s1 += val[k + 1] * h[col[k + 1]];
                    s2 += val[k + 2] * h[col[k + 2]];
                    s3 += val[k + 3] * h[col[k + 3]];
                }
                for (; k < e; k++) {
                    s0 += val[k] * h[col[k]];
                }
                a[o] = (s0 + s1) + (s2 + s3);
            }
            case 4 -> {
                float p0 = 0, p1 = 0, p2 = 0, p3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
                for (; k + 1 < e; k += 2) {
                    float v = val[k], v2 = val[k + 1];
                    int c = col[k] << 2, c2 = col[k + 1] << 2;
                    p0 += v * h[c];
                    p1 += v * h[c + 1];
                    p2 += v * h[c + 2];
                    p3 += v * h[c + 3];
                    q0 += v2 * h[c2];
                    q1 += v2 * h[c2 + 1];
                    q2 += v2 * h[c2 + 2];
                    q3 += v2 * h[c2 + 3];
                }
                if (k < e) {
                    float v = val[k];
                    int c = col[k] << 2;
                    p0 += v * h[c];
                    p1 += v * h[c + 1];
                    p2 += v * h[c + 2];
                    p3 += v * h[c + 3];
                }
                a[o] = p0 + q0;
                a[o + 1] = p1 + q1;
                a[o + 2] = p2 + q2;
                a[o + 3] = p3 + q3;
            }
            default -> {
                for (int n = 0; n < b; n++) {
                    a[o + n] = 0f;
                }
                for (; k < e; k++) {
                    float v = val[k];
                    int c = col[k] * b;
                    for (int n = 0; n < b; n++) {
                        a[o + n] += v * h[c + n];
                    }
                }
            }
        }
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
