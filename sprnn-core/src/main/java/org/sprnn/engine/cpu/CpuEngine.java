package org.sprnn.engine.cpu;

import java.util.List;
import org.sprnn.SprnnException;
import org.sprnn.engine.Engine;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.model.CellType;
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
 *       runs as one sparse-times-dense product: for each W_ih nonzero {@code (r, c, v)} an axpy
 *       {@code P[r][t*B+b] += v * X[c][t*B+b]} over a tile of steps (the tile of X sized to stay in L2),
 *       which the JIT vectorises. W_ih is streamed once per tile instead of once per step.
 *   <li><b>Recurrence, step by step.</b> The hidden state is kept {@code [H][B]}, batch innermost, so a
 *       W_hh nonzero {@code (r, c, v)} fetches {@code h[c][0..B)} in one cache line and is reused B times.
 * </ol>
 * Work is split by hidden unit: worker w owns a contiguous range of units (balanced by their nonzeros)
 * and computes all G gate rows of those units (rows are packed unit-major, {@link UnitMajorCsr}), their
 * part of P, and their cell updates, so the only synchronisation is one barrier per step, after the new
 * state is written. The threads ({@link WorkerPool}) are made once per engine; buffers are made once
 * per (T, B) shape and reused, so a run allocates only its result tensors.
 *
 * <p>Accumulation is in float32 with the nonzeros of a row in column order; activations are evaluated in
 * double and rounded, so results agree with {@link CpuReferenceEngine} to about 1e-6 relative.
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
     * vectors. The layer inputs are stored block by block ({@code [blocks][I][BLOCK]}) so that one
     * block of X is contiguous.
     */
    static final int BLOCK = 64;

    static final int TILE_FLOATS = Integer.getInteger("sprnn.tile", 64);
    static final boolean PROFILE = Boolean.getBoolean("sprnn.profile");
    private final RnnModel model;
    private final CellType cell;
    private final int gates;
    private final int hidden;
    private final PackedLayer[] layers;
    private final WorkerPool pool;
    private final boolean vectorApi;

    /** One layer's weights in the engine's form, and which units each worker owns. */
    private record PackedLayer(UnitMajorCsr wIh, UnitMajorCsr wHh, float[] bIh, float[] bHh, int[] unitStart) {
    }

    // per-run buffers, grown to the largest (T, B) seen; only touched inside run()
    private int capSteps;
    private int capBatch;
    private int stride; // row stride of pre, whole blocks >= capSteps * capBatch (see rowStride)
    private float[] x0; // [blocks][I][BLOCK] the model input; column t*B + b is x0[(t*B+b)/BLOCK][i][(t*B+b)%BLOCK]
    private float[][] seq; // 2 x [blocks][H][BLOCK] layer outputs that feed the next layer, ping-pong
    private float[] pre; // [G*H][stride] input projections (+ b_ih), rows unit-major
    private float[][] state; // 2 x [H][B] hidden state, batch innermost; step t writes state[t & 1]
    private float[] cellState; // [H][B] LSTM cell state (each worker updates only its units)
    private float[][] acc; // per worker [G*B] recurrent dot products of one unit

    // the current run's arguments, published to the workers by WorkerPool.run
    private int steps;
    private int batch;
    private Tensor input;
    private Tensor h0;
    private Tensor c0;
    private double[] out; // [T][B][H]
    private double[] hN; // [L][B][H]
    private double[] cN; // [L][B][H] or null

    /**
     * Packs the model's weights and starts {@code threads - 1} worker threads.
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
            layers[k] = new PackedLayer(ih, hh, UnitMajorCsr.unitMajor(l.bIh(), gates, hidden),
                    UnitMajorCsr.unitMajor(l.bHh(), gates, hidden), balance(ih, hh, workers));
        }
        this.acc = new float[workers][];
        this.pool = new WorkerPool(workers, "sprnn-cpu");
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

    /** Bytes of weights streamed per pass over every layer's nonzeros (6 per nonzero, both matrices). */
    public long weightBytes() {
        long b = 0;
        for (PackedLayer l : layers) {
            b += l.wIh.streamedBytes() + l.wHh.streamedBytes();
        }
        return b;
    }

    @Override
    public synchronized RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        int b = RunInputs.check(model, input, h0, c0);
        int t = input.dim(0), layerCount = layers.length;
        ensureCapacity(t, b);
        this.steps = t;
        this.batch = b;
        this.input = input;
        this.h0 = h0;
        this.c0 = c0;
        this.out = new double[t * b * hidden];
        this.hN = new double[layerCount * b * hidden];
        this.cN = cell.hasCellState() ? new double[layerCount * b * hidden] : null;
        try {
            pool.run(this::work);
            int[] st = {layerCount, b, hidden};
            return new RnnOutput(new Tensor(new int[] {t, b, hidden}, out), new Tensor(st, hN),
                    cN == null ? null : new Tensor(st, cN));
        } finally {
            this.input = null;
            this.h0 = null;
            this.c0 = null;
            this.out = null;
            this.hN = null;
            this.cN = null;
        }
    }

    private void ensureCapacity(int t, int b) {
        if (t <= capSteps && b == capBatch) {
            return;
        }
        int blocks = (t * b + BLOCK - 1) / BLOCK;
        int rowStride = rowStride(blocks);
        long need = (long) Math.max(Math.max(model.inputSize(), hidden) * BLOCK, (long) gates * rowStride) * Math.max(blocks, hidden);
        if (need > Integer.MAX_VALUE - 16) {
            throw new SprnnException("input of " + t + " steps x batch " + b + " is too long for the cpu engine's buffers: split the sequence");
        }
        x0 = new float[blocks * model.inputSize() * BLOCK];
        seq = layers.length > 1 ? new float[][] {new float[blocks * hidden * BLOCK], new float[blocks * hidden * BLOCK]} : new float[2][0];
        pre = new float[gates * hidden * rowStride];
        state = new float[][] {new float[hidden * b], new float[hidden * b]};
        cellState = new float[hidden * b];
        for (int w = 0; w < acc.length; w++) {
            acc[w] = new float[gates * b];
        }
        capSteps = t;
        capBatch = b;
        stride = rowStride;
    }

    /**
     * Row stride of {@code pre}: whole blocks, plus 16 floats when that is a multiple of 256 floats
     * (1 KiB). A power-of-two stride (T*B = 1024 floats = 4 KiB) would map every row to the same L1
     * sets and evict, at every step, the lines of {@code pre} that the next three steps read; one extra
     * cache line per row spreads the rows over all sets.
     */
    static int rowStride(int blocks) {
        int n = blocks * BLOCK;
        return n % 256 == 0 ? n + 16 : n;
    }

    /** The whole run as seen by worker {@code w}; every worker executes it, meeting at barriers. */
    private void work(int w) {
        int workers = pool.size(), inSize = model.inputSize();
        long t0 = System.nanoTime();
        transposeInput(inSize * w / workers, inSize * (w + 1) / workers);
        if (PROFILE) System.err.printf("w%d transpose %.1f us/step%n", w, (System.nanoTime() - t0) / 1e3 / steps);
        for (int k = 0; k < layers.length; k++) {
            PackedLayer l = layers[k];
            int u0 = l.unitStart[w], u1 = l.unitStart[w + 1];
            initState(k, u0, u1);
            pool.await(); // the layer input and every unit's initial state are written
            long tA = System.nanoTime();
            project(l, k == 0 ? x0 : seq[(k - 1) & 1], u0, u1);
            long tB = System.nanoTime();
            boolean last = k == layers.length - 1;
            float[] a = acc[w];
            for (int t = 0; t < steps; t++) {
                step(l, t, u0, u1, a, last ? null : seq[k & 1]);
                pool.await(); // state[t & 1] complete
            }
            finalState(k, u0, u1);
            if (PROFILE) System.err.printf("w%d proj %.1f us/step, rec %.1f us/step%n", w, (tB - tA) / 1e3 / steps, (System.nanoTime() - tB) / 1e3 / steps);
        }
    }

    /**
     * The model input {@code [T][B][I]} double into x0 {@code [blocks][I][BLOCK]} float, for features
     * [i0, i1): writes run along a block's 64 columns, reads reuse each input line for 8 features.
     * Columns past T*B in the last block keep whatever they held; their projections are never read.
     */
    private void transposeInput(int i0, int i1) {
        double[] in = input.data();
        int inSize = model.inputSize(), cols = steps * batch;
        for (int c0 = 0; c0 < cols; c0 += BLOCK) {
            int n = Math.min(BLOCK, cols - c0), blockBase = (c0 / BLOCK) * inSize * BLOCK;
            for (int i = i0; i < i1; i++) {
                int dst = blockBase + i * BLOCK, src = c0 * inSize + i;
                for (int m = 0; m < n; m++) {
                    x0[dst + m] = (float) in[src + m * inSize];
                }
            }
        }
    }

    private void initState(int k, int u0, int u1) {
        float[] h = state[1]; // step 0 reads state[1]
        int base = k * batch * hidden;
        for (int u = u0; u < u1; u++) {
            for (int b = 0; b < batch; b++) {
                h[u * batch + b] = h0 == null ? 0f : (float) h0.data()[base + b * hidden + u];
                cellState[u * batch + b] = c0 == null ? 0f : (float) c0.data()[base + b * hidden + u];
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
     * {@code pre[r][t*B+b] = b_ih[r] + Σ W_ih[r][c] x[c][t*B+b]} for the rows of units [u0, u1), block
     * by block: a block of x ({@code [cols][BLOCK]}, contiguous, 590 KB at I = 2304) stays in L2 while
     * every row streams its nonzeros over it.
     *
     * @param x [blocks][cols][BLOCK] the layer input
     */
    private void project(PackedLayer l, float[] x, int u0, int u1) {
        UnitMajorCsr w = l.wIh;
        int[] ptr = w.rowPtr();
        char[] col = w.col();
        float[] val = w.val();
        float[] bias = l.bIh;
        int r0 = u0 * gates, r1 = u1 * gates, cols = w.cols(), tb = stride;
        int blocks = (steps * batch + BLOCK - 1) / BLOCK;
        for (int blk = 0; blk < blocks; blk++) {
            int xBase = blk * cols * BLOCK, off = blk * BLOCK;
            for (int r = r0; r < r1; r++) {
                if (vectorApi) {
                    VectorKernels.projectBlock(ptr[r], ptr[r + 1], col, val, bias[r], x, xBase, pre, r * tb + off);
                } else {
                    int d = r * tb + off;
                    java.util.Arrays.fill(pre, d, d + BLOCK, bias[r]);
                    for (int k = ptr[r], e = ptr[r + 1]; k < e; k++) {
                        axpy(pre, d, val[k], x, xBase + col[k] * BLOCK);
                    }
                }
            }
        }
    }

    /** {@code y[yOff + m] += a * x[xOff + m]} for one block. */
    private static void axpy(float[] y, int yOff, float a, float[] x, int xOff) {
        for (int m = 0; m < BLOCK; m++) {
            y[yOff + m] += a * x[xOff + m];
        }
    }

    /** One step for units [u0, u1): recurrent dot products, then the cell update. */
    private void step(PackedLayer l, int t, int u0, int u1, float[] a, float[] seqOut) {
        float[] hPrev = state[(t + 1) & 1], hNext = state[t & 1];
        UnitMajorCsr w = l.wHh;
        int[] ptr = w.rowPtr();
        char[] col = w.col();
        float[] val = w.val();
        int b = batch, g = gates, tb = stride;
        boolean vectorRowDot = vectorApi && VectorKernels.rowDotSupports(b);
        for (int u = u0; u < u1; u++) {
            for (int q = 0; q < g; q++) {
                int r = u * g + q;
                if (vectorRowDot) {
                    VectorKernels.rowDot(ptr[r], ptr[r + 1], col, val, hPrev, b, a, q * b);
                } else {
                    rowDot(w, r, hPrev, b, a, q * b);
                }
            }
            for (int n = 0; n < b; n++) {
                int c = t * b + n; // (step, batch) column
                float hv = cellUpdate(l, u, n, (u * g) * tb + c, tb, a, hPrev[u * b + n]);
                hNext[u * b + n] = hv;
                if (seqOut != null) {
                    seqOut[((c / BLOCK) * hidden + u) * BLOCK + c % BLOCK] = hv;
                } else {
                    out[c * hidden + u] = hv;
                }
            }
        }
    }

    /**
     * The cell update of unit u, batch element n; returns h'. Gate q's sums: {@code pre[pi + q*tb]} and
     * {@code a[q*B + n]}. Evaluated in double from the float sums and rounded once: in float, a
     * saturated gate ({@code z = sigmoid(14)}) would leave {@code 1 - z} with no correct digit.
     */
    private float cellUpdate(PackedLayer l, int u, int n, int pi, int tb, float[] a, float hOld) {
        int b = batch, r = u * gates;
        float[] bhh = l.bHh;
        switch (cell) {
            case RNN_RELU -> {
                return (float) Math.max(0.0, (double) pre[pi] + a[n] + bhh[r]);
            }
            case RNN_TANH -> {
                return (float) Math.tanh((double) pre[pi] + a[n] + bhh[r]);
            }
            case GRU -> {
                double rg = sigmoid((double) pre[pi] + a[n] + bhh[r]);
                double z = sigmoid((double) pre[pi + tb] + a[b + n] + bhh[r + 1]);
                double nn = Math.tanh(pre[pi + 2 * tb] + rg * ((double) a[2 * b + n] + bhh[r + 2]));
                return (float) ((1.0 - z) * nn + z * hOld);
            }
            case LSTM -> {
                double i = sigmoid((double) pre[pi] + a[n] + bhh[r]);
                double f = sigmoid((double) pre[pi + tb] + a[b + n] + bhh[r + 1]);
                double gg = Math.tanh((double) pre[pi + 2 * tb] + a[2 * b + n] + bhh[r + 2]);
                double o = sigmoid((double) pre[pi + 3 * tb] + a[3 * b + n] + bhh[r + 3]);
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

    /** {@code a[o + n] = Σ_k val[k] * h[col[k]*B + n]} over row r's nonzeros, for n in [0, B). */
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

    /** Stops the worker threads; idempotent. A closed engine refuses to run. */
    @Override
    public void close() {
        pool.close();
    }
}
