package org.sprnn.check;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import java.util.function.IntFunction;
import org.sprnn.Precision;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CellEquations;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.CsrMatrix;

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

    /** About the relative error a split weight (two 16-bit words) keeps: the size of its residual's rounding. */
    static final double SPLIT_HALF_ULP = 0x1p-22;

    /**
     * The forward pass with the kernel's roundings.
     *
     * @param weights W_hh rounding (null: none)
     * @param roundActivations round h to fp16 before each recurrent product
     * @param jitter relative perturbation of every rounded value, uniform in ±jitter (0: none)
     */
    static RnnOutput run(RnnModel model, Tensor input, Tensor h0, Tensor c0, Precision weights, boolean roundActivations,
                         double jitter, long seed) {
        return runRounded(model, input, h0, c0, weights == null ? null : v -> round16(v, weights), roundActivations, jitter, seed);
    }

    /**
     * The forward pass with W_hh's nonzeros replaced by {@code weights.applyAsDouble(w)} (null: kept; e.g.
     * {@link #splitRound16} for split weights) and h optionally rounded to fp16 before each recurrent product.
     */
    static RnnOutput runRounded(RnnModel model, Tensor input, Tensor h0, Tensor c0, DoubleUnaryOperator weights, boolean roundActivations,
                         double jitter, long seed) {
        return runPerLayer(model, input, h0, c0, weights == null ? null : k -> weights, roundActivations, jitter, seed);
    }

    /** {@link #runRounded} with each layer's own W_hh rounding ({@code weightsOfLayer.apply(k)}; null: none). */
    static RnnOutput runPerLayer(RnnModel model, Tensor input, Tensor h0, Tensor c0, IntFunction<DoubleUnaryOperator> weightsOfLayer,
                                 boolean roundActivations, double jitter, long seed) {
        return runPerLayer(model, input, h0, c0, weightsOfLayer, k -> jitter, roundActivations, jitter, seed);
    }

    /**
     * {@link #runPerLayer} with the weights of layer {@code k} perturbed by {@code weightJitter.applyAsDouble(k)} and
     * h by {@code jitter}.
     */
    static RnnOutput runPerLayer(RnnModel model, Tensor input, Tensor h0, Tensor c0, IntFunction<DoubleUnaryOperator> weightsOfLayer,
                                 java.util.function.IntToDoubleFunction weightJitter, boolean roundActivations, double jitter, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int h = model.hiddenSize();
        IntFunction<CellEquations.LayerArrays> layers = k -> {
            Layer layer = model.layers().get(k);
            double[] whh = layer.wHh().data().clone();
            DoubleUnaryOperator weights = weightsOfLayer == null ? null : weightsOfLayer.apply(k);
            if (weights != null) {
                for (int i = 0; i < whh.length; i++) {
                    whh[i] = whh[i] == 0 ? 0 : jittered(weights.applyAsDouble(whh[i]), weightJitter.applyAsDouble(k), rnd);
                }
            }
            double[] wih = layer.wIh().data();
            return new CellEquations.LayerArrays(wih, CellEquations.nonzeroColumns(wih, layer.wIh().dim(0), layer.wIh().dim(1)),
                    whh, CellEquations.nonzeroColumns(whh, layer.wHh().dim(0), h), layer.bIh().data(), layer.bHh().data());
        };
        CellEquations.StateView hView = !roundActivations ? null : (hs, hq) -> {
            for (int j = 0; j < h; j++) {
                hq[j] = jittered(round16(hs[j], Precision.FP16), jitter, rnd);
            }
        };
        return CellEquations.forward(model, input, h0, c0, layers, hView);
    }

    /**
     * What the CPU emulation of the kernel's 16-bit roundings gives on one draw: the deterministic emulation's error
     * {@code exact} and the range {@code lo..hi} over {@code samples} emulations whose roundings are jittered by half an
     * fp16 ulp, all against the float64 reference.
     */
    record Explanation(double exact, double lo, double hi, int samples) {
        /** How far above the deterministic emulation's error a kernel's error may lie and still be the draw's. */
        static final double AMPLIFIED_CAP = 4;

        /**
         * Whether a kernel error above {@code tolerance} is the draw's and not the kernel's: the deterministic emulation
         * of the same roundings is above the tolerance too (no kernel with these roundings could meet it on this draw),
         * and the kernel's error, finite, lies within the spread that rounding-sized perturbations give and not more
         * than {@link #AMPLIFIED_CAP} times the deterministic emulation's (a chaotic draw's spread alone would admit
         * nearly anything). A kernel error below the spread is more accurate than the emulation, not a sign of a bug.
         */
        boolean amplified(double error, double tolerance) {
            return Double.isFinite(error) && Double.isFinite(exact) && Double.isFinite(hi)
                    && exact > tolerance && error <= hi && error <= AMPLIFIED_CAP * exact;
        }

        /** One line for a failing row, beside the kernel's {@code error}. */
        String text(double error) {
            return String.format(java.util.Locale.ROOT,
                    "CPU emulation of the kernel's fp16 roundings: %.2e, %.2e..%.2e over %d rounding perturbations of +-2^-11: %s",
                    exact, lo, hi, samples, error <= hi ? "the kernel's error is within that spread (the draw amplifies rounding)"
                            : "the kernel's error is above it");
        }
    }

    /**
     * The emulation of the kernel's roundings on one draw, W_hh packed as {@code options} plan it: the deterministic one
     * and {@code samples} jittered ones (h by ±half an fp16 ulp; W_hh by as much, or by ±2^-22 where its weights are
     * split into two words and carry about that error), against {@code want}.
     */
    static Explanation probe(RnnModel model, Tensor x, Tensor h0, Tensor c0, RnnOutput want, PlanOptions options, int samples) {
        boolean[] split = splitLayers(model, options); // once: every emulation below packs the layers alike
        IntFunction<DoubleUnaryOperator> planned = asPlanned(split, options.weights());
        java.util.function.IntToDoubleFunction weightJitter = k -> split[k] ? SPLIT_HALF_ULP : FP16_HALF_ULP;
        double exact = RelativeError.of(runPerLayer(model, x, h0, c0, planned, true, 0, 0), want);
        double lo = Double.MAX_VALUE, hi = 0;
        for (int i = 1; i <= samples; i++) {
            double e = RelativeError.of(runPerLayer(model, x, h0, c0, planned, weightJitter, true, FP16_HALF_ULP, i), want);
            lo = Math.min(lo, e);
            hi = Math.max(hi, e);
        }
        return new Explanation(exact, lo, hi, samples);
    }

    /** One line for a failing row: {@link #probe}'s figures (default plan, {@code weights}) beside the kernel's {@code error}. */
    static String explain(RnnModel model, Tensor x, Tensor h0, Tensor c0, RnnOutput want, Precision weights, double error,
                          int samples) {
        return probe(model, x, h0, c0, want, new PlanOptions(null, true, true, true, 0, 0, weights), samples).text(error);
    }

    /**
     * Each layer's W_hh rounding as the kernel holds it: split weights (hi + lo words, {@link #splitRound16}) where
     * {@code split[k]} ({@link #splitLayers}), else one 16-bit word ({@link #round16}).
     */
    static IntFunction<DoubleUnaryOperator> asPlanned(boolean[] split, Precision weights) {
        return k -> split[k] ? v -> splitRound16(v, weights) : v -> round16(v, weights);
    }

    /** For each layer, whether {@code options} plan its W_hh as split weights ({@link Plan#splitsWeights}). */
    private static boolean[] splitLayers(RnnModel model, PlanOptions options) {
        boolean[] split = new boolean[model.layers().size()];
        for (int k = 0; k < split.length; k++) {
            split[k] = Plan.splitsWeights(CsrMatrix.of(model.layers().get(k).wHh()), options);
        }
        return split;
    }

    /** The weight one 16-bit word of float32 {@code w} has on the kernel: {@code f.decode(f.encode((float) w))}. */
    static double round16(double v, Precision f) {
        return f.decode(f.encode((float) v));
    }

    /**
     * The weight a split nonzero has on the kernel: the sum of its two 16-bit words, {@code f.encode(w)} and
     * {@code f.encodeResidual(w)} ({@link Precision#encodeResidual}), of float32 {@code w}.
     */
    static double splitRound16(double v, Precision f) {
        float x = (float) v;
        return (double) f.decode(f.encode(x)) + f.decode(f.encodeResidual(x));
    }

    private static double jittered(double v, double jitter, SplittableRandom rnd) {
        return jitter == 0 ? v : v * (1 + jitter * (2 * rnd.nextDouble() - 1));
    }
}
