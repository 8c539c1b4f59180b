package org.sprnn.check;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import org.sprnn.Precision;
import org.sprnn.check.FullCheckJobs.Job;
import org.sprnn.check.FullCheckJobs.Shape;
import org.sprnn.check.FullCheckReport.Row;
import org.sprnn.check.FullCheckState.Planned;
import org.sprnn.check.FullCheckState.Reference;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.model.RnnModel;

/**
 * Why this file exists: the GPU side of one job of {@code kernel-check --full}, the part that decides each row. A
 * refusal is checked for the capacity numbers; the shapes that fit run, in order, on one engine built for the job
 * and given the check's own plans, against their float64 reference. A draw that leaves fp16's range is checked
 * damped ({@link Fp16Range}); a row above tolerance gets a {@link RoundingProbe} where the CPU can afford one, and is
 * counted as amplified by its draw, not failed, where that emulation of the kernel's roundings misses the bound as well.
 */
final class FullCheckRunner {
    /** Work (nonzeros x batch x steps) up to which a failing row gets a {@link RoundingProbe} (about a second each). */
    static final double PROBE_WORK = 3e8;

    private FullCheckRunner() {
    }

    /** Refusals are checked for the capacity numbers; fitting shapes run on one engine against their reference. */
    static void runJob(FullCheckState st, FullCheckReport report, Job j) {
        RnnModel model = null;
        SparsePersistentEngine engine = null;
        Set<Integer> runLengths = new HashSet<>(); // distinct T*B this engine ran
        try {
            for (Shape s : j.shapes()) {
                Planned p = FullCheckState.get(st.plan(j, s.batch()));
                String cell = j.model().cell().id();
                if (p.refusal() != null) {
                    boolean ok = FullCheckReport.refusedCorrectly(p.refusal());
                    report.add(new Row(j.section(), j.options().weights(), cell, j.label(s), "-", Double.NaN, ok ? "REFUSED" : "FAIL",
                            (ok ? "" : "refusal without capacity numbers: ") + p.refusal()));
                    continue;
                }
                String kernel = p.plans().get(0).spec().name();
                try {
                    if (engine == null) {
                        model = FullCheckState.get(st.model(j.model()));
                        engine = EngineTesting.sparsePersistent(model, st.limits, j.options(), j.variant());
                    }
                    EngineTesting.usePlans(engine, s.batch(), p.plans());
                    if (report.firstRun(kernel)) { // the compile report: registers and local (spill) bytes
                        String res = engine.kernelResources(s.batch(), 0);
                        if (!res.endsWith("local=0B")) {
                            report.spill(kernel, res);
                        }
                    }
                    Reference ref = FullCheckState.get(st.reference(s));
                    double peak = Fp16Range.peakOrInfinite(ref.want());
                    if (peak > Fp16Range.FP16_MAX) {
                        report.add(damped(st, j, s, model, ref, kernel, peak));
                        continue;
                    }
                    runLengths.add(s.batch() * s.steps());
                    RnnOutput got = engine.run(ref.x(), ref.h0(), ref.c0());
                    double err = RelativeError.of(got, ref.want());
                    double tol = engine.tolerance();
                    report.add(err <= tol ? new Row(j.section(), j.options().weights(), cell, j.label(s), kernel, err, "PASS", "")
                            : aboveTolerance(j, s, model, ref, kernel, err, tol));
                } catch (RuntimeException e) {
                    report.add(new Row(j.section(), j.options().weights(), cell, j.label(s), kernel, Double.NaN, "FAIL", FullCheckReport.oneLine(e)));
                }
                st.shapeDone(s);
            }
            // the input projection's cuBLASLt plan is built once per (layer, T*B) and kept by the engine
            if (engine != null && EngineTesting.projectionPlans(engine) != runLengths.size() * j.model().layers()) {
                report.add(new Row(j.section(), j.options().weights(), j.model().cell().id(), j.model() + " " + j.optionsLabel() + ": input projection plans",
                        "-", Double.NaN, "FAIL", EngineTesting.projectionPlans(engine) + " plans cached for " + runLengths.size()
                        + " distinct T*B x " + j.model().layers() + " layers"));
            }
        } finally {
            if (engine != null) {
                engine.close();
            }
            st.modelDone(j.model());
        }
    }

    /**
     * A row above tolerance: {@code AMPLIFIED} where the CPU emulation of the kernel's 16-bit roundings shows the draw,
     * not the kernel, misses the bound ({@link RoundingProbe.Explanation#amplified}), else {@code FAIL}; the note gives
     * the emulation's figures where the CPU can afford them.
     */
    private static Row aboveTolerance(Job j, Shape s, RnnModel model, Reference ref, String kernel, double err, double tol) {
        String cell = j.model().cell().id();
        String above = String.format(Locale.ROOT, "above %.0e; ", tol);
        if (Double.isNaN(err)) {
            return new Row(j.section(), j.options().weights(), cell, j.label(s), kernel, err, "FAIL", above + "no rounding probe for NaN");
        }
        double nnz = model.layers().stream().mapToDouble(l -> l.wHh().countNonZero()).sum();
        if (nnz * s.batch() * s.steps() > PROBE_WORK) {
            return new Row(j.section(), j.options().weights(), cell, j.label(s), kernel, err, "FAIL",
                    above + "no rounding probe (too large for the CPU)");
        }
        RoundingProbe.Explanation e = RoundingProbe.probe(model, ref.x(), ref.h0(), ref.c0(), ref.want(), j.options(), 8);
        return new Row(j.section(), j.options().weights(), cell, j.label(s), kernel, err, e.amplified(err, tol) ? "AMPLIFIED" : "FAIL",
                above + e.text(err));
    }

    /**
     * A drawn model whose recurrence explodes (a ReLU RNN with a few large weights per row: the float64 reference
     * leaves fp16's range, which the kernel's fp16 activations cannot hold by design) is checked with W_hh halved
     * until its reference stays in range: same sparsity pattern, same kernel, same inputs.
     */
    private static Row damped(FullCheckState st, Job j, Shape s, RnnModel model, Reference ref, String kernel, double peak) {
        String cell = j.model().cell().id();
        Fp16Range.Damped d = Fp16Range.damp(model, ref.x(), ref.h0(), ref.c0(), ref.want());
        String why = String.format(Locale.ROOT, "drawn W_hh explodes (float64 %s > fp16 max): checked with W_hh x %s",
                Double.isInfinite(peak) ? "recurrence beyond float32's range" : String.format(Locale.ROOT, "max |h| %.1e", peak),
                Fp16Range.factorText(d.factor()));
        if (d.want() == null || Fp16Range.peak(d.want()) > Fp16Range.FP16_MAX) {
            return new Row(j.section(), j.options().weights(), cell, j.label(s), kernel, Double.NaN, "FAIL", why + ": still beyond fp16's range");
        }
        try (SparsePersistentEngine e = EngineTesting.sparsePersistent(d.model(), st.limits, j.options(), j.variant())) {
            double err = RelativeError.of(e.run(ref.x(), ref.h0(), ref.c0()), d.want());
            double tol = e.tolerance();
            return new Row(j.section(), j.options().weights(), cell, j.label(s), kernel, err, err <= tol ? "PASS" : "FAIL", why);
        } catch (RuntimeException ex) {
            return new Row(j.section(), j.options().weights(), cell, j.label(s), kernel, Double.NaN, "FAIL", why + ": " + FullCheckReport.oneLine(ex));
        }
    }
}
