package org.sprnn.check;

import java.util.ArrayList;
import java.util.List;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * Why this file exists: the 16-bit engines carry h between steps in fp16, so a drawn model whose float64 recurrence
 * leaves fp16's range (a ReLU RNN with a few large weights per row) cannot be held by them by design. Both
 * {@code sprnn selftest} and {@code kernel-check --full} then check that draw with its W_hh halved until the
 * reference stays in range (same sparsity pattern, same kernel, same inputs); this is that one rule.
 */
final class Fp16Range {
    /** The largest finite fp16 value: the kernel's activations (h exchanged between steps) are fp16. */
    static final double FP16_MAX = 65504;

    private Fp16Range() {
    }

    /** A model as checked: W_hh times {@code factor} (1 where the draw stays in range) and its float64 reference. */
    record Damped(double factor, RnnModel model, RnnOutput want) {
    }

    /** A damping factor as the rows print it ({@code 0.25}, not {@code 0.250000}). */
    static String factorText(double factor) {
        return new java.math.BigDecimal(factor).stripTrailingZeros().toPlainString();
    }

    /** The largest |value| of a run's outputs and final states. */
    static double peak(RnnOutput o) {
        double m = 0;
        for (Tensor t : new Tensor[] {o.output(), o.hN(), o.cN()}) {
            if (t != null) {
                for (double v : t.data()) {
                    m = Math.max(m, Math.abs(v));
                }
            }
        }
        return m;
    }

    /** {@code model} with every layer's W_hh times {@code f}. */
    static RnnModel scaleRecurrent(RnnModel model, double f) {
        List<Layer> ls = new ArrayList<>();
        for (Layer l : model.layers()) {
            double[] w = l.wHh().data().clone();
            for (int i = 0; i < w.length; i++) {
                w[i] *= f;
            }
            ls.add(new Layer(l.wIh(), new Tensor(l.wHh().shape(), w), l.bIh(), l.bHh()));
        }
        return new RnnModel(model.cell(), ls);
    }

    /**
     * The float64 reference of {@code model} on x, h0, c0, or null where the recurrence leaves even float32's range (the
     * reference engine keeps the engines' float32 contract and refuses such a run with an {@code overflow:} error).
     */
    static RnnOutput reference(RnnModel model, Tensor x, Tensor h0, Tensor c0) {
        try {
            return new CpuReferenceEngine(model).run(x, h0, c0);
        } catch (org.sprnn.SprnnException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("overflow: ")) {
                return null;
            }
            throw e;
        }
    }

    /** {@link #peak} of a {@link #reference}; infinite for null (beyond float32's range). */
    static double peakOrInfinite(RnnOutput o) {
        return o == null ? Double.POSITIVE_INFINITY : peak(o);
    }

    /**
     * {@code model} (whose float64 reference on x, h0, c0 is {@code want}, null where it left float32's range) with
     * W_hh halved until its reference stays within fp16's range, down to a factor of about 1e-3; unchanged where it
     * already does. Where even that factor leaves it out of range the returned reference may be null.
     */
    static Damped damp(RnnModel model, Tensor x, Tensor h0, Tensor c0, RnnOutput want) {
        double f = 1;
        RnnModel m = model;
        RnnOutput w = want;
        while (peakOrInfinite(w) > FP16_MAX && f > 1e-3) {
            f /= 2;
            m = scaleRecurrent(model, f);
            w = reference(m, x, h0, c0);
        }
        return new Damped(f, m, w);
    }
}
