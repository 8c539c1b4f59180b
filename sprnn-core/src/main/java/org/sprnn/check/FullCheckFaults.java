package org.sprnn.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.check.FullCheckJobs.Job;
import org.sprnn.check.FullCheckJobs.ModelKey;
import org.sprnn.check.FullCheckJobs.Shape;
import org.sprnn.check.FullCheckReport.Row;
import org.sprnn.check.FullCheckState.Planned;
import org.sprnn.check.FullCheckState.Reference;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.engine.cuda.SparsePersistentEngine.Variant;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.PlanOptions;

/**
 * Why this file exists: the faults section of {@code kernel-check --full}. Per cell and exchange, a kernel compiled
 * with one CTA made to stop must make the run throw a one-line error naming layer, step and CTA, again on a second
 * run (the engine survives its fault), and a normal engine on the same device must still pass afterwards. Its jobs
 * and its check live together because neither means anything without the other.
 */
final class FullCheckFaults {
    /** The stalled CTA's spin bound and where it stops. */
    static final long FAULT_TIMEOUT_NS = 50_000_000L;
    static final int STALL_CTA = 0;
    static final int STALL_STEP = 5;
    private static final Pattern FAULT_LINE = Pattern.compile("layer (\\d+): kernel gave up at step (\\d+) in CTA (\\d+): ");

    private FullCheckFaults() {
    }

    /** The fault job of one cell and exchange: the stalled variant at one shape. */
    static Job faultJob(CellType c, ExchangeMode e, long seed) {
        ModelKey m = FullCheckJobs.synthetic(c, 300, 1, 0.1, seed);
        return new Job("faults", m, PlanOptions.defaults().withExchange(e),
                Variant.NORMAL.withStall(STALL_CTA, STALL_STEP, FAULT_TIMEOUT_NS),
                List.of(new Shape(m, 3, 64)));
    }

    /** The same model, options and shapes as fault job {@code j}, without the stall (the run after the fault). */
    static Job normalJob(Job j) {
        return new Job("faults", j.model(), j.options(), Variant.NORMAL, j.shapes());
    }

    /**
     * One exchange's fault path: the stalled kernel must throw a one-line error naming layer 0, the stall's step (or
     * the next, where consumers wait for it) and a CTA, twice (the engine survives its fault), and then a normal
     * engine on the same device must still pass.
     */
    static void faultCheck(FullCheckState st, FullCheckReport report, Job j) {
        Shape s = j.shapes().get(0);
        String cell = j.model().cell().id();
        String what = String.format(Locale.ROOT, "%s B=%d T=%d %s, CTA %d stops at step %d, spins bounded at %d ms",
                j.model(), s.batch(), s.steps(), j.options().exchange().id(), STALL_CTA, STALL_STEP, FAULT_TIMEOUT_NS / 1_000_000);
        Planned p = FullCheckState.get(st.plan(j, s.batch()));
        if (p.refusal() != null) {
            report.add(new Row("faults", j.options().weights(), cell, what, "-", Double.NaN, FullCheckReport.refusedCorrectly(p.refusal()) ? "REFUSED" : "FAIL",
                    p.refusal()));
            return;
        }
        String kernel = EngineTesting.sparsePersistentKernel(p.plans().get(0).spec(), j.variant()).name();
        RnnModel model = FullCheckState.get(st.model(j.model()));
        Reference ref = FullCheckState.get(st.reference(s));
        List<String> problems = new ArrayList<>();
        String first = null;
        long t0 = System.nanoTime();
        try (SparsePersistentEngine e = EngineTesting.sparsePersistent(model, st.limits, j.options(), j.variant())) {
            EngineTesting.usePlans(e, s.batch(), p.plans());
            for (int attempt = 0; attempt < 2; attempt++) {
                try {
                    e.run(ref.x(), ref.h0(), ref.c0());
                    problems.add("run " + (attempt + 1) + " did not throw");
                } catch (SprnnException ex) {
                    String m = ex.getMessage();
                    first = first == null ? m : first;
                    Matcher mm = FAULT_LINE.matcher(m);
                    if (m.contains("\n") || !m.startsWith(SparsePersistentEngine.NAME + ": ") || !mm.find()) {
                        problems.add("run " + (attempt + 1) + " message not one line naming layer, step and CTA: " + m);
                    } else {
                        int layer = Integer.parseInt(mm.group(1)), step = Integer.parseInt(mm.group(2));
                        if (layer != 0 || step < STALL_STEP || step > STALL_STEP + 1) {
                            problems.add("run " + (attempt + 1) + " names layer " + layer + " step " + step + ", expected layer 0 step "
                                    + STALL_STEP + " or " + (STALL_STEP + 1) + ": " + m);
                        }
                        if (m.contains("context is lost")) {
                            problems.add("run " + (attempt + 1) + " lost the context: " + m);
                        }
                    }
                }
            }
        } catch (RuntimeException ex) {
            problems.add("engine: " + FullCheckReport.oneLine(ex));
        }
        double faultSeconds = (System.nanoTime() - t0) / 1e9;
        // the device is still usable: a normal engine, same model and input, passes
        double err = Double.NaN;
        Planned normal = FullCheckState.get(st.plan(normalJob(j), s.batch()));
        // a draw beyond fp16's (or float32's: no reference) range is compared damped, as the matrix does
        Fp16Range.Damped d = Fp16Range.damp(model, ref.x(), ref.h0(), ref.c0(), ref.want());
        try (SparsePersistentEngine e = new SparsePersistentEngine(d.model(), st.limits, j.options())) {
            if (d.want() == null) {
                throw new SprnnException("the drawn model leaves float32's range even with W_hh x " + Fp16Range.factorText(d.factor()));
            }
            EngineTesting.usePlans(e, s.batch(), normal.plans());
            err = RelativeError.of(e.run(ref.x(), ref.h0(), ref.c0()), d.want());
            if (!(err <= j.options().weights().tolerance())) {
                problems.add(String.format(Locale.ROOT, "normal run after the fault: error %.2e", err));
            }
        } catch (RuntimeException ex) {
            problems.add("normal run after the fault: " + FullCheckReport.oneLine(ex));
        }
        report.add(new Row("faults", j.options().weights(), cell, what, kernel, err, problems.isEmpty() ? "PASS" : "FAIL",
                (problems.isEmpty() ? String.format(Locale.ROOT, "2 faulted runs in %.2f s, threw: ", faultSeconds) + first
                        : String.join("; ", problems))));
    }
}
