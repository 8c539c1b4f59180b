package org.sprnn.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.DeviceTimes;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.CudaRnnEngine;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sprnn bench ablation}: the paper's Table 1 on this GPU, in one process. Each row is the sparse
 * persistent kernel with one more optimization switched on (naive, + wide loads, + bank-aware order,
 * + timestamped exchange, + balanced dealing), then the Hopper cluster exchange, beside the exchange-only
 * floor of each exchange (the same kernel without the arithmetic) and the library baselines. Every row is
 * checked against cpu-reference first (relative error ≤ 3e-3, outputs poisoned), then timed: median of
 * REPS launches of the recurrent part (CUDA events, after warm-up) / T.
 */
@Command(name = "ablation", mixinStandardHelpOptions = true,
        description = {"The ablation of the sparse persistent kernel (the paper's Table 1: hidden 1152, batch 4, density 10%%, "
                + "T 256) with exchange floors and baselines, on a synthetic layer."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn bench ablation",
                "  sprnn bench ablation --hidden 2304 --density 0.3 --baselines cuda-gemm,cuda-spmm --out-dir results/kernel"})
final class AblationCommand extends SprnnCommand {
    @Option(names = "--cell", defaultValue = "rnn_relu", description = "cell (default: ${DEFAULT-VALUE})")
    String cell;

    @Mixin
    SyntheticLayerOptions layer = new SyntheticLayerOptions(1152, 0.1);

    @Option(names = "--reps", defaultValue = "20", description = "timed launches per row, >= 5 (default: ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--baselines", split = ",", defaultValue = "cuda-gemm",
            description = "library engines timed beside it, or 'none' (default: ${DEFAULT-VALUE})")
    List<String> baselines;

    @Mixin
    SeedOption seedOption;

    @Option(names = "--out-dir", description = "append rows to ablation.csv here")
    Path outDir;

    private record Variant(String name, PlanOptions options, boolean floor) {
    }

    private record Row(String name, String kernel, double error, double micros) {
    }

    static List<Variant> variants() {
        PlanOptions none = new PlanOptions(ExchangeMode.GRID_BARRIER, false, false, false, 0, 0, Precision.FP16);
        PlanOptions wide = none.withSwitches(true, false, false);
        PlanOptions bank = none.withSwitches(true, true, false);
        PlanOptions ts = bank.withExchange(ExchangeMode.TIMESTAMPS);
        PlanOptions bal = ts.withSwitches(true, true, true);
        PlanOptions barrierAll = bal.withExchange(ExchangeMode.GRID_BARRIER);
        PlanOptions cluster = bal.withExchange(ExchangeMode.CLUSTER);
        return List.of(
                new Variant("naive (scalar loads, natural order, grid barrier, naive split)", none, false),
                new Variant("+ wide loads", wide, false),
                new Variant("+ bank-aware order", bank, false),
                new Variant("+ timestamped exchange", ts, false),
                new Variant("+ balanced dealing", bal, false),
                new Variant("all on, grid barrier instead of timestamps", barrierAll, false),
                new Variant("all on, Hopper cluster exchange (DSMEM + mbarrier)", cluster, false),
                new Variant("auto plan (the engine's kernel; row ends compiled in where every row takes the same slots)",
                        PlanOptions.defaults(), false),
                new Variant("auto plan, row ends tested at run time (as for rows of unequal length)",
                        PlanOptions.defaults().withCompiledRowEnds(false), false),
                new Variant("floor: grid barrier exchange only", barrierAll, true),
                new Variant("floor: timestamped exchange only", bal, true),
                new Variant("floor: cluster exchange only", cluster, true));
    }

    @Override
    public Integer call() throws IOException {
        if (layer.hidden < 1 || layer.batch < 1 || layer.steps < 1 || reps < 5) {
            throw new SprnnException("--hidden, --batch, --steps must be >= 1 and --reps >= 5");
        }
        CellType c = CellType.parse(cell);
        if (outDir != null) {
            Options.checkOutDir(outDir); // before the runs, not after them (made only when rows are written)
        }
        GpuStatus.problem().ifPresent(p -> {
            throw new SprnnException("bench ablation needs a GPU: " + p);
        });
        DeviceLimits limits = GpuStatus.deviceLimits().orElseThrow(() -> new SprnnException("bench ablation: no device limits"));
        GpuStatus.describe().forEach(System.out::println);
        Map<String, String> env = GpuStatus.versions();
        RnnModel model = SyntheticModels.random(c, layer.hidden, layer.hidden, 1, layer.density, 1.0, seedOption.seed);
        Tensor x = SyntheticModels.input(layer.steps, layer.batch, layer.hidden, seedOption.seed + 1);
        Tensor h0 = SyntheticModels.state(1, layer.batch, layer.hidden, seedOption.seed + 2);
        Tensor c0 = c.hasCellState() ? SyntheticModels.state(1, layer.batch, layer.hidden, seedOption.seed + 3) : null;
        RnnOutput ref = new CpuReferenceEngine(model).run(x, h0, c0);
        List<Row> rows = new ArrayList<>();
        for (Variant v : variants()) {
            String refusal = SparsePersistentEngine.refusal(model, layer.batch, limits, v.options());
            if (refusal != null) {
                System.out.println(v.name() + ": refused: " + refusal);
                continue;
            }
            try (SparsePersistentEngine e = v.floor() ? SparsePersistentEngine.exchangeFloor(model, limits, v.options())
                    : new SparsePersistentEngine(model, limits, v.options())) {
                RnnOutput got = e.run(x, h0, c0);
                double err = Math.max(Accuracy.relativeError(got.output(), ref.output()), Accuracy.relativeError(got.hN(), ref.hN()));
                if (!v.floor() && !(err <= 3e-3)) {
                    throw new SprnnException(v.name() + ": disagrees with cpu-reference: relative error " + err + " > 3e-3 ("
                            + c.id() + " hidden " + layer.hidden + " batch " + layer.batch + " density " + layer.density + " T " + layer.steps + ")");
                }
                Plan p = e.plans(layer.batch).get(0);
                double us = e.microsPerStep(x, reps);
                rows.add(new Row(v.name(), p.spec().name() + (v.floor() ? "_exchangeonly" : ""), v.floor() ? Double.NaN : err, us));
                System.out.printf(Locale.ROOT, "%-62s %8.3f us/step  (%s, %s)%n", v.name(), us, p.spec().name(), e.kernelResources(layer.batch, 0));
            }
        }
        for (String b : baselines) {
            if (b.equals("none")) {
                continue;
            }
            CudaRnnEngine.Kind kind = switch (b) {
                case "cuda-gemm" -> CudaRnnEngine.Kind.GEMM;
                case "cuda-spmm" -> CudaRnnEngine.Kind.SPMM;
                default -> throw new SprnnException("--baselines: '" + b + "' is not cuda-gemm or cuda-spmm");
            };
            try (CudaRnnEngine e = new CudaRnnEngine(model, kind, Precision.FP16)) {
                RnnOutput got = e.run(x, h0, c0);
                double err = Math.max(Accuracy.relativeError(got.output(), ref.output()), Accuracy.relativeError(got.hN(), ref.hN()));
                DeviceTimes rt = e.deviceTimer().orElseThrow().time(List.of(x), h0, c0, 5, Math.max(20, reps));
                double[] r = rt.recurrentMicros().clone();
                Arrays.sort(r);
                double us = r[r.length / 2] / layer.steps;
                rows.add(new Row(b + " fp16 (graph, recurrent part)", "-", err, us));
                System.out.printf(Locale.ROOT, "%-62s %8.3f us/step%n", b, us);
            }
        }
        print(rows, env, c);
        if (outDir != null) {
            write(rows, env, c);
        }
        return 0;
    }

    private void print(List<Row> rows, Map<String, String> env, CellType c) {
        System.out.printf(Locale.ROOT, "%n%s, driver %s: %s hidden %d, batch %d, density %.3f, T %d; median of %d launches%n",
                env.get("device"), env.get("driver"), c.id(), layer.hidden, layer.batch, layer.density, layer.steps, reps);
        System.out.println("| variant | rel. error | µs/step | speedup vs naive |");
        System.out.println("|---|---|---|---|");
        double naive = rows.isEmpty() ? Double.NaN : rows.get(0).micros();
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "| %s | %s | %.3f | %.2fx |%n", r.name(), Double.isNaN(r.error()) ? "-" : String.format(Locale.ROOT, "%.1e", r.error()),
                    r.micros(), naive / r.micros());
        }
    }

    private void write(List<Row> rows, Map<String, String> env, CellType c) throws IOException {
        Options.outDir(outDir);
        Path csv = outDir.resolve("ablation.csv");
        boolean fresh = !Files.exists(csv);
        StringBuilder b = new StringBuilder();
        if (fresh) {
            b.append("time,device,driver,cell,hidden,batch,density,steps,reps,variant,kernel,rel_error,us_per_step\n");
        }
        String now = Instant.now().toString();
        for (Row r : rows) {
            b.append(String.join(",", now, q(env.get("device")), q(env.get("driver")), c.id(), Integer.toString(layer.hidden),
                    Integer.toString(layer.batch), Double.toString(layer.density), Integer.toString(layer.steps), Integer.toString(reps), q(r.name()),
                    r.kernel(), Double.isNaN(r.error()) ? "" : Double.toString(r.error()), String.format(Locale.ROOT, "%.4f", r.micros())));
            b.append('\n');
        }
        Files.writeString(csv, b, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static String q(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }
}
