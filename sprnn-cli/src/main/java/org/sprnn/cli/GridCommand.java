package org.sprnn.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.EngineAdvice;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.Trials;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sprnn bench grid}: does {@code auto} pick the fastest engine? Over a grid of cells, hidden sizes, densities
 * and batches, each point's model is run on every feasible engine of the list (each verified against cpu-reference
 * first, then timed as {@code bench} times it), and {@code auto}'s choice by the cost model alone (no trial) is set
 * against the fastest measured one. A point passes when auto's engine is at most {@code --slack} slower than the
 * fastest. Rows go to grid.csv and grid.jsonl as each point completes, the summary to grid.md.
 */
@Command(name = "grid", mixinStandardHelpOptions = true,
        description = {"Times every engine over a grid of shapes and checks that auto's choice (cost model, no trial) is "
                + "within --slack of the fastest feasible engine at each point (recurrent µs per step: CUDA events on the GPU "
                + "engines, the wall clock of whole runs for engines without a device timer). Exit 0 when every point passes, "
                + "1 when auto missed, no engine could be timed at a point, or an engine disagreed with cpu-reference or "
                + "failed, 4 when --deadline-s cut the grid short."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn bench grid --out-dir results/grid          (the whole default grid: 4 hidden x 3 batch x 4 density x 2 cells)",
                "  sprnn bench grid --cell lstm --hidden 1152,2304 --batch 1,4 --density 0.1,1",
                "  sprnn bench grid --engines cpu,cpu-reference --hidden 16 --batch 1 --density 0.5 --cell gru   (no GPU)"})
final class GridCommand extends SprnnCommand {
    @Option(names = "--cell", split = ",", defaultValue = "rnn_relu,lstm", description = "cells (default: ${DEFAULT-VALUE})")
    List<String> cells;

    @Option(names = "--hidden", split = ",", defaultValue = "256,1152,2304,4608", description = "hidden sizes (default: ${DEFAULT-VALUE})")
    List<Integer> hiddens;

    @Option(names = "--batch", split = ",", defaultValue = "1,4,16", description = "batch sizes (default: ${DEFAULT-VALUE})")
    List<Integer> batches;

    @Option(names = "--density", split = ",", defaultValue = "0.01,0.1,0.3,1", description = "W_hh densities (default: ${DEFAULT-VALUE})")
    List<Double> densities;

    @Option(names = "--engines", split = ",",
            defaultValue = "cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm,cuda-spmm,cuda-cudnn",
            description = "engines timed at each point; auto's choice is timed too where it is not among them (default: ${DEFAULT-VALUE})")
    List<String> engines;

    @Option(names = "--input", defaultValue = "128", description = "input size I: the recurrent part is what is timed (default: ${DEFAULT-VALUE})")
    int input;

    @Option(names = "--steps", defaultValue = "64", description = "timesteps T of the timed sequences (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--reps", defaultValue = "20", description = "timed replays per engine and point, >= 20 (default: ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--warmup", defaultValue = "3", description = "untimed replays first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--verify-steps", defaultValue = "2", description = "T of each engine's check against cpu-reference (default: ${DEFAULT-VALUE})")
    int verifySteps;

    @Option(names = "--slack", defaultValue = "0.10", description = "auto may be this much slower than the fastest (default: ${DEFAULT-VALUE})")
    double slack;

    @Option(names = "--deadline-s", description = "start no point after this many seconds; the rows so far are kept (exit 4)")
    Integer deadlineSeconds;

    @Option(names = "--precision", defaultValue = "fp16", description = "GPU weight precision (default: ${DEFAULT-VALUE})")
    String precision;

    @Mixin
    SeedOption seedOption;

    @Option(names = "--out-dir", description = "append rows to grid.csv and grid.jsonl here, write grid.md")
    Path outDir;

    /** One point of the grid and what was found there. */
    private record Point(String cell, int hidden, int batch, double density, List<EngineTrial> timings, String auto,
                         String autoReason, EngineTrial fastest, double autoRatio) {
        boolean passes(double slack) {
            return fastest != null && autoRatio <= 1 + slack;
        }
    }

    @Override
    public Integer call() throws IOException {
        if (input < 1 || steps < 1 || verifySteps < 1 || warmup < 0) {
            throw new SprnnException("--input, --steps, --verify-steps: must be >= 1; --warmup >= 0");
        }
        if (reps < 20) {
            throw new SprnnException("--reps: at least 20 replays, got " + reps);
        }
        if (!(slack >= 0) || slack > 10) {
            throw new SprnnException("--slack: expected 0..10, got " + slack);
        }
        for (int h : hiddens) {
            if (h < 1) {
                throw new SprnnException("--hidden: must be >= 1, got " + h);
            }
        }
        for (int b : batches) {
            if (b < 1) {
                throw new SprnnException("--batch: must be >= 1, got " + b);
            }
        }
        for (double d : densities) {
            if (!(d > 0 && d <= 1)) {
                throw new SprnnException("--density: must be in (0,1], got " + d);
            }
        }
        List<CellType> cellTypes = new ArrayList<>();
        for (String c : cells) {
            cellTypes.add(CellType.parse(c));
        }
        engines = engines.stream().filter(e -> !e.equals("auto")).distinct().toList(); // auto's pick is always timed
        for (String e : engines) {
            EngineProvider.factory(e); // an unknown name fails here, before any work
        }
        Precision prec = Precision.parse("--precision", precision, EngineOptions.PRECISIONS);
        if (outDir != null) {
            Options.outDir(outDir);
            CsvRow.check(outDir.resolve("grid.csv"), HEADER);
        }
        if (Options.anyGpuEngine(engines)) {
            GpuStatus.describe().forEach(out()::println);
        }
        Map<String, String> env = GpuStatus.versions();
        long start = System.nanoTime();
        List<Point> points = new ArrayList<>();
        int total = cellTypes.size() * hiddens.size() * densities.size() * batches.size(), done = 0;
        boolean cut = false;
        org.sprnn.Progress progress = org.sprnn.Progress.of("bench grid", total, System.err);
        grid:
        for (CellType cell : cellTypes) {
            for (int hidden : hiddens) {
                for (double density : densities) {
                    RnnModel model = null;
                    for (int batch : batches) {
                        if (deadlineSeconds != null && (System.nanoTime() - start) / 1e9 > deadlineSeconds) {
                            cut = true;
                            break grid;
                        }
                        if (model == null) {
                            model = SyntheticModels.random(cell, input, hidden, 1, density, 1.0, seedOption.seed);
                        }
                        Point p = measure(model, cell, hidden, batch, density, prec);
                        points.add(p);
                        done++;
                        out().printf(Locale.ROOT, "[%d/%d %.0f s] %s%n", done, total, (System.nanoTime() - start) / 1e9, describe(p));
                        progress.step(String.format(Locale.ROOT, "%s H %d B %d d %.2f", cell.id(), hidden, batch, density));
                        if (outDir != null) {
                            appendRows(p, env);
                        }
                    }
                }
            }
        }
        String table = table(points, env);
        out().println();
        out().print(table);
        if (outDir != null) {
            Files.writeString(outDir.resolve("grid.md"), table, StandardCharsets.UTF_8);
            out().println("rows appended to " + outDir.resolve("grid.csv") + " and grid.jsonl; table in grid.md");
        }
        long failed = points.stream().filter(p -> p.timings().stream().anyMatch(EngineTrial::failed)).count();
        long missed = points.stream().filter(p -> !p.passes(slack)).count();
        List<String> problems = new ArrayList<>();
        if (failed > 0 || missed > 0) {
            problems.add(String.format(Locale.ROOT, "%d point(s) where auto was more than %.0f%% slower than the fastest or nothing "
                    + "could be timed, %d with an engine that disagreed with cpu-reference or failed", missed, slack * 100, failed));
        }
        if (cut) {
            problems.add(String.format(Locale.ROOT, "--deadline-s %d reached after %d of %d points", deadlineSeconds, done, total));
        }
        if (!problems.isEmpty()) {
            err().println("sprnn bench grid: " + String.join("; ", problems));
        }
        return failed > 0 || missed > 0 ? 1 : cut ? 4 : 0;
    }

    private Point measure(RnnModel model, CellType cell, int hidden, int batch, double density, Precision prec) {
        long seed = seedOption.seed + 31L * batch;
        Tensor verifyX = SyntheticModels.input(verifySteps, batch, input, seed + 1);
        Tensor h0 = SyntheticModels.state(1, batch, hidden, seed + 2);
        Tensor c0 = cell.hasCellState() ? SyntheticModels.state(1, batch, hidden, seed + 3) : null;
        RnnOutput ref = new CpuReferenceEngine(model).run(verifyX, h0, c0);
        List<Tensor> sets = List.of(SyntheticModels.input(steps, batch, input, seed + 4), SyntheticModels.input(steps, batch, input, seed + 5));
        EngineAdvice advice = EngineProvider.advise(model, options("auto", prec, batch), Trials.NONE);
        List<String> names = new ArrayList<>(engines);
        if (advice.chosen() != null && !names.contains(advice.chosen())) {
            names.add(advice.chosen());
        }
        List<EngineTrial> timings = new ArrayList<>();
        for (String name : names) {
            timings.add(EngineTrial.run(name, model, options(name, prec, batch), verifyX, h0, c0, ref, sets, warmup, reps));
        }
        EngineTrial fastest = timings.stream().filter(EngineTrial::timed)
                .min((a, b) -> Double.compare(a.microsPerStep(), b.microsPerStep())).orElse(null);
        double ratio = Double.NaN;
        if (fastest != null) {
            EngineTrial chosen = timings.stream().filter(t -> t.engine().equals(advice.chosen())).findFirst().orElse(null);
            ratio = chosen != null && chosen.timed() ? chosen.microsPerStep() / fastest.microsPerStep() : Double.POSITIVE_INFINITY;
        }
        return new Point(cell.id(), hidden, batch, density, timings, advice.chosen(), advice.reason(), fastest, ratio);
    }

    private static EngineOptions options(String engine, Precision prec, int batch) {
        return EngineOptions.builder().engine(engine).precision(prec).batchHint(batch).build();
    }

    private String describe(Point p) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%s H %d B %d d %.2f:", p.cell(), p.hidden(), p.batch(), p.density()));
        for (EngineTrial t : p.timings()) {
            s.append(' ').append(t.engine()).append(t.timed() ? String.format(Locale.ROOT, " %.2f", t.microsPerStep()) : " -");
        }
        s.append(String.format(Locale.ROOT, "; auto %s, %.2fx the fastest%s", p.auto(), p.autoRatio(), p.passes(slack) ? "" : "  MISS"));
        return s.toString();
    }

    private String table(List<Point> points, Map<String, String> env) {
        List<String> cols = new ArrayList<>();
        for (Point p : points) {
            for (EngineTrial t : p.timings()) {
                if (!cols.contains(t.engine())) {
                    cols.add(t.engine());
                }
            }
        }
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "auto against the fastest engine: recurrent µs per step (median of %d replays after %d warm-up, "
                + "T %d, input %d, %s weights, seed %d), %s, driver %s, %s%n%n", reps, warmup, steps, input, precision,
                seedOption.seed, env.get("device"), env.get("driver"), Instant.now()));
        s.append("| cell | hidden | batch | density | ");
        cols.forEach(c -> s.append(c).append(" | "));
        s.append("fastest | auto's pick | auto / fastest | ok |\n|---|---|---|---|");
        cols.forEach(c -> s.append("---|"));
        s.append("---|---|---|---|\n");
        long ok = 0;
        for (Point p : points) {
            s.append(String.format(Locale.ROOT, "| %s | %d | %d | %.2f | ", p.cell(), p.hidden(), p.batch(), p.density()));
            for (String c : cols) {
                EngineTrial t = p.timings().stream().filter(x -> x.engine().equals(c)).findFirst().orElse(null);
                s.append(t == null ? "" : t.timed() ? String.format(Locale.ROOT, "%.2f", t.microsPerStep())
                        : t.disagrees() ? "WRONG" : t.failed() ? "FAILED" : t.note().startsWith("infeasible") ? "–" : "refused").append(" | ");
            }
            boolean pass = p.passes(slack);
            ok += pass ? 1 : 0;
            s.append(p.fastest() == null ? "none" : p.fastest().engine()).append(" | ").append(p.auto()).append(" | ")
                    .append(p.fastest() == null ? "" : String.format(Locale.ROOT, "%.2f", p.autoRatio())).append(" | ")
                    .append(pass ? "yes" : "**no**").append(" |\n");
        }
        s.append(String.format(Locale.ROOT, "%nauto within %.0f%% of the fastest at %d of %d points. – : infeasible (capacity or "
                + "availability, reason in grid.jsonl); refused: the library refused the shape.%n", slack * 100, ok, points.size()));
        return s.toString();
    }

    /** grid.csv's columns. */
    static final String HEADER = "date,device,driver,cell,hidden,input,batch,density,steps,reps,precision,seed,engine,us_per_step_median,"
            + "p10,p90,rel_error,auto,fastest,auto_over_fastest,note,commit";

    private void appendRows(Point p, Map<String, String> env) throws IOException {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (EngineTrial t : p.timings()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("date", Instant.now().toString());
            m.put("device", env.get("device"));
            m.put("driver", env.get("driver"));
            m.put("cell", p.cell());
            m.put("hidden", p.hidden());
            m.put("input", input);
            m.put("batch", p.batch());
            m.put("density", p.density());
            m.put("steps", steps);
            m.put("reps", reps);
            m.put("precision", Options.precisionLabel(t.engine(), precision));
            m.put("seed", seedOption.seed);
            m.put("engine", t.engine());
            m.put("us_per_step_median", t.timed() ? t.microsPerStep() : null);
            m.put("p10", t.timed() ? t.p10() : null);
            m.put("p90", t.timed() ? t.p90() : null);
            m.put("rel_error", Double.isNaN(t.error()) ? null : t.error());
            m.put("auto", p.auto());
            m.put("fastest", p.fastest() == null ? null : p.fastest().engine());
            m.put("auto_over_fastest", Double.isFinite(p.autoRatio()) ? p.autoRatio() : null);
            m.put("note", t.note());
            m.put("commit", BuildInfo.commit());
            rows.add(m);
        }
        CsvRow.appendRows(outDir, "grid", HEADER, rows);
    }
}
