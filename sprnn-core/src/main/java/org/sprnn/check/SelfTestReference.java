package org.sprnn.check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/**
 * Why this file exists: the CPU half of {@code sprnn selftest}, testable without a GPU
 * ({@code GpuSelfTestReferenceTest}). How each case's model and inputs are drawn from the seed, its float64
 * reference, and the case's rounding sensitivity: how far the float64 result moves when only the weights, or only h
 * at each step, are rounded to a 16-bit precision (the part of an engine's error that no engine with such operands can
 * avoid, large only for ill-conditioned models).
 */
final class SelfTestReference {
    /** Input size of every test model: not equal to any hidden size, so W_ih shape mistakes show. */
    static final int INPUT_SIZE = 48;

    private SelfTestReference() {
    }

    /** One model configuration (the engine and precision vary inside it). */
    record ModelCase(CellType cell, int hidden, double density, int layers, boolean givenStates) {
        /** A seed component that is the same in every JVM (record hashCode of an enum is not). */
        long key() {
            return ((cell.ordinal() * 100_003L + hidden) * 1_000_003L + Math.round(density * 1000)) * 31 + layers
                    + (givenStates ? 7 : 0);
        }
    }

    /** One run. */
    record Shape(int batch, int steps) {
    }

    static RnnModel model(ModelCase m, long seed) {
        long s = seed ^ (m.key() * 0x9E3779B97F4A7C15L);
        return SyntheticModels.random(m.cell(), INPUT_SIZE, m.hidden(), m.layers(), m.density(), 1.0, s);
    }

    /**
     * {input, h0, c0, reference output, precision → weight-rounding error, W_hh damping, checked model} for a case;
     * fresh random input per shape. The weight-rounding error of a precision is how far the float64 reference moves
     * when only W_ih and W_hh are rounded to it: the part of an fp16-weight engine's error that no engine can
     * avoid (large only for ill-conditioned models, e.g. hidden 33 with one weight of σ≈1.7 per row).
     */
    static Object[] reference(ModelCase m, Shape s, long seed, List<Precision> precisions) {
        RnnModel model = model(m, seed);
        long k = seed ^ (m.key() * 31 + s.batch() * 1009L + s.steps()) * 0xBF58476D1CE4E5B9L;
        Tensor x = SyntheticModels.input(s.steps(), s.batch(), INPUT_SIZE, k);
        Tensor h0 = m.givenStates() ? SyntheticModels.state(m.layers(), s.batch(), m.hidden(), k + 1) : null;
        Tensor c0 = m.givenStates() && m.cell().hasCellState()
                ? SyntheticModels.state(m.layers(), s.batch(), m.hidden(), k + 2) : null;
        RnnOutput ref = Fp16Range.reference(model, x, h0, c0); // null: the recurrence leaves float32's range
        // a drawn ReLU recurrence that explodes past fp16's range (which a 16-bit engine cannot hold by design) is
        // checked with W_hh halved until its reference stays in range, as kernel-check --full does
        double damping = 1;
        if (ref == null || precisions.stream().anyMatch(SelfTestReference::reduced)) {
            Fp16Range.Damped d = Fp16Range.damp(model, x, h0, c0, ref);
            damping = d.factor();
            model = d.model();
            ref = d.want();
            if (ref == null) {
                throw new org.sprnn.SprnnException("selftest: the drawn " + m + " leaves float32's range even with W_hh x "
                        + Fp16Range.factorText(damping));
            }
        }
        Map<Precision, Double> sensitivity = new LinkedHashMap<>();
        for (Precision p : precisions) {
            if (reduced(p)) {
                double w = RelativeError.of(new CpuReferenceEngine(roundWeights(model, p)).run(x, h0, c0), ref);
                double h = m.layers() == 1 ? RelativeError.of(roundingHEachStep(model, x, h0, c0, p), ref) : 0;
                sensitivity.put(p, Math.max(w, h));
            }
        }
        return new Object[] {x, h0, c0, ref, sensitivity, damping, model};
    }

    /** Whether {@code precision} (checked) is a 16-bit one, below the fp32 the references are compared in. */
    private static boolean reduced(Precision precision) {
        return EngineOptions.checkPrecision(precision).isSixteenBit();
    }

    /**
     * The float64 reference of a one-layer model with h rounded to {@code precision} before every step (what
     * a product with {@code precision} operands sees); the cell state, if any, stays exact.
     */
    static RnnOutput roundingHEachStep(RnnModel model, Tensor x, Tensor h0, Tensor c0, Precision precision) {
        int steps = x.dim(0), b = x.dim(1), in = x.dim(2), hid = model.hiddenSize();
        CpuReferenceEngine eng = new CpuReferenceEngine(model);
        Tensor h = h0 != null ? h0 : Tensor.zeros(1, b, hid);
        Tensor c = model.cell().hasCellState() ? (c0 != null ? c0 : Tensor.zeros(1, b, hid)) : null;
        double[] out = new double[steps * b * hid];
        for (int s = 0; s < steps; s++) {
            Tensor xs = new Tensor(new int[] {1, b, in}, java.util.Arrays.copyOfRange(x.data(), s * b * in, (s + 1) * b * in));
            RnnOutput o = eng.run(xs, round(h, precision), c);
            System.arraycopy(o.output().data(), 0, out, s * b * hid, b * hid);
            h = o.hN();
            c = o.cN();
        }
        return new RnnOutput(new Tensor(new int[] {steps, b, hid}, out), h, c);
    }

    /** The model with W_ih and W_hh rounded to {@code precision} (biases unchanged, as the engines keep them fp32). */
    static RnnModel roundWeights(RnnModel model, Precision precision) {
        List<Layer> out = new ArrayList<>();
        for (Layer l : model.layers()) {
            out.add(new Layer(round(l.wIh(), precision), round(l.wHh(), precision), l.bIh(), l.bHh()));
        }
        return new RnnModel(model.cell(), out);
    }

    /** {@code w} stored as the GPU engines store a {@code precision} operand and read back. */
    private static Tensor round(Tensor w, Precision precision) {
        return new Tensor(w.shape(), EngineTesting.rounded(precision, w.data()));
    }
}
