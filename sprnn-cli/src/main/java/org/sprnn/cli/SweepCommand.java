package org.sprnn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.Progress;
import org.sprnn.SprnnException;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.prune.PruneSpec;
import org.sprnn.prune.Pruner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sprnn bench sweep}: every combination of the listed cells, hidden sizes, layer counts, densities, pruning
 * kinds, batches and sequence lengths, each engine of the list verified against cpu-reference and then timed, one row per
 * engine and point appended to sweep.csv and sweep.jsonl as each point completes (with the device, driver, library
 * versions, the sprnn commit and the whole configuration): the data of the evaluation's figures, for {@code sprnn plot}.
 */
@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = {"Times the engines over every combination of the lists given (each list one value by default): "
                + "each engine checked against cpu-reference first (--verify-steps), then the median and spread of --reps "
                + "replays (CUDA events on the GPU, wall clock elsewhere) after --warmup, --input-sets inputs rotated. "
                + "Pruning kinds: per-row (the same nonzeros in every row, the synthetic default); per-matrix, balanced and "
                + "bank-balanced (a dense random W_hh pruned by magnitude as sprnn prune --mode does: over the whole "
                + "matrix, rows of unequal length as users' models have; equal within one in each group of 32 rows; "
                + "equal in every bank of column mod 32). "
                + "With --case (repeatable), explicit layers instead of the product of --cell, --hidden, --layers, --batch and "
                + "--steps: each case at every density and pruning kind, its name in the rows' case column (the case studies). "
                + "Exit 1 when an engine disagreed with cpu-reference or failed, 4 when --deadline-s cut the sweep short; an "
                + "engine that cannot run a point (no GPU, a shape it refuses) is a row of its own, 'infeasible', not an error "
                + "(exit 0 even where no engine could run any point)."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn bench sweep --density 0.01,0.05,0.1,0.3,1 --hidden 1152,2304,4608 --out-dir results/sweep/density",
                "  sprnn bench sweep --batch 1,2,4,8,16,32 --hidden 2304 --density 0.1,0.3 --out-dir results/sweep/batch",
                "  sprnn bench sweep --steps 16,64,256,1024 --pruning per-row,per-matrix --cell gru,lstm",
                "  sprnn bench sweep --hidden 1152,5760 --density 0.1 --pruning per-row,per-matrix,balanced,bank-balanced",
                "  sprnn bench sweep --engines cpu,cpu-reference --hidden 64,128 --steps 8 --reps 20   (no GPU)",
                "  sprnn bench sweep --case nmt-enc=lstm/500/2/1/50 --case deepbench-gru=gru/2816/1/4/1500 --density 0.1,0.3",
                "  sprnn plot --out density.svg results/sweep/density/sweep.csv"})
final class SweepCommand extends SprnnCommand {
    @Option(names = "--cell", split = ",", defaultValue = "rnn_relu", description = "cells (default: ${DEFAULT-VALUE})")
    List<String> cells;

    @Option(names = "--hidden", split = ",", defaultValue = "2304", description = "hidden sizes (default: ${DEFAULT-VALUE})")
    List<Integer> hiddens;

    @Option(names = "--layers", split = ",", defaultValue = "1", description = "stacked layers (default: ${DEFAULT-VALUE})")
    List<Integer> layerCounts;

    @Option(names = "--density", split = ",", defaultValue = "0.1", description = "W_hh densities in (0,1] (default: ${DEFAULT-VALUE})")
    List<Double> densities;

    @Option(names = "--pruning", split = ",", defaultValue = "per-row", description = "per-row, per-matrix, balanced, bank-balanced (default: ${DEFAULT-VALUE})")
    List<String> prunings;

    @Option(names = "--batch", split = ",", defaultValue = "4", description = "batch sizes (default: ${DEFAULT-VALUE})")
    List<Integer> batches;

    @Option(names = "--steps", split = ",", defaultValue = "256", description = "sequence lengths T (default: ${DEFAULT-VALUE})")
    List<Integer> stepsList;

    @Option(names = "--engines", split = ",",
            defaultValue = "cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm,cuda-spmm,cuda-cudnn",
            description = "engines timed at each point; 'auto' adds the engine auto picks (default: ${DEFAULT-VALUE})")
    List<String> engines;

    @Option(names = "--input", description = "input size I (default: the hidden size)")
    Integer input;

    @Option(names = "--case", paramLabel = "NAME=CELL/HIDDEN/LAYERS/BATCH/T[/INPUT]",
            description = "an explicit layer instead of the product of the lists (repeatable; not with --cell, --hidden, --layers, "
                    + "--batch, --steps): e.g. nmt-dec=lstm/500/2/5/50/1000; its INPUT defaults to --input, else the hidden size")
    List<String> cases = new ArrayList<>();

    @Option(names = "--precision", defaultValue = "fp16", description = "GPU weight precision (default: ${DEFAULT-VALUE})")
    String precision;

    @Option(names = "--reps", defaultValue = "20", description = "timed replays per engine and point, >= 20 (default: ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--warmup", defaultValue = "5", description = "untimed replays first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--input-sets", defaultValue = "4", description = "input sets rotated between replays (default: ${DEFAULT-VALUE})")
    int inputSets;

    @Option(names = "--verify-steps", defaultValue = "8", description = "T of each engine's check against cpu-reference (default: ${DEFAULT-VALUE})")
    int verifySteps;

    @Option(names = "--deadline-s", description = "start no point after this many seconds; the rows so far are kept (exit 4)")
    Integer deadlineSeconds;

    @Mixin
    SeedOption seedOption;

    @Option(names = "--out-dir", description = "append rows to sweep.csv and sweep.jsonl here")
    Path outDir;

    /** One point: the configuration; {@code name} the case's ("" for the lists' product), {@code input} 0 for the default. */
    private record Point(String name, CellType cell, int hidden, int layers, double density, PruneSpec.Mode pruning, int batch,
                         int steps, int input) {
        String describe() {
            return String.format(Locale.ROOT, "%s%s x%d H %d d %.3f %s B %d T %d", name.isEmpty() ? "" : name + ": ", cell.id(), layers,
                    hidden, density, pruning.id(), batch, steps) + (input > 0 ? " I " + input : "");
        }
    }

    /** One --case: NAME=CELL/HIDDEN/LAYERS/BATCH/T[/INPUT]. */
    private record Case(String name, CellType cell, int hidden, int layers, int batch, int steps, int input) {
        static Case parse(String spec) {
            String usage = "--case: expected NAME=CELL/HIDDEN/LAYERS/BATCH/T[/INPUT] (e.g. nmt-enc=lstm/500/2/1/50), got "
                    + org.sprnn.io.Untrusted.quote(spec);
            int eq = spec.indexOf('=');
            if (eq <= 0) {
                throw new SprnnException(usage);
            }
            String name = spec.substring(0, eq);
            if (!name.matches("[A-Za-z0-9._+-]{1,40}")) {
                throw new SprnnException("--case: a name of 1 to 40 letters, digits and . _ + -, got " + org.sprnn.io.Untrusted.quote(name));
            }
            String[] f = spec.substring(eq + 1).split("/", -1);
            if (f.length != 5 && f.length != 6) {
                throw new SprnnException(usage);
            }
            int[] v = new int[5];
            for (int i = 1; i < f.length; i++) {
                try {
                    v[i - 1] = Integer.parseInt(f[i].strip());
                } catch (NumberFormatException e) {
                    throw new SprnnException(usage);
                }
                if (v[i - 1] < 1) {
                    throw new SprnnException("--case " + name + ": HIDDEN, LAYERS, BATCH, T and INPUT must be >= 1, got " + f[i].strip());
                }
            }
            return new Case(name, CellType.parse(f[0].strip()), v[0], v[1], v[2], v[3], f.length == 6 ? v[4] : 0);
        }
    }

    @Override
    public Integer call() throws IOException {
        if (reps < 20) {
            throw new SprnnException("--reps: at least 20 replays, got " + reps);
        }
        if (inputSets < 1 || warmup < 0 || verifySteps < 1 || (input != null && input < 1)) {
            throw new SprnnException("--input-sets >= 1, --warmup >= 0, --verify-steps >= 1, --input >= 1");
        }
        positive("--hidden", hiddens);
        positive("--layers", layerCounts);
        positive("--batch", batches);
        positive("--steps", stepsList);
        for (double d : densities) {
            if (!(d > 0 && d <= 1)) {
                throw new SprnnException("--density: must be in (0,1], got " + d);
            }
        }
        List<CellType> cellTypes = cells.stream().map(CellType::parse).toList();
        List<PruneSpec.Mode> modes = new ArrayList<>();
        for (String m : prunings) {
            try {
                modes.add(PruneSpec.Mode.parse(m));
            } catch (SprnnException e) {
                throw new SprnnException(e.getMessage().replace("--mode", "--pruning"));
            }
        }
        for (String e : engines) {
            if (!e.equals("auto")) {
                EngineProvider.factory(e); // an unknown name fails here, before any work
            }
        }
        Precision prec = Precision.parse("--precision", precision, EngineOptions.PRECISIONS);
        List<Point> points = new ArrayList<>();
        if (!cases.isEmpty()) {
            for (String o : List.of("--cell", "--hidden", "--layers", "--batch", "--steps")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                    throw new SprnnException("--case: the cases name their cell, hidden size, layers, batch and T; " + o + " is not taken with them");
                }
            }
            List<Case> parsed = new ArrayList<>();
            for (String cs : cases) {
                Case c = Case.parse(cs);
                if (parsed.stream().anyMatch(o -> o.name().equals(c.name()))) {
                    throw new SprnnException("--case: the name " + c.name() + " is given twice");
                }
                parsed.add(c);
            }
            // density and pruning outermost: consecutive cases of one layer shape (batches, T) share the drawn model
            for (double d : densities) {
                for (PruneSpec.Mode m : modes) {
                    for (Case c : parsed) {
                        points.add(new Point(c.name(), c.cell(), c.hidden(), c.layers(), d, m, c.batch(), c.steps(), c.input()));
                    }
                }
            }
            cellTypes = List.of();
        }
        for (CellType c : cellTypes) {
            for (int h : hiddens) {
                for (int l : layerCounts) {
                    for (double d : densities) {
                        for (PruneSpec.Mode m : modes) {
                            for (int b : batches) {
                                for (int t : stepsList) {
                                    points.add(new Point("", c, h, l, d, m, b, t, 0));
                                }
                            }
                        }
                    }
                }
            }
        }
        if (outDir != null) {
            Options.outDir(outDir);
            CsvRow.check(outDir.resolve("sweep.csv"), HEADER);
        }
        if (Options.anyGpuEngine(engines)) { // the GPU and its libraries, where a GPU engine was asked for
            GpuStatus.describe().forEach(out()::println);
        }
        Map<String, String> env = GpuStatus.versions();
        long start = System.nanoTime();
        Progress progress = Progress.of("bench sweep", points.size(), System.err);
        RnnModel model = null;
        Point modelOf = null;
        int done = 0, wrong = 0;
        for (Point p : points) {
            if (deadlineSeconds != null && (System.nanoTime() - start) / 1e9 > deadlineSeconds) {
                err().printf(Locale.ROOT, "sprnn bench sweep: --deadline-s %d reached after %d of %d points%n", deadlineSeconds, done,
                        points.size());
                return wrong > 0 ? 1 : 4;
            }
            if (modelOf == null || !sameModel(modelOf, p)) {
                model = model(p);
                modelOf = p;
            }
            List<EngineTrial> trials = measure(model, p, prec);
            done++;
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "[%d/%d] %s:", done, points.size(), p.describe()));
            for (EngineTrial t : trials) {
                line.append(' ').append(t.engine()).append(t.timed() ? String.format(Locale.ROOT, " %.2f", t.microsPerStep())
                        : t.disagrees() ? " WRONG" : t.failed() ? " FAILED" : " -");
                wrong += t.failed() ? 1 : 0;
            }
            out().println(line);
            progress.step(p.describe());
            if (outDir != null) {
                append(p, trials, model, env);
            }
        }
        if (outDir != null) {
            out().println("rows appended to " + outDir.resolve("sweep.csv") + " and sweep.jsonl");
        }
        if (wrong > 0) {
            err().printf(Locale.ROOT, "sprnn bench sweep: %d engine run(s) disagreed with cpu-reference or failed (WRONG, FAILED above)%n", wrong);
            return 1;
        }
        return 0;
    }

    private static void positive(String option, List<Integer> values) {
        for (int v : values) {
            if (v < 1) {
                throw new SprnnException(option + ": must be >= 1, got " + v);
            }
        }
    }

    private static boolean sameModel(Point a, Point b) {
        return a.cell() == b.cell() && a.hidden() == b.hidden() && a.layers() == b.layers() && a.density() == b.density()
                && a.pruning() == b.pruning() && a.input() == b.input();
    }

    /** The point's model: per-row as SyntheticModels draws it, any other kind a dense draw pruned in that mode. */
    private RnnModel model(Point p) {
        int in = p.input() > 0 ? p.input() : input == null ? p.hidden() : input;
        if (p.pruning() == PruneSpec.Mode.PER_ROW) {
            return SyntheticModels.random(p.cell(), in, p.hidden(), p.layers(), p.density(), 1.0, seedOption.seed);
        }
        RnnModel dense = SyntheticModels.random(p.cell(), in, p.hidden(), p.layers(), 1.0, 1.0, seedOption.seed);
        return Pruner.prune(dense, new PruneSpec(p.density(), p.pruning(), false));
    }

    private List<EngineTrial> measure(RnnModel model, Point p, Precision prec) {
        long seed = seedOption.seed + 31L * p.batch() + 7L * p.steps();
        int in = model.inputSize();
        Tensor verifyX = SyntheticModels.input(Math.min(verifySteps, p.steps()), p.batch(), in, seed + 1);
        Tensor h0 = SyntheticModels.state(p.layers(), p.batch(), p.hidden(), seed + 2);
        Tensor c0 = p.cell().hasCellState() ? SyntheticModels.state(p.layers(), p.batch(), p.hidden(), seed + 3) : null;
        RnnOutput ref = new CpuReferenceEngine(model).run(verifyX, h0, c0);
        List<Tensor> sets = new ArrayList<>();
        for (int k = 0; k < inputSets; k++) {
            sets.add(SyntheticModels.input(p.steps(), p.batch(), in, seed + 100 + k));
        }
        List<String> names = new ArrayList<>();
        for (String e : engines) {
            String name = e;
            if (e.equals("auto")) {
                name = EngineProvider.advise(model, options("auto", prec, p.batch()), org.sprnn.engine.Trials.NONE).chosen();
            }
            if (name != null && !names.contains(name)) {
                names.add(name);
            }
        }
        List<EngineTrial> out = new ArrayList<>();
        for (String name : names) {
            out.add(EngineTrial.run(name, model, options(name, prec, p.batch()), verifyX, h0, c0, ref, sets, warmup, reps));
        }
        return out;
    }

    private static EngineOptions options(String engine, Precision prec, int batch) {
        return EngineOptions.builder().engine(engine).precision(prec).batchHint(batch).build();
    }

    /** sweep.csv's columns. */
    static final String HEADER = "date,device,driver,nvrtc,cublaslt,cusparse,cudnn,commit,engine,precision,cell,layers,hidden,input,"
            + "batch,density,nonzeros,pruning,steps,reps,warmup,input_sets,seed,rel_error,recurrent_us_per_step_median,recurrent_p10,"
            + "recurrent_p90,full_us_per_step_median,case,note";

    private void append(Point p, List<EngineTrial> trials, RnnModel model, Map<String, String> env) throws IOException {
        List<Map<String, Object>> rows = new ArrayList<>();
        long nnz = 0;
        for (var l : model.layers()) {
            nnz += l.wHh().countNonZero();
        }
        for (EngineTrial t : trials) {
            Map<String, Object> m = CsvRow.environment(env);
            m.put("engine", t.engine());
            m.put("precision", Options.precisionLabel(t.engine(), precision));
            m.put("cell", p.cell().id());
            m.put("layers", p.layers());
            m.put("hidden", p.hidden());
            m.put("input", model.inputSize());
            m.put("batch", p.batch());
            m.put("density", p.density());
            m.put("nonzeros", nnz);
            m.put("pruning", p.pruning().id());
            m.put("steps", p.steps());
            m.put("reps", reps);
            m.put("warmup", warmup);
            m.put("input_sets", inputSets);
            m.put("seed", seedOption.seed);
            m.put("rel_error", Double.isNaN(t.error()) ? null : t.error());
            m.put("recurrent_us_per_step_median", t.timed() ? t.microsPerStep() : null);
            m.put("recurrent_p10", t.timed() ? t.p10() : null);
            m.put("recurrent_p90", t.timed() ? t.p90() : null);
            m.put("full_us_per_step_median", t.timed() ? t.fullPerStep() : null);
            m.put("case", p.name());
            m.put("note", t.note());
            rows.add(m);
        }
        CsvRow.appendRows(outDir, "sweep", HEADER, rows);
    }
}
