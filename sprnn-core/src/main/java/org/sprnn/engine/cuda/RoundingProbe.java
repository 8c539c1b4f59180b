package org.sprnn.engine.cuda;

import java.util.SplittableRandom;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CellEquations;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import org.sprnn.sparse.WeightFormat;

/**
 * How much of a kernel's error a model and input would show from 16-bit roundings alone: the float64 reference's
 * equations (those of {@code CpuReferenceEngine}, same summation order) with W_hh rounded to the kernel's 16-bit
 * weights and h rounded to fp16 before every step's recurrent product (the kernel exchanges h in fp16), each rounded
 * value optionally multiplied by {@code 1 + u}, {@code u} uniform in {@code ±jitter}, to sample other rounding outcomes
 * of the same size. {@code kernel-check --full} runs it for a row that fails: an error within the spread of these
 * emulations is the draw's conditioning (a recurrence that amplifies rounding over T steps), not the kernel's
 * arithmetic. With nothing rounded it is bit-identical to {@code CpuReferenceEngine} (unit-tested).
 */
final class RoundingProbe {
    private RoundingProbe() {
    }

    /** Half an fp16 ulp, relative: the size of one rounding to fp16. */
    static final double FP16_HALF_ULP = 0x1p-11;

    /**
     * The forward pass with the kernel's roundings.
     *
     * @param weights W_hh rounding (null: none)
     * @param roundActivations round h to fp16 before each recurrent product
     * @param jitter relative perturbation of every rounded value, uniform in ±jitter (0: none)
     */
    static RnnOutput run(RnnModel model, Tensor input, Tensor h0, Tensor c0, WeightFormat weights, boolean roundActivations,
                         double jitter, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int steps = input.dim(0), b = input.dim(1), h = model.hiddenSize(), layers = model.numLayers();
        CellType cell = model.cell();
        int g = cell.gates();
        double[] hN = new double[layers * b * h];
        double[] cN = cell.hasCellState() ? new double[layers * b * h] : null;
        if (h0 != null) {
            System.arraycopy(h0.data(), 0, hN, 0, hN.length);
        }
        if (c0 != null && cN != null) {
            System.arraycopy(c0.data(), 0, cN, 0, cN.length);
        }
        double[] seq = input.data();
        int in = model.inputSize();
        for (int k = 0; k < layers; k++) {
            Layer layer = model.layers().get(k);
            double[] wih = layer.wIh().data(), bih = layer.bIh().data(), bhh = layer.bHh().data();
            double[] whh = layer.wHh().data().clone();
            if (weights != null) {
                for (int i = 0; i < whh.length; i++) {
                    whh[i] = whh[i] == 0 ? 0 : jittered(round16(whh[i], weights), jitter, rnd);
                }
            }
            int[][] colsIh = nonzeroColumns(wih, g * h, in), colsHh = nonzeroColumns(whh, g * h, h);
            double[] out = new double[steps * b * h];
            double[] hs = new double[h], cs = new double[h], hq = new double[h];
            double[] gi = new double[g * h], gh = new double[g * h];
            for (int n = 0; n < b; n++) {
                int st = (k * b + n) * h;
                System.arraycopy(hN, st, hs, 0, h);
                if (cN != null) {
                    System.arraycopy(cN, st, cs, 0, h);
                }
                for (int t = 0; t < steps; t++) {
                    for (int j = 0; j < h; j++) {
                        hq[j] = roundActivations ? jittered(round16(hs[j], WeightFormat.FP16), jitter, rnd) : hs[j];
                    }
                    CellEquations.matVec(wih, colsIh, in, bih, seq, (t * b + n) * in, gi);
                    CellEquations.matVec(whh, colsHh, h, bhh, hq, 0, gh);
                    CellEquations.step(cell, h, gi, gh, hs, cs);
                    System.arraycopy(hs, 0, out, (t * b + n) * h, h);
                }
                System.arraycopy(hs, 0, hN, st, h);
                if (cN != null) {
                    System.arraycopy(cs, 0, cN, st, h);
                }
            }
            seq = out;
            in = h;
        }
        return new RnnOutput(new Tensor(new int[] {steps, b, h}, seq), new Tensor(new int[] {layers, b, h}, hN),
                cN == null ? null : new Tensor(new int[] {layers, b, h}, cN));
    }

    /**
     * One line for a failing row: the error of the deterministic emulation and the range over {@code samples}
     * jittered ones (±half an fp16 ulp), against {@code want}, beside the kernel's {@code error}.
     */
    static String explain(RnnModel model, Tensor x, Tensor h0, Tensor c0, RnnOutput want, WeightFormat weights, double error,
                          int samples) {
        double exact = SparsePersistentFullCheck.error(run(model, x, h0, c0, weights, true, 0, 0), want);
        double lo = Double.MAX_VALUE, hi = 0;
        for (int i = 1; i <= samples; i++) {
            double e = SparsePersistentFullCheck.error(run(model, x, h0, c0, weights, true, FP16_HALF_ULP, i), want);
            lo = Math.min(lo, e);
            hi = Math.max(hi, e);
        }
        boolean within = error <= hi;
        return String.format(java.util.Locale.ROOT,
                "CPU emulation of the kernel's fp16 roundings: %.2e, %.2e..%.2e over %d rounding perturbations of +-2^-11: %s",
                exact, lo, hi, samples, within ? "the kernel's error is within that spread (the draw amplifies rounding)"
                        : "the kernel's error is above it");
    }

    static double round16(double v, WeightFormat f) {
        float x = (float) v;
        if (f == WeightFormat.BF16) {
            int bits = Float.floatToRawIntBits(x);
            bits += 0x7FFF + ((bits >>> 16) & 1); // round to nearest even on the upper 16 bits
            return Float.intBitsToFloat(bits & 0xFFFF0000);
        }
        return Float.float16ToFloat(Float.floatToFloat16(x));
    }

    private static double jittered(double v, double jitter, SplittableRandom rnd) {
        return jitter == 0 ? v : v * (1 + jitter * (2 * rnd.nextDouble() - 1));
    }

    private static int[][] nonzeroColumns(double[] w, int rows, int cols) {
        int[][] out = new int[rows][];
        int[] buf = new int[cols];
        for (int r = 0; r < rows; r++) {
            int n = 0;
            for (int j = 0; j < cols; j++) {
                if (w[r * cols + j] != 0.0) {
                    buf[n++] = j;
                }
            }
            out[r] = java.util.Arrays.copyOf(buf, n);
        }
        return out;
    }
}
