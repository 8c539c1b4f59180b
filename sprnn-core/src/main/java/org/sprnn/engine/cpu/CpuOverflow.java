// CpuOverflow.java — how the cpu engine finds the first value float32 cannot hold, in the place and order
// cpu-reference names it, without testing every value on the hot path.
package org.sprnn.engine.cpu;

import static org.sprnn.engine.cpu.CpuLayout.BLOCK;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.sprnn.engine.Float32Range;

/**
 * Per worker, the first value beyond float32 ({@link Float32Range}) that the worker found in this run, and
 * the scans that find it. A position is {@code {layer, step, batch element, stage (0 input projection,
 * 1 recurrent product, 2 hidden state), gate row (PyTorch's order) or unit}}, compared in that order; the
 * earliest over all workers is the one reported. The input projections and states are scanned once per
 * layer after the fact; the recurrent products, which are not kept, are tested per step by a cheap bound
 * ({@link #recurrentInRange}) and scanned only where it fails.
 */
final class CpuOverflow {
    private final int gates;
    private final int hidden;
    private final int[][] at; // [workers] the position of the first value beyond float32 worker w found in this run, or null
    private final double[] value; // [workers] that value

    CpuOverflow(int workers, int gates, int hidden) {
        this.gates = gates;
        this.hidden = hidden;
        this.at = new int[workers][];
        this.value = new double[workers];
    }

    /** Forgets every worker's finding, before a run. */
    void reset() {
        Arrays.fill(at, null);
    }

    /** Whether worker w should scan layer k: it has found nothing yet, or only in layer k. */
    boolean scans(int w, int k) {
        return at[w] == null || at[w][0] == k;
    }

    /**
     * Throws the {@link Float32Range} overflow error for the first value float32 cannot hold in the order
     * (layer, step, batch element, input projection before state, row or unit), as {@code cpu-reference}
     * names it.
     */
    void throwIfAny() {
        int first = -1;
        for (int w = 0; w < at.length; w++) {
            int[] a = at[w];
            if (a != null && (first < 0 || Arrays.compare(a, at[first]) < 0)) {
                first = w;
            }
        }
        if (first >= 0) {
            int[] a = at[first];
            String what = switch (a[3]) {
                case 0 -> Float32Range.INPUT_PROJECTION;
                case 1 -> Float32Range.RECURRENT_PRODUCT;
                default -> Float32Range.HIDDEN_STATE;
            };
            throw Float32Range.overflow(what, a[0], a[1], a[2], a[4], value[first]);
        }
    }

    /**
     * Looks for a NaN or infinite state (an overflow, {@link Float32Range}) among layer k's outputs of units
     * [u0, u1), every step, where the layer left them: the next layer's input {@code seqOut}, the run's
     * output (ReLU with the Vector API), or {@code outHistory}; records the earliest (step, batch element,
     * unit), stopping at the first step that has one.
     */
    void findStateOverflow(CpuRun run, int k, MemorySegment seqOut, int u0, int u1, int w) {
        int b = run.batch, steps = run.steps, n = u1 - u0;
        if (n <= 0) {
            return;
        }
        if (seqOut != null) { // [blocks][H][BLOCK]: column c = t*B + e of unit u at ((c / BLOCK) * H + u) * BLOCK + c % BLOCK
            for (int c0 = 0, cols = steps * b; c0 < cols; c0 += BLOCK) {
                int first = Math.min(BLOCK, cols - c0), unit = -1;
                float v0 = 0;
                for (int u = u0; u < u1; u++) { // the lowest column of the block, then the lowest unit
                    long base = ((long) (c0 / BLOCK) * hidden + u) * BLOCK;
                    for (int m = 0; m < first; m++) {
                        float v = seqOut.getAtIndex(ValueLayout.JAVA_FLOAT, base + m);
                        if (!(Math.abs(v) <= Float.MAX_VALUE)) {
                            first = m;
                            unit = u;
                            v0 = v;
                            break;
                        }
                    }
                }
                if (unit >= 0) {
                    recordState(w, k, (c0 + first) / b, (c0 + first) % b, unit, v0);
                    return;
                }
            }
            return;
        }
        float[] outFloats = run.outFloats, outHistory = run.ws.outHistory;
        double[] outDoubles = run.outDoubles;
        for (int t = 0; t < steps; t++) {
            for (int e = 0; e < b; e++) {
                if (run.reluWritesOutput) { // the run's output [T][B][H]
                    int o = (t * b + e) * hidden + u0;
                    int i = outFloats != null ? Float32Range.firstNonFinite(outFloats, o, n) : firstNonFinite(outDoubles, o, n);
                    if (i >= 0) {
                        recordState(w, k, t, e, u0 + i - o, outFloats != null ? outFloats[i] : (float) outDoubles[i]);
                        return;
                    }
                } else { // outHistory [T][H][B]: a step's units of one batch element are B apart
                    for (int u = u0; u < u1; u++) {
                        float v = outHistory[t * hidden * b + u * b + e];
                        if (!(Math.abs(v) <= Float.MAX_VALUE)) {
                            recordState(w, k, t, e, u, v);
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
     * (in PyTorch's gate order).
     */
    void findProjectionOverflow(CpuRun run, int k, int u0, int u1, int w) {
        float[] pre = run.ws.pre;
        int b = run.batch, gh = gates * hidden, r0 = u0 * gates, n = (u1 - u0) * gates * b;
        for (int t = 0; t < run.steps; t++) {
            int from = (t * gh + r0) * b;
            if (Float32Range.firstNonFinite(pre, from, n) < 0) {
                continue;
            }
            int bestRow = Integer.MAX_VALUE, bestBatch = Integer.MAX_VALUE;
            float v = 0;
            for (int i = from; i < from + n; i++) {
                if (!(Math.abs(pre[i]) <= Float.MAX_VALUE)) {
                    int r = (i - t * gh * b) / b, e = i % b, row = (r % gates) * hidden + r / gates; // unit-major row to PyTorch's
                    if (e < bestBatch || e == bestBatch && row < bestRow) {
                        bestBatch = e;
                        bestRow = row;
                        v = pre[i];
                    }
                }
            }
            record(w, new int[] {k, t, bestBatch, 0, bestRow}, v);
            return;
        }
    }

    /**
     * Whether no recurrent product {@code W_hh h + b_hh} of {@code gateSums[from, from + n)} can leave float32's
     * range: their largest magnitude plus the layer's largest bias is within it (NaN fails the test).
     */
    static boolean recurrentInRange(float[] sums, int from, int n, double maxAbsBias) {
        float widest = 0f;
        for (int i = from, e = from + n; i < e; i++) {
            widest = Math.max(widest, Math.abs(sums[i]));
        }
        return widest + maxAbsBias <= Float.MAX_VALUE;
    }

    /**
     * Records the first recurrent product {@code W_hh h + b_hh} (summed in float64, as the cell update does)
     * that float32 cannot hold among gate rows [r0, r1) (unit-major) of {@code gateSums [G*H][B]} at step t,
     * by batch element, then row in PyTorch's order.
     */
    void findRecurrentOverflow(float[] gateSums, float[] bhh, int b, int k, int t, int r0, int r1, int w) {
        int bestRow = Integer.MAX_VALUE, bestBatch = Integer.MAX_VALUE;
        double v0 = 0;
        for (int r = r0; r < r1; r++) {
            for (int e = 0; e < b; e++) {
                double v = (double) gateSums[r * b + e] + bhh[r];
                int row = (r % gates) * hidden + r / gates; // unit-major row to PyTorch's
                if (!Float32Range.holds(v) && (e < bestBatch || e == bestBatch && row < bestRow)) {
                    bestBatch = e;
                    bestRow = row;
                    v0 = v;
                }
            }
        }
        if (bestBatch != Integer.MAX_VALUE) {
            record(w, new int[] {k, t, bestBatch, 1, bestRow}, v0);
        }
    }

    /** Keeps {@code position} as worker w's first overflow if it comes before the one it has. */
    private void record(int w, int[] position, double v) {
        if (at[w] == null || Arrays.compare(position, at[w]) < 0) {
            at[w] = position;
            value[w] = v;
        }
    }

    private void recordState(int w, int layer, int step, int batchElement, int unit, float v) {
        record(w, new int[] {layer, step, batchElement, 2, unit}, v);
    }

    private static int firstNonFinite(double[] a, int from, int n) {
        for (int i = from, e = from + n; i < e; i++) {
            if (!(Math.abs(a[i]) <= Float.MAX_VALUE)) {
                return i;
            }
        }
        return -1;
    }
}
