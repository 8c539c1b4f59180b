// CpuLayout.java — the cpu engine's layouts of its inputs, states and outputs, and the copies between them
// and the caller's [T][B][·] and [L][B][H] arrays, which run in parallel inside a run (each worker its part).
package org.sprnn.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.sprnn.engine.RunInputs;

/**
 * The layouts: a layer input X is {@code [blocks][I][BLOCK]} float (column {@code c = t*B + b} of feature i at
 * {@code (c / BLOCK * I + i) * BLOCK + c % BLOCK}), so that a block of X is contiguous for the input
 * projection; the hidden and cell states are {@code [H][B]}, batch innermost, so that one load fetches a
 * unit's B values; the caller's arrays are PyTorch's, {@code [T][B][I]}, {@code [T][B][H]} and
 * {@code [L][B][H]}.
 */
final class CpuLayout {
    /**
     * (step, batch) columns per block of the input projection: 16 steps at batch 4, four AVX-512
     * vectors. Layer inputs are stored block by block ({@code [blocks][I][BLOCK]}) so that a block of X
     * is contiguous.
     */
    static final int BLOCK = 64;

    private CpuLayout() {
    }

    /**
     * The model input {@code [T][B][I]} ({@code ind} or {@code inf}, whichever is not null) into
     * {@code x0 [blocks][I][BLOCK]} float, for features [i0, i1), block by block; writes run along a block's
     * 64 columns, reads reuse each input line for several features (measured faster here than tiles of
     * 64 columns × 16 features). Columns past T*B in the last block keep whatever they held; their
     * projections are never read.
     *
     * <p>Also tests those input values for NaN and infinity, which {@link RunInputs#checkExceptInputValues}
     * left to the engine, in the same pass: with the Vector API each row of the block (this worker's
     * features) is first copied into {@code rows}, rounded to float32 and tested in one vector
     * loop ({@link VectorKernels#toFloats}), and the transposition reads that compact copy; for a float64
     * input this made the whole step faster (results/cpu/README.md, "Figures the source used to quote") than
     * the transposition reading and rounding each double twice from the input. The scalar path tests each
     * row, then transposes from the input.
     *
     * @param cols T*B
     * @param rows this worker's {@code [BLOCK][i1 - i0]} scratch (Vector API only)
     * @return whether every value read was finite
     */
    static boolean transposeInput(double[] ind, float[] inf, int inSize, int cols, int i0, int i1, MemorySegment x0,
                                  boolean vectorApi, float[] rows) {
        int width = i1 - i0;
        boolean finite = true;
        for (int c0 = 0; c0 < cols; c0 += BLOCK) {
            int n = Math.min(BLOCK, cols - c0), blockBase = (c0 / BLOCK) * inSize * BLOCK;
            if (vectorApi) { // rows: [n][width]
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

    /** Whether every value of {@code x[from, from + n)} rounds to a finite float32 (1e300 does not; the scalar path). */
    private static boolean allFinite(double[] x, int from, int n) {
        float zeros = 0;
        for (int i = from, e = from + n; i < e; i++) {
            float f = (float) x[i];
            zeros += f - f;
        }
        return zeros == 0f;
    }

    /**
     * Units [u0, u1) of one layer's initial states, {@code h0}, {@code c0} ({@code [L][B][H]} from
     * {@code base = k*B*H}, null: zeros), into {@code h}, {@code c} ({@code [H][B]}).
     */
    static void loadState(float[] h0, float[] c0, int base, int b, int hidden, int u0, int u1, float[] h, float[] c) {
        for (int u = u0; u < u1; u++) {
            for (int n = 0; n < b; n++) {
                h[u * b + n] = h0 == null ? 0f : h0[base + n * hidden + u];
                c[u * b + n] = c0 == null ? 0f : c0[base + n * hidden + u];
            }
        }
    }

    /**
     * Units [u0, u1) of one layer's final states, {@code h}, {@code c} ({@code [H][B]}), into {@code hN},
     * {@code cN} ({@code [L][B][H]} from {@code base = k*B*H}; cN null: no cell state).
     */
    static void storeState(float[] h, float[] c, int base, int b, int hidden, int u0, int u1, float[] hN, float[] cN) {
        for (int u = u0; u < u1; u++) {
            for (int n = 0; n < b; n++) {
                hN[base + n * hidden + u] = h[u * b + n];
                if (cN != null) {
                    cN[base + n * hidden + u] = c[u * b + n];
                }
            }
        }
    }

    /**
     * The last layer's outputs of units [u0, u1), from {@code hist [T][H][B]} float into
     * the run's output {@code [T][B][H]} ({@code of} or {@code od}, whichever is not null). Done once after
     * the last step rather than inside it: written per step, the four batch rows of {@code out} are four
     * strided streams into a freshly allocated array, which measured a large share of a step; here each
     * (step, batch) row segment is written in one sequential run.
     */
    static void writeOutput(float[] hist, int steps, int b, int hidden, int u0, int u1, float[] of, double[] od) {
        int hb = hidden * b;
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
}
