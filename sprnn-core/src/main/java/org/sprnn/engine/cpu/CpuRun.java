// CpuRun.java — one run of the cpu engine: its arguments, fixed when the run starts, and the SPMD body that
// every worker executes over them (transpose, input projection, steps, cell updates), meeting at barriers.
package org.sprnn.engine.cpu;

import static org.sprnn.engine.cpu.CpuLayout.BLOCK;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.sprnn.model.CellType;

/**
 * One call of {@link CpuEngine#run} or {@link CpuEngine#runFloat}, as every worker sees it. Its fields are
 * the run's arguments and results and never change during the run; what changes is in the engine's
 * {@link CpuWorkspace} (each worker writes its units' part) and the caller's output array. A run is made by
 * the engine, handed to its {@link WorkerPool}, and dropped when the pool returns.
 *
 * <p>Per layer, each worker projects the input of its units (all steps at once), then steps: the W_hh rows
 * of its units against the state, then their cell updates. Within a step a worker claims its units in
 * chunks and, when its own are done, takes the other workers' unclaimed chunks ({@link #stepChunks}; the
 * projection likewise, by block and chunk, {@link #projectChunks}).
 */
final class CpuRun implements WorkerPool.Body {
    private final CpuWeights.PackedLayer[] layers;
    private final CellType cell;
    private final int gates;
    private final int hidden;
    private final int inputSize;
    final CpuWorkspace ws;
    private final WorkerPool pool;
    private final boolean vectorApi;
    private final int chunkUnits; // units per chunk of a step's work, the unit a worker may take over

    final int steps;
    final int batch;
    final boolean reluWritesOutput; // the last layer's ReLU update writes the output [T][B][H] from the new state (no outHistory, no writeOutput)
    private final double[] inputDoubles; // [T][B][I] the caller's input of run(), or null
    private final float[] inputFloats; // [T][B][I] the caller's input of runFloat(), or null
    private final float[] h0; // [L][B][H] initial hidden states (float32), or null for zeros
    private final float[] c0; // [L][B][H] initial cell states (float32), or null for zeros
    final double[] outDoubles; // [T][B][H] run()'s output, or null
    final float[] outFloats; // [T][B][H] runFloat()'s output, or null
    final float[] hN; // [L][B][H] final hidden states, made here
    final float[] cN; // [L][B][H] final cell states, made here, or null
    private final int[] lengths; // [B] each sequence's length (PyTorch's packed sequences), or null: every one T steps
    private final int shortest; // the least of lengths (steps before it freeze nobody), or T
    /**
     * Whether the caller's thread runs the whole run alone, as worker 0 over every unit, with no barrier: for runs
     * too small to repay waking the other workers and meeting them at a barrier each step (a one-step call of a
     * streaming session at batch 1 cost 5x a step of a whole sequence through the pool). Decided by the engine.
     */
    final boolean solo;

    /** A run of {@code steps} steps at batch {@code batch}; exactly one of each pair (input, output) is not null. */
    CpuRun(CpuWeights weights, CpuWorkspace ws, WorkerPool pool, boolean vectorApi, int chunkUnits, int steps, int batch,
           double[] inputDoubles, float[] inputFloats, float[] h0, float[] c0, double[] outDoubles, float[] outFloats, long soloMacs) {
        this(weights, ws, pool, vectorApi, chunkUnits, steps, batch, inputDoubles, inputFloats, h0, c0, outDoubles, outFloats, null, soloMacs);
    }

    /**
     * As above, sequence {@code n} lasting {@code lengths[n]} steps: from its last step on its states stay frozen
     * (so the final states are those of that step) and its outputs are zero. The caller zeroes the input's padding,
     * so that what the projection reads there is finite; the recurrent sums of frozen sequences are zeroed before
     * the overflow test, which so sees only real steps.
     */
    CpuRun(CpuWeights weights, CpuWorkspace ws, WorkerPool pool, boolean vectorApi, int chunkUnits, int steps, int batch,
           double[] inputDoubles, float[] inputFloats, float[] h0, float[] c0, double[] outDoubles, float[] outFloats, int[] lengths,
           long soloMacs) {
        this.layers = weights.layers;
        this.cell = weights.cell;
        this.gates = weights.gates;
        this.hidden = weights.hidden;
        this.inputSize = weights.inputSize;
        this.ws = ws;
        this.pool = pool;
        this.vectorApi = vectorApi;
        this.chunkUnits = chunkUnits;
        this.steps = steps;
        this.batch = batch;
        this.reluWritesOutput = cell == CellType.RNN_RELU && vectorApi;
        this.inputDoubles = inputDoubles;
        this.inputFloats = inputFloats;
        this.h0 = h0;
        this.c0 = c0;
        this.outDoubles = outDoubles;
        this.outFloats = outFloats;
        this.hN = new float[layers.length * batch * hidden];
        this.cN = cell.hasCellState() ? new float[layers.length * batch * hidden] : null;
        this.lengths = lengths;
        this.shortest = lengths == null ? steps : java.util.Arrays.stream(lengths).min().orElse(steps);
        this.solo = pool.size() > 1 && (long) steps * batch * weights.macsPerColumn() < soloMacs;
    }

    /**
     * Below this many multiply-adds (steps × batch × nonzeros of every layer's W_ih and W_hh) a run is {@link #solo}:
     * about a millisecond of one core's vector work, against a hand-off and a barrier per step that cost tens to
     * hundreds of µs each on a shared machine.
     */
    static final long SOLO_MACS = 1L << 22;

    /** Meets the other workers, except in a solo run (there are none). */
    private void barrier() {
        if (!solo) {
            pool.await();
        }
    }

    /** The whole run as seen by worker {@code w}; every worker executes it, meeting at barriers. */
    @Override
    public void run(int w) {
        int workers = solo ? 1 : pool.size();
        CpuOverflow overflow = ws.overflow;
        if (solo) {
            // every worker's share of the features, one share at a time (the scratch rows hold one share)
            Arrays.fill(ws.nonFiniteInput, false);
            int shares = pool.size();
            for (int v = 0; v < shares; v++) {
                ws.nonFiniteInput[0] |= !CpuLayout.transposeInput(inputDoubles, inputFloats, inputSize, steps * batch,
                        inputSize * v / shares, inputSize * (v + 1) / shares, ws.x0, vectorApi, vectorApi ? ws.inputRows[0] : null);
            }
        } else {
            ws.nonFiniteInput[w] = !CpuLayout.transposeInput(inputDoubles, inputFloats, inputSize, steps * batch,
                    inputSize * w / workers, inputSize * (w + 1) / workers, ws.x0, vectorApi, vectorApi ? ws.inputRows[w] : null);
        }
        for (int k = 0; k < layers.length; k++) {
            CpuWeights.PackedLayer l = layers[k];
            int u0 = l.unitStart()[w], u1 = solo ? l.unitStart()[l.unitStart().length - 1] : l.unitStart()[w + 1];
            CpuLayout.loadState(h0, c0, k * batch * hidden, batch, hidden, u0, u1, ws.state[1], ws.cellState); // step 0 reads state[1]
            ws.claims.set(ws.claimSlot(2, w), 0);
            barrier(); // the layer input and every unit's initial state are written
            if (k == 0 && ws.anyNonFiniteInput()) {
                return; // every worker sees the same flags after the barrier and leaves here
            }
            MemorySegment x = k == 0 ? ws.x0 : ws.seq[(k - 1) & 1];
            if (workers == 1) {
                project(l, x, u0, u1, ws.blockOut[w]);
            } else {
                projectChunks(k, x, w);
            }
            boolean last = k == layers.length - 1;
            MemorySegment seqOut = last ? null : ws.seq[k & 1];
            if (workers > 1) {
                ws.claims.set(ws.claimSlot(0, w), 0);
                ws.claims.set(ws.claimSlot(1, w), 0);
                barrier(); // every unit's projections are written: a chunk may run on any worker
            }
            if (overflow.scans(w, k)) {
                overflow.findProjectionOverflow(this, k, u0, u1, w);
            }
            for (int t = 0; t < steps; t++) {
                if (workers == 1) {
                    step(k, t, u0, u1, seqOut, w);
                } else {
                    stepChunks(k, t, w, seqOut);
                }
                barrier(); // state[t & 1] complete
            }
            if (overflow.scans(w, k)) {
                overflow.findStateOverflow(this, k, seqOut, u0, u1, w);
            }
            CpuLayout.storeState(ws.state[(steps - 1) & 1], ws.cellState, k * batch * hidden, batch, hidden, u0, u1, hN, cN);
            if (k + 1 < layers.length) {
                // the next layer's partition of units can differ: nobody may overwrite state[1] or
                // cellState with layer k+1's initial state while another worker still copies layer k's out
                barrier();
            }
            if (last && !reluWritesOutput) {
                CpuLayout.writeOutput(ws.outHistory, steps, batch, hidden, u0, u1, outFloats, outDoubles);
            }
        }
    }

    /**
     * The input projection as seen by worker w: tasks of one 64-column block times one chunk of units,
     * block by block, its own first (so that its blocks of X stay in its L2 across its chunks), then the
     * other workers' unclaimed tasks, as in {@link #stepChunks}.
     */
    private void projectChunks(int k, MemorySegment x, int w) {
        int workers = pool.size(), blocks = (steps * batch + BLOCK - 1) / BLOCK;
        CpuWeights.PackedLayer l = layers[k];
        for (int i = 0; i < workers; i++) {
            int v = (w + i) % workers, slot = ws.claimSlot(2, v);
            int u0 = l.unitStart()[v], u1 = l.unitStart()[v + 1], width = chunkUnits;
            int chunks = (u1 - u0 + width - 1) / width;
            for (int task; (task = ws.claims.getAndIncrement(slot)) < blocks * chunks; ) {
                int cu0 = u0 + (task % chunks) * width, block = task / chunks;
                projectBlockRows(l, x, block * BLOCK, cu0 * gates, Math.min(u1, cu0 + width) * gates, ws.blockOut[w]);
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
        ws.claims.set(ws.claimSlot(parity ^ 1, w), 0);
        for (int i = 0; i < workers; i++) {
            int v = (w + i) % workers, slot = ws.claimSlot(parity, v);
            int u0 = layers[k].unitStart()[v], u1 = layers[k].unitStart()[v + 1], width = chunkUnits;
            int chunks = (u1 - u0 + width - 1) / width;
            for (int c; (c = ws.claims.getAndIncrement(slot)) < chunks; ) {
                int cu0 = u0 + c * width;
                step(k, t, cu0, Math.min(u1, cu0 + width), seqOut, w);
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
    private void project(CpuWeights.PackedLayer l, MemorySegment x, int u0, int u1, float[][] scratch) {
        for (int c0 = 0, len = steps * batch; c0 < len; c0 += BLOCK) {
            projectBlockRows(l, x, c0, u0 * gates, u1 * gates, scratch);
        }
    }

    /** {@link #project}'s work for one block (columns from {@code c0} on) and rows [r0, r1). */
    private void projectBlockRows(CpuWeights.PackedLayer l, MemorySegment x, int c0, int r0, int r1, float[][] scratch) {
        UnitMajorCsr w = l.wIh();
        int[] ptr = w.rowPtr();
        char[] col = w.col();
        float[] val = w.val();
        float[] bias = l.bIh();
        int cols = w.cols(), b = batch, stepStride = gates * hidden * b;
        int len = steps * b;
        boolean pairs = vectorApi && VectorKernels.projectPairSupported();
        float[] scratchA = scratch[0], scratchB = scratch[1];
        long xBase = (long) (c0 / BLOCK) * cols * BLOCK;
        int n = Math.min(BLOCK, len - c0);
        int t0 = c0 / b, n0 = c0 % b;
        if (n == 1) { // a one-step call at batch 1: the vector kernels would compute all 64 columns of the block
            projectOneColumn(ptr, col, val, bias, x, xBase, cols, r0, r1, t0 * stepStride + n0);
            return;
        }
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
                Arrays.fill(scratchA, bias[r]);
                for (int k = ptr[r], e = ptr[r + 1]; k < e; k++) {
                    axpy(scratchA, val[k], x, xBase + col[k] * BLOCK);
                }
            }
            scatter(scratchA, r, n, t0, n0, stepStride);
        }
    }

    /**
     * {@link #projectBlockRows} for a block of one column: the column copied out of the block first, then four rows
     * at a time, their four chains of multiply-adds interleaved to hide each one's latency behind the others'. Each
     * chain keeps the block kernels' order of operations (from the bias, one multiply-add per nonzero in order:
     * fused with the Vector API, as its kernels are; multiply then add without), so the sums are bit for bit those
     * of a wide block; {@code pre[at + r*B]} gets row r's sum.
     */
    private void projectOneColumn(int[] ptr, char[] col, float[] val, float[] bias, MemorySegment x, long xBase, int cols,
                                  int r0, int r1, int at) {
        float[] xc = new float[cols];
        for (int c = 0; c < cols; c++) {
            xc[c] = x.getAtIndex(ValueLayout.JAVA_FLOAT, xBase + (long) c * BLOCK);
        }
        float[] pre = ws.pre;
        int b = batch;
        boolean fused = vectorApi;
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            int k0 = ptr[r], k1 = ptr[r + 1], k2 = ptr[r + 2], k3 = ptr[r + 3], e3 = ptr[r + 4];
            int common = Math.min(Math.min(k1 - k0, k2 - k1), Math.min(k3 - k2, e3 - k3));
            float a0 = bias[r], a1 = bias[r + 1], a2 = bias[r + 2], a3 = bias[r + 3];
            for (int i = 0; i < common; i++) {
                if (fused) {
                    a0 = Math.fma(xc[col[k0 + i]], val[k0 + i], a0);
                    a1 = Math.fma(xc[col[k1 + i]], val[k1 + i], a1);
                    a2 = Math.fma(xc[col[k2 + i]], val[k2 + i], a2);
                    a3 = Math.fma(xc[col[k3 + i]], val[k3 + i], a3);
                } else {
                    a0 = a0 + val[k0 + i] * xc[col[k0 + i]];
                    a1 = a1 + val[k1 + i] * xc[col[k1 + i]];
                    a2 = a2 + val[k2 + i] * xc[col[k2 + i]];
                    a3 = a3 + val[k3 + i] * xc[col[k3 + i]];
                }
            }
            pre[at + r * b] = rest(a0, k0 + common, k1, col, val, xc, fused);
            pre[at + (r + 1) * b] = rest(a1, k1 + common, k2, col, val, xc, fused);
            pre[at + (r + 2) * b] = rest(a2, k2 + common, k3, col, val, xc, fused);
            pre[at + (r + 3) * b] = rest(a3, k3 + common, e3, col, val, xc, fused);
        }
        for (; r < r1; r++) {
            pre[at + r * b] = rest(bias[r], ptr[r], ptr[r + 1], col, val, xc, fused);
        }
    }

    /** A row's chain of multiply-adds over nonzeros [k, e), from {@code acc}. */
    private static float rest(float acc, int k, int e, char[] col, float[] val, float[] xc, boolean fused) {
        for (; k < e; k++) {
            acc = fused ? Math.fma(xc[col[k]], val[k], acc) : acc + val[k] * xc[col[k]];
        }
        return acc;
    }

    /** Copies row r's sums of one block (columns from step t0, batch element n0 on) to {@code pre[t][r][b]}. */
    private void scatter(float[] sums, int r, int n, int t0, int n0, int stepStride) {
        int b = batch;
        float[] pre = ws.pre;
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
        CpuWeights.PackedLayer l = layers[k];
        float[] hPrev = ws.state[(t + 1) & 1], hNext = ws.state[t & 1], a = ws.gateSums;
        UnitMajorCsr w = l.wHh();
        int[] ptr = w.rowPtr();
        char[] col = w.col();
        float[] val = w.val();
        int b = batch, g = gates;
        int r0 = u0 * g, r1 = u1 * g;
        if (b == 4 && l.wHhOffsets4() != null) {
            char[] off = l.wHhOffsets4();
            for (int r = r0; r < r1; r++) {
                VectorKernels.rowDot4Offsets(ptr[r], ptr[r + 1], off, val, hPrev, a, r * 4);
            }
        } else if (vectorApi && VectorKernels.rowDotSupports(b)) {
            for (int r = r0; r < r1; r++) {
                VectorKernels.rowDot(ptr[r], ptr[r + 1], col, val, hPrev, b, a, r * b);
            }
        } else {
            for (int r = r0; r < r1; r++) {
                w.rowDot(r, hPrev, b, a, r * b);
            }
        }
        boolean freezes = t >= shortest; // some sequence has ended: its lanes keep their state and output zero
        if (freezes) {
            for (int n = 0; n < b; n++) {
                if (t >= lengths[n]) {
                    for (int r = r0; r < r1; r++) {
                        a[r * b + n] = 0f; // never used; zeroed so that the overflow test sees real steps only
                    }
                }
            }
        }
        if (!CpuOverflow.recurrentInRange(a, r0 * b, (r1 - r0) * b, l.maxAbsBHh())) {
            ws.overflow.findRecurrentOverflow(a, l.bHh(), b, k, t, r0, r1, worker);
        }
        int preStep = t * g * hidden * b;
        if (seqOut == null && g == 1) {
            singleGateUpdate(ws.hhBiasByElement[k], preStep, u0, u1, hNext, t * hidden * b);
            if (freezes) {
                freezeEnded(t, u0, u1, hPrev, hNext);
            }
            return;
        }
        float[] p = ws.pre, bhh = l.bHh(), cs = ws.cellState, hist = ws.outHistory;
        for (int u = u0; u < u1; u++) {
            for (int n = 0; n < b; n++) {
                int c = t * b + n; // (step, batch) column
                boolean frozen = freezes && t >= lengths[n];
                float hv = frozen ? hPrev[u * b + n] : cellUpdate(p, a, bhh, cs, u, n, preStep, hPrev[u * b + n]);
                hNext[u * b + n] = hv;
                if (seqOut != null) {
                    seqOut.setAtIndex(ValueLayout.JAVA_FLOAT, ((long) (c / BLOCK) * hidden + u) * BLOCK + c % BLOCK, hv);
                } else {
                    hist[t * hidden * b + u * b + n] = frozen ? 0f : hv;
                }
            }
        }
    }

    /**
     * After {@link #singleGateUpdate} of step t (the last layer of a ReLU/tanh stack): the lanes of the sequences that
     * have ended get their state back ({@code hPrev}) and a zero output, in the run's output or {@code outHistory},
     * wherever the update wrote it.
     */
    private void freezeEnded(int t, int u0, int u1, float[] hPrev, float[] hNext) {
        int b = batch, histStep = t * hidden * b;
        for (int n = 0; n < b; n++) {
            if (t < lengths[n]) {
                continue;
            }
            for (int u = u0; u < u1; u++) {
                hNext[u * b + n] = hPrev[u * b + n];
                if (!reluWritesOutput) {
                    ws.outHistory[histStep + u * b + n] = 0f;
                } else if (outFloats != null) {
                    outFloats[histStep + n * hidden + u] = 0f;
                } else {
                    outDoubles[histStep + n * hidden + u] = 0.0;
                }
            }
        }
    }

    /**
     * The ReLU / tanh cell update of units [u0, u1) as one flat loop over their {@code [u][b]} elements
     * (G = 1, so element i of {@code pre}, {@code gateSums}, the state and {@code bias} is unit
     * {@code i / B}), writing the new state and the last layer's {@code outHistory}. Flat and
     * contiguous so that the ReLU update runs as one Vector API loop ({@link VectorKernels#reluUpdate});
     * the scalar per-unit loop took a measurable share of a step (results/cpu/README.md, "Figures the source
     * used to quote").
     *
     * <p>With the Vector API ({@link #reluWritesOutput}), the step's outputs are copied from the new
     * state (in L1) straight into the run's output {@code [T][B][H]} instead of going through
     * {@code outHistory}, which saves {@link CpuLayout#writeOutput}'s pass over the whole sequence.
     *
     * @param bias [H][B] b_hh per element ({@link CpuWorkspace#hhBiasByElement})
     */
    private void singleGateUpdate(float[] bias, int preStep, int u0, int u1, float[] hNext, int histStep) {
        int b = batch, e = u1 * b;
        float[] p = ws.pre, a = ws.gateSums, hist = ws.outHistory;
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
                float hv = (float) CellEquations.relu((double) p[preStep + i] + a[i] + bias[i]);
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
     * {@code p[preStep + i]} (W_ih x + b_ih) and {@code a[i]} (W_hh h) with {@code i = (u*G + q)*B + n}, and
     * {@code bhh[u*G + q]}; {@code cs [H][B]} is the LSTM cell state. Evaluated in double from the float sums
     * by {@link CellEquations}'s formulas and rounded once: in float, a saturated gate
     * ({@code z = sigmoid(14)}) would leave {@code 1 - z} with no correct digit.
     */
    private float cellUpdate(float[] p, float[] a, float[] bhh, float[] cs, int u, int n, int preStep, float hOld) {
        int b = batch, r = u * gates, i0 = r * b + n, p0 = preStep + i0;
        switch (cell) {
            case RNN_RELU -> {
                return (float) CellEquations.relu((double) p[p0] + a[i0] + bhh[r]);
            }
            case RNN_TANH -> {
                return (float) Math.tanh((double) p[p0] + a[i0] + bhh[r]);
            }
            case GRU -> {
                return (float) CellEquations.gru((double) p[p0] + a[i0] + bhh[r], (double) p[p0 + b] + a[i0 + b] + bhh[r + 1],
                        p[p0 + 2 * b], (double) a[i0 + 2 * b] + bhh[r + 2], hOld);
            }
            case LSTM -> {
                int ci = u * b + n;
                double c = CellEquations.lstmCell((double) p[p0] + a[i0] + bhh[r], (double) p[p0 + b] + a[i0 + b] + bhh[r + 1],
                        (double) p[p0 + 2 * b] + a[i0 + 2 * b] + bhh[r + 2], cs[ci]);
                cs[ci] = (float) c;
                return (float) CellEquations.lstmHidden((double) p[p0 + 3 * b] + a[i0 + 3 * b] + bhh[r + 3], c);
            }
            default -> throw new IllegalStateException("unhandled cell " + cell);
        }
    }
}
