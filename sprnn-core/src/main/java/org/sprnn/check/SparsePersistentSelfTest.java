package org.sprnn.check;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;

/**
 * The correctness matrix of {@code cuda-sparse-persistent} on a real GPU (issue 4): every cell against
 * {@code cpu-reference} on fresh random models and inputs, outputs poisoned, relative error ≤ 3e-3 with fp16
 * weights, over hidden sizes, batches, densities, sequence lengths, every exchange and switch combination at one
 * shape, stacked layers, batches of sequences of different lengths (the kernel's lengths variant, issue 17: against
 * cpu-reference with the same lengths, the padding NaN, every output after a sequence's end exactly zero), and a layer
 * that must be refused with its capacity numbers. Runs where the JVM runs
 * ({@code sprnn kernel-check}); JUnit cannot reach the GPU machine.
 */
public final class SparsePersistentSelfTest {
    static final double TOLERANCE = 3e-3;

    private SparsePersistentSelfTest() {
    }

    /** One case: model shape, run shape, plan options, and per-sequence lengths (empty: every sequence T steps). */
    record Case(CellType cell, int hidden, int layers, double density, int batch, int steps, PlanOptions options, List<Integer> lengths,
                boolean unequalRows) {
        /** A case of whole sequences. */
        Case(CellType cell, int hidden, int layers, double density, int batch, int steps, PlanOptions options) {
            this(cell, hidden, layers, density, batch, steps, options, List.of(), false);
        }

        /** This case on a model whose rows hold unequal counts ({@link SyntheticModels#randomUnequalRows}). */
        Case unequal() {
            return new Case(cell, hidden, layers, density, batch, steps, options, lengths, true);
        }

        /** The case's model: {@link SyntheticModels#random} (every row the same count) or, for unequal rows, {@link SyntheticModels#randomUnequalRows}. */
        RnnModel model(int input, long seed) {
            return unequalRows ? SyntheticModels.randomUnequalRows(cell, input, hidden, layers, density, 1.0, seed)
                    : SyntheticModels.random(cell, input, hidden, layers, density, 1.0, seed);
        }

        /** This case with per-sequence lengths (one per batch element, 1..T, not all T). */
        Case withLengths(Integer... len) {
            if (len.length != batch || java.util.Arrays.stream(len).allMatch(l -> l == steps)
                    || java.util.Arrays.stream(len).anyMatch(l -> l < 1 || l > steps)) {
                throw new IllegalArgumentException("lengths " + java.util.Arrays.toString(len) + " for B=" + batch + " T=" + steps);
            }
            return new Case(cell, hidden, layers, density, batch, steps, options, List.of(len), unequalRows);
        }

        /** The lengths, or null for whole sequences. */
        SequenceLengths sequenceLengths() {
            return lengths.isEmpty() ? null : SequenceLengths.of(lengths.stream().mapToInt(Integer::intValue).toArray());
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s H=%d L=%d d=%.2f%s B=%d T=%d %s", cell.id(), hidden, layers, density,
                    unequalRows ? " unequal rows" : "", batch, steps, optionsLabel(options)) + (lengths.isEmpty() ? "" : " lengths " + lengths.stream().map(String::valueOf)
                    .collect(java.util.stream.Collectors.joining(",")));
        }
    }

    /** Plan options as a check's rows name them: exchange and switches, then bf16 and run-time row ends where set. */
    static String optionsLabel(PlanOptions o) {
        if (o.dense()) {
            return "dense " + (o.exchange() == null ? "auto" : o.exchange().id()) + (o.weights() != Precision.FP16 ? " " + o.weights().id() : "");
        }
        return (o.exchange() == null ? "auto" : o.exchange().id()) + (o.wideLoads() ? " wide" : " scalar")
                + (o.bankAware() ? " bank" : " natural") + (o.balanced() ? " bal" : " naive")
                + (o.weights() != Precision.FP16 ? " " + o.weights().id() : "") + (o.compiledRowEnds() ? "" : " run-time row ends")
                + (o.ctaTails() ? " cta tail" : "") + (o.tailSmem() ? " tail smem" : "")
                + (o.placement() != PlanOptions.defaults().placement() ? " place " + o.placement().id() : "");
    }

    static List<Case> cases(boolean quick) {
        List<Case> cs = new ArrayList<>();
        PlanOptions auto = PlanOptions.defaults();
        for (CellType c : CellType.values()) {
            cs.add(new Case(c, 64, 1, 0.3, 1, 7, auto));
            cs.add(new Case(c, 64, 1, 0.3, 4, 1, auto));
            cs.add(new Case(c, 300, 1, 0.1, 3, 64, auto));
            cs.add(new Case(c, 300, 1, 1.0, 8, 7, auto));
            cs.add(new Case(c, 1152, 1, 0.1, 4, 64, auto));
            if (!quick) {
                cs.add(new Case(c, 2304, 1, 0.01, 16, 7, auto));
                cs.add(new Case(c, 1152, 1, 0.3, 1, 256, auto));
                cs.add(new Case(c, 300, 1, 0.1, 3, 64, auto.withExchange(ExchangeMode.TIMESTAMPS)));
                cs.add(new Case(c, 300, 1, 0.1, 3, 64, auto.withExchange(ExchangeMode.GRID_BARRIER)));
            }
        }
        // every exchange with every switch off, then each switch alone on, at one shape
        for (ExchangeMode e : ExchangeMode.values()) {
            PlanOptions base = new PlanOptions(e, false, false, false, 0, 0, Precision.FP16);
            cs.add(new Case(CellType.RNN_RELU, 300, 1, 0.1, 3, 64, base));
            if (!quick) {
                cs.add(new Case(CellType.RNN_RELU, 300, 1, 0.1, 3, 64, base.withSwitches(true, false, false)));
                cs.add(new Case(CellType.RNN_RELU, 300, 1, 0.1, 3, 64, base.withSwitches(false, true, false)));
                cs.add(new Case(CellType.RNN_RELU, 300, 1, 0.1, 3, 64, base.withSwitches(false, false, true)));
                cs.add(new Case(CellType.RNN_RELU, 4096, 1, 0.01, 4, 64, base.withSwitches(true, true, true)));
            }
        }
        // the synthetic layers' rows are all alike, so full warps get their row ends compiled in: the general slot loop
        // (row ends tested at run time, as for pruned rows of unequal length) on the same layers
        for (CellType c : new CellType[] {CellType.RNN_RELU, CellType.GRU, CellType.LSTM}) {
            cs.add(new Case(c, 1152, 1, 0.1, 4, 64, auto.withExchange(ExchangeMode.CLUSTER).withCompiledRowEnds(false)));
        }
        // rows of unequal length (as magnitude pruning leaves them): the shared-tail layout, ends compiled in, every cell,
        // each exchange, the padded batch column and PB 16; beside them the general loop on the same layers
        for (CellType c : CellType.values()) {
            cs.add(new Case(c, 1152, 1, 0.1, 4, 64, auto).unequal());
            cs.add(new Case(c, 1152, 1, 0.1, 4, 64, auto.withCompiledRowEnds(false)).unequal());
            if (c.gates() > 1) { // the warp tail's sums in shared memory (SPRNN_ROW_ENDS=tail-smem, an experiment)
                cs.add(new Case(c, 1152, 1, 0.1, 4, 64, auto.withTailSmem(true)).unequal());
            }
            if (!quick) {
                for (ExchangeMode e : ExchangeMode.values()) {
                    cs.add(new Case(c, 300, 1, 0.3, 3, 64, auto.withExchange(e)).unequal());
                }
                cs.add(new Case(c, 1152, 1, 0.1, 16, 7, auto).unequal());
                cs.add(new Case(c, 300, 1, 0.3, 4, 50, auto).unequal().withLengths(17, 50, 1, 33));
            }
        }
        // warps of one row of unequal length sharing a tail across their CTA (SPRNN_ROW_ENDS=cta, opt-in): relu and tanh,
        // at 1152 / 10% and the paper's 2304 / 30%; without --quick each exchange, PB 16 and lengths
        for (CellType c : new CellType[] {CellType.RNN_RELU, CellType.RNN_TANH}) {
            PlanOptions cta = auto.withCtaTails(true);
            cs.add(new Case(c, 1152, 1, 0.1, 4, 64, cta).unequal());
            if (!quick) {
                for (ExchangeMode e : ExchangeMode.values()) {
                    cs.add(new Case(c, 300, 1, 0.3, 3, 64, cta.withExchange(e)).unequal());
                }
                cs.add(new Case(c, 1152, 1, 0.1, 16, 7, cta).unequal());
                cs.add(new Case(c, 300, 1, 0.3, 4, 50, cta).unequal().withLengths(17, 50, 1, 33));
            }
        }
        cs.add(new Case(CellType.RNN_RELU, 2304, 1, 0.3, 4, 64, auto.withCtaTails(true)).unequal());
        cs.add(new Case(CellType.RNN_RELU, 256, 3, 0.3, 4, 50, auto));  // stacked
        cs.add(new Case(CellType.LSTM, 256, 2, 0.3, 4, 50, auto));
        cs.add(new Case(CellType.GRU, 256, 2, 0.1, 3, 50, auto));
        cs.addAll(lengthsCases(quick, auto));
        return cs;
    }

    /**
     * Batches of sequences of different lengths through the kernel's lengths variant ({@code SPRNN_LENGTHS}) in plan
     * options {@code o} (the sparse or the dense engine's): every cell, every exchange, a padded batch column (B=3 in
     * PB=4), PB 16, stacked layers, and sequences longer than one launch, so that a later launch's first step
     * ({@code step0}) counts; no sequence but one fills T in some, none in others.
     */
    static List<Case> lengthsCases(boolean quick, PlanOptions o) {
        List<Case> cs = new ArrayList<>();
        for (CellType c : CellType.values()) {
            cs.add(new Case(c, 300, 1, o.dense() ? 1.0 : 0.1, 3, 64, o).withLengths(64, 1, 37));
            for (ExchangeMode e : ExchangeMode.values()) {
                if (!quick || c == CellType.LSTM) {
                    cs.add(new Case(c, 200, 1, o.dense() ? 1.0 : 0.3, 4, 50, o.withExchange(e)).withLengths(17, 50, 1, 33));
                }
            }
        }
        cs.add(new Case(CellType.LSTM, 256, 2, 0.3, 4, 50, o).withLengths(13, 2, 49, 31)); // stacked, none fills T
        cs.add(new Case(CellType.GRU, 256, 3, 0.3, 3, 40, o).withLengths(40, 9, 22));
        cs.add(new Case(CellType.RNN_RELU, 1152, 1, o.dense() ? 1.0 : 0.1, 4, 300, o).withLengths(300, 257, 12, 256)); // 2 launches
        if (!quick) {
            cs.add(new Case(CellType.LSTM, 1152, 1, o.dense() ? 1.0 : 0.1, 4, 300, o).withLengths(3, 300, 256, 280));
            cs.add(new Case(CellType.GRU, 1152, 1, o.dense() ? 1.0 : 0.1, 16, 20,
                    o).withLengths(20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 19));
        }
        return cs;
    }

    /**
     * The cases of {@code cuda-dense-persistent} (the kernel's dense mode) besides those at its capacity: every cell,
     * fp16 and bf16, each exchange, stacked layers, dense and pruned W_hh (the dense mode holds the zeros).
     */
    static List<Case> denseCases(boolean quick) {
        List<Case> cs = new ArrayList<>();
        PlanOptions fp16 = PlanOptions.denseDefaults(Precision.FP16);
        PlanOptions bf16 = PlanOptions.denseDefaults(Precision.BF16);
        for (CellType c : CellType.values()) {
            cs.add(new Case(c, 64, 1, 1.0, 1, 7, fp16));
            cs.add(new Case(c, 300, 1, 0.3, 3, 64, fp16));
            cs.add(new Case(c, 1152, 1, 1.0, 4, 64, fp16));
            cs.add(new Case(c, 300, 1, 1.0, 8, 7, bf16));
            for (ExchangeMode e : ExchangeMode.values()) {
                if (!quick || c == CellType.LSTM) {
                    cs.add(new Case(c, 200, 1, 1.0, 3, 50, fp16.withExchange(e)));
                }
            }
            if (!quick) {
                cs.add(new Case(c, 97, 1, 1.0, 16, 7, fp16));
                cs.add(new Case(c, 1152, 1, 0.1, 4, 64, bf16.withExchange(ExchangeMode.CLUSTER)));
            }
        }
        cs.add(new Case(CellType.RNN_RELU, 256, 3, 1.0, 4, 50, fp16)); // stacked
        cs.add(new Case(CellType.LSTM, 256, 2, 1.0, 4, 50, fp16));
        cs.add(new Case(CellType.GRU, 256, 2, 0.3, 3, 50, bf16));
        cs.addAll(lengthsCases(quick, fp16));
        return cs;
    }

    /** Which engines' cases {@link #run(boolean, long, PrintStream, Set)} runs. */
    public static final Set<String> ENGINES = Set.of(SparsePersistentEngine.NAME, SparsePersistentEngine.DENSE_NAME);

    /** Runs the matrix of both engines; returns the number of failures. */
    public static int run(boolean quick, long seed, PrintStream out) {
        return run(quick, seed, out, ENGINES);
    }

    /**
     * Runs the matrix of {@code engines} ({@link #ENGINES}); returns the number of failures. The dense engine's part adds,
     * per cell at batch 4, a layer at its capacity on this device ({@link Plan#denseCapacity}, T 8) and one 64 units
     * beyond it, which must be refused with the capacity numbers.
     */
    public static int run(boolean quick, long seed, PrintStream out, Set<String> engines) {
        DeviceLimits limits = GpuStatus.deviceLimits().orElseThrow(() -> new SprnnException("kernel-check: no usable GPU: "
                + GpuStatus.problem().orElse("unknown")));
        for (String e : engines) {
            if (!ENGINES.contains(e)) {
                throw new SprnnException("kernel-check: --engine " + e + ": expected " + String.join(" or ", new TreeSet<>(ENGINES)));
            }
        }
        boolean sparse = engines.contains(SparsePersistentEngine.NAME);
        boolean dense = engines.contains(SparsePersistentEngine.DENSE_NAME);
        List<Case> cases = new ArrayList<>(sparse ? cases(quick) : List.of());
        List<Case> refuse = new ArrayList<>();
        if (dense) {
            cases.addAll(denseCases(quick));
            PlanOptions fp16 = PlanOptions.denseDefaults(Precision.FP16);
            for (CellType c : quick ? List.of(CellType.RNN_RELU, CellType.LSTM) : List.of(CellType.values())) {
                int cap = Plan.denseCapacity(c, 4, limits, fp16).hidden();
                cases.add(new Case(c, cap, 1, 1.0, 4, 8, fp16));
                refuse.add(new Case(c, cap + 64, 1, 1.0, 4, 8, fp16));
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors() - 1), r -> {
            Thread t = new Thread(r, "kernel-check-reference");
            t.setDaemon(true);
            return t;
        });
        int failures = 0;
        try {
            Map<Case, Future<Object[]>> refs = new LinkedHashMap<>();
            for (Case c : cases) {
                refs.put(c, pool.submit(() -> reference(c, seed)));
            }
            out.printf(Locale.ROOT, "%s; seed %d; tolerance %.0e (fp16 weights, fp32 accumulation); outputs poisoned%n", limits.name(), seed, TOLERANCE);
            out.println("| case | kernel | rel. error | result |");
            out.println("|---|---|---|---|");
            for (Case c : cases) {
                Object[] ref;
                try {
                    ref = refs.get(c).get();
                } catch (InterruptedException | ExecutionException e) {
                    throw new IllegalStateException("reference failed: " + e, e);
                }
                RnnModel model = (RnnModel) ref[4];
                String refusal = SparsePersistentEngine.refusal(model, c.batch(), limits, c.options());
                if (refusal != null) {
                    out.printf(Locale.ROOT, "| %s | - | - | FAIL: refused: %s |%n", c, refusal);
                    failures++;
                    continue;
                }
                String kernel = "-";
                double err;
                String note = "";
                try (SparsePersistentEngine e = new SparsePersistentEngine(model, limits, c.options())) {
                    SequenceLengths lengths = c.sequenceLengths();
                    kernel = lengths == null ? e.plans(c.batch()).get(0).spec().name() : e.plans(c.batch()).get(0).spec().withLengths().name();
                    RnnOutput got = e.run((Tensor) ref[0], (Tensor) ref[1], (Tensor) ref[2], lengths);
                    RnnOutput want = (RnnOutput) ref[3];
                    err = RelativeError.of(got, want);
                    if (lengths != null) {
                        String past = nonZeroPastEnd(got.output(), lengths);
                        if (past != null) {
                            err = Double.NaN;
                            note = ": " + past;
                        }
                    }
                } catch (RuntimeException ex) {
                    err = Double.NaN;
                    note = ": " + ex.getMessage();
                }
                boolean pass = err <= Math.max(TOLERANCE, c.options().weights().tolerance());
                failures += pass ? 0 : 1;
                out.printf(Locale.ROOT, "| %s | %s | %.2e | %s%s |%n", c, kernel, err, pass ? "PASS" : "FAIL", note);
            }
            // a layer too large for the chip must be refused, with the capacity numbers
            if (sparse) {
                refuse.add(new Case(CellType.LSTM, 4096, 1, 1.0, 16, 1, PlanOptions.defaults()));
            }
            for (Case c : refuse) {
                RnnModel big = SyntheticModels.random(c.cell(), 64, c.hidden(), 1, c.density(), 1.0, seed);
                String why = SparsePersistentEngine.refusal(big, c.batch(), limits, c.options());
                boolean refused = why != null && why.contains("capacity");
                failures += refused ? 0 : 1;
                out.printf(Locale.ROOT, "| %s (must be refused) | - | - | %s: %s |%n", c, refused ? "PASS" : "FAIL", why);
            }
            int total = cases.size() + refuse.size();
            out.printf(Locale.ROOT, "kernel-check: %d of %d cases passed%n", total - failures, total);
            return failures;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The case's model, input (with lengths, NaN in every padding step, which a run that read it would show), states
     * and cpu-reference's run of them: {x, h0, c0, want, model}.
     */
    static Object[] reference(Case c, long seed) {
        long s = seed * 1_000_003L + c.toString().hashCode();
        RnnModel model = c.model(24, s);
        Tensor x = SyntheticModels.input(c.steps(), c.batch(), 24, s + 1);
        SequenceLengths lengths = c.sequenceLengths();
        if (lengths != null) {
            for (int b = 0; b < c.batch(); b++) {
                for (int t = lengths.get(b); t < c.steps(); t++) {
                    java.util.Arrays.fill(x.data(), (t * c.batch() + b) * 24, (t * c.batch() + b + 1) * 24, Double.NaN);
                }
            }
        }
        Tensor h0 = SyntheticModels.state(c.layers(), c.batch(), c.hidden(), s + 2);
        Tensor c0 = c.cell().hasCellState() ? SyntheticModels.state(c.layers(), c.batch(), c.hidden(), s + 3) : null;
        RnnOutput want = new CpuReferenceEngine(model).run(x, h0, c0, lengths);
        return new Object[] {x, h0, c0, want, model};
    }

    /** The first output {@code [t][b][u]} at or after sequence b's end that is not exactly 0, described, or null if none. */
    static String nonZeroPastEnd(Tensor out, SequenceLengths lengths) {
        int steps = out.dim(0), batch = out.dim(1), h = out.dim(2);
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                for (int u = 0; t >= lengths.get(b) && u < h; u++) {
                    double v = out.data()[(t * batch + b) * h + u];
                    if (v != 0) {
                        return "output [" + t + "][" + b + "][" + u + "] is " + v + " after sequence " + b + "'s end (length "
                                + lengths.get(b) + "); expected 0";
                    }
                }
            }
        }
        return null;
    }
}
