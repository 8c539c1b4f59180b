package org.sprnn.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.DeviceTimes;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.engine.cuda.CudnnAlgorithm;
import org.sprnn.engine.cuda.CudnnEngine;
import org.sprnn.engine.cuda.CudnnEngineException;
import org.sprnn.engine.cuda.GpuStatus;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sprnn bench}: engines side by side in one process on a synthetic vanilla-ReLU layer. Each
 * engine is first checked against cpu-reference (on a shorter sequence of the same layer), then timed:
 * GPU engines by CUDA events around graph replays after warm-up, rotating through several input sets;
 * other engines by wall clock around {@code run}. Prints a markdown table (µs per timestep, spread,
 * ratio to the first row) and appends rows to CSV and JSON-lines files with the device, driver,
 * library versions and the full configuration.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = AblationCommand.class,
        description = {"Times engines side by side on a synthetic rnn_relu layer (W_hh at the given density, uniform "
                + "random positions, N(0,1)/sqrt(H*d) values; dense W_ih). GPU rows: median of the replays of the "
                + "captured sequence / T, CUDA events; 'recurrent' excludes the input-projection GEMM (the measure of results/anchors)."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn bench",
                "  sprnn bench --hidden 2304 --batch 4 --density 0.3 --steps 256 --engines cuda-gemm,cuda-spmm --precisions fp16,fp32",
                "  sprnn bench --hidden 1152 --density 0.1 --engines cuda-gemm,cuda-spmm,cpu --out-dir results/gpu",
                "  sprnn bench --hidden 1152 --density 0.1 --engines cuda-sparse-persistent,cuda-cudnn --cudnn-algos standard,persist-static,persist-dynamic --precisions fp16,fp32",
                "  sprnn bench ablation      (the sparse persistent kernel's ablation, see its --help)"})
final class BenchCommand extends SprnnCommand {
    @Mixin
    SyntheticLayerOptions layer = new SyntheticLayerOptions(2304, 0.3);

    @Option(names = "--input", description = "input size I (default: H)")
    Integer input;

    @Option(names = "--engines", split = ",", defaultValue = "cuda-gemm,cuda-spmm",
            description = "engines, side by side (default: ${DEFAULT-VALUE})")
    List<String> engines;

    @Option(names = "--precisions", split = ",", defaultValue = "fp16",
            description = "GPU weight precisions, each a row (default: ${DEFAULT-VALUE})")
    List<String> precisions;

    @Option(names = "--cudnn-algos", split = ",", defaultValue = "auto",
            description = "cuda-cudnn's algorithms, each a row: auto, standard, persist-static, persist-static-small-h, "
                    + "persist-dynamic (default: ${DEFAULT-VALUE}); one cuDNN refuses for the shape is reported and skipped")
    List<String> cudnnAlgos;

    @Option(names = "--reps", defaultValue = "50", description = "timed replays per engine, >= 20 (default: ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--warmup", defaultValue = "5", description = "untimed replays first (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--input-sets", defaultValue = "4", description = "input sets rotated between replays (default: ${DEFAULT-VALUE})")
    int inputSets;

    @Option(names = "--verify-steps", defaultValue = "32",
            description = "T of the correctness check against cpu-reference before timing (default: ${DEFAULT-VALUE})")
    int verifySteps;

    @Mixin
    SeedOption seedOption;

    @Option(names = "--out-dir", description = "append rows to bench.csv and bench.jsonl here")
    Path outDir;

    private record Row(String engine, String precision, double verifyError, double tolerance, int steps,
                       double[] recurrentUs, double[] fullUs, String details) {
    }

    @Override
    public Integer call() throws IOException {
        if (layer.hidden < 1 || layer.batch < 1 || layer.steps < 1) {
            throw new SprnnException("--hidden, --batch, --steps: must be >= 1");
        }
        if (reps < 20) {
            throw new SprnnException("--reps: at least 20 replays, got " + reps);
        }
        if (inputSets < 1 || warmup < 0 || verifySteps < 1) {
            throw new SprnnException("--input-sets >= 1, --warmup >= 0, --verify-steps >= 1");
        }
        List<Precision> gpuPrecisions = precisions.stream().map(p -> Precision.parse("--precision", p, EngineOptions.PRECISIONS)).toList();
        cudnnAlgos.forEach(CudnnAlgorithm::order); // each a known algorithm, before any work
        int in = input == null ? layer.hidden : input;
        GpuStatus.describe().forEach(System.out::println);
        Map<String, String> env = GpuStatus.versions();
        RnnModel model = SyntheticModels.random(CellType.RNN_RELU, in, layer.hidden, 1, layer.density, 1.0, seedOption.seed);
        Tensor verifyX = SyntheticModels.input(verifySteps, layer.batch, in, seedOption.seed + 1);
        Tensor h0 = SyntheticModels.state(1, layer.batch, layer.hidden, seedOption.seed + 2);
        long t0 = System.nanoTime();
        RnnOutput ref = new CpuReferenceEngine(model).run(verifyX, h0, null);
        System.out.printf(Locale.ROOT, "cpu-reference on T=%d for verification: %.1f s%n", verifySteps, (System.nanoTime() - t0) / 1e9);
        List<Tensor> sets = new ArrayList<>();
        for (int k = 0; k < inputSets; k++) {
            sets.add(SyntheticModels.input(layer.steps, layer.batch, in, seedOption.seed + 100 + k));
        }
        List<Row> rows = new ArrayList<>();
        // one row per engine and precision, cuda-cudnn's once more per algorithm
        record Trial(String engine, String label, Precision precision, String cudnnAlgo) {
        }
        List<Trial> trials = new ArrayList<>();
        for (String name : engines) {
            boolean cudnn = name.equals(CudnnEngine.NAME);
            for (Precision prec : name.startsWith("cuda-") ? gpuPrecisions : List.of(Precision.FP32)) {
                for (String algo : cudnn ? cudnnAlgos : List.of("auto")) {
                    trials.add(new Trial(name, cudnn ? name + ":" + algo : name, prec, algo));
                }
            }
        }
        for (Trial trial : trials) {
            String name = trial.engine(), label = trial.label();
            Precision prec = trial.precision();
            EngineFactory f = EngineProvider.factory(name);
            EngineOptions opts = EngineOptions.builder().engine(name).precision(prec).batchHint(layer.batch).cudnnAlgo(trial.cudnnAlgo()).build();
            var why = org.sprnn.engine.EngineProvider.unavailableReason(f, model, opts);
            if (why.isPresent()) {
                System.out.println(label + " " + prec.id() + ": unavailable: " + why.get());
                continue;
            }
            try (Engine e = f.create(model, opts)) {
                double tol = e.tolerance();
                RnnOutput got = e.run(verifyX, h0, null);
                double err = Math.max(Accuracy.relativeError(got.output(), ref.output()),
                        Accuracy.relativeError(got.hN(), ref.hN()));
                if (!(err <= tol)) {
                    throw new SprnnException(label + " " + prec.id() + " disagrees with cpu-reference: relative error "
                            + err + " > " + tol + " (hidden " + layer.hidden + ", batch " + layer.batch + ", density " + layer.density + ")");
                }
                var timer = e.deviceTimer();
                if (timer.isPresent()) {
                    DeviceTimes t = timer.get().time(sets, h0, null, warmup, reps);
                    rows.add(new Row(label, prec.id(), err, tol, layer.steps, t.recurrentMicros(), t.fullMicros(), t.how()));
                } else {
                    int n = Math.min(reps, 5);
                    double[] us = new double[n];
                    e.run(sets.get(0), h0, null);
                    for (int i = 0; i < n; i++) {
                        long s = System.nanoTime();
                        e.run(sets.get(i % sets.size()), h0, null);
                        us[i] = (System.nanoTime() - s) / 1e3;
                    }
                    rows.add(new Row(label, prec.id(), err, tol, layer.steps, us, us, "wall clock around run(), " + n + " runs"));
                }
            } catch (CudnnEngineException refused) {
                // cuDNN's refusal of one algorithm for this shape is a result of the comparison, not the end of it
                System.out.println(label + " " + prec.id() + ": " + refused.getMessage());
            }
        }
        print(rows, env, in);
        if (outDir != null) {
            write(rows, env, in);
        }
        return 0;
    }

    private static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        double pos = q * (s.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return s[lo] + (s[hi] - s[lo]) * (pos - lo);
    }

    private void print(List<Row> rows, Map<String, String> env, int in) {
        System.out.println();
        System.out.printf(Locale.ROOT, "rnn_relu layer: hidden %d, input %d, batch %d, W_hh density %.2f, T %d; %d replays after %d warm-up, "
                + "%d input sets rotated; device %s%n", layer.hidden, in, layer.batch, layer.density, layer.steps, reps, warmup, inputSets,
                env.get("device") + ", driver " + env.get("driver"));
        System.out.println();
        System.out.println("| engine | precision | rel. error (T=" + verifySteps + ") | recurrent µs/step (median) | p10–p90 | "
                + "full µs/step (incl. input GEMM) | ratio (recurrent, to first row) | how |");
        System.out.println("|---|---|---|---|---|---|---|---|");
        double first = rows.isEmpty() ? 1 : quantile(rows.get(0).recurrentUs(), 0.5) / layer.steps;
        for (Row r : rows) {
            double med = quantile(r.recurrentUs(), 0.5) / r.steps();
            System.out.printf(Locale.ROOT, "| %s | %s | %.1e | %.2f | %.2f–%.2f | %.2f | %.2f | %s |%n", r.engine(), r.precision(),
                    r.verifyError(), med, quantile(r.recurrentUs(), 0.1) / r.steps(), quantile(r.recurrentUs(), 0.9) / r.steps(),
                    quantile(r.fullUs(), 0.5) / r.steps(), med / first, r.details());
        }
    }

    private void write(List<Row> rows, Map<String, String> env, int in) throws IOException {
        Files.createDirectories(outDir);
        ObjectMapper om = new ObjectMapper();
        Path csv = outDir.resolve("bench.csv");
        boolean header = !Files.exists(csv);
        StringBuilder c = new StringBuilder();
        if (header) {
            c.append("date,device,driver,nvrtc,cublaslt,cusparse,engine,precision,cell,hidden,input,batch,density,steps,")
                    .append("reps,warmup,input_sets,seed,rel_error,recurrent_us_per_step_median,recurrent_p10,recurrent_p90,")
                    .append("recurrent_min,recurrent_max,full_us_per_step_median,details\n");
        }
        StringBuilder j = new StringBuilder();
        String date = Instant.now().toString();
        for (Row r : rows) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("date", date);
            m.put("device", env.get("device"));
            m.put("driver", env.get("driver"));
            m.put("nvrtc", env.get("NVRTC"));
            m.put("cublaslt", env.get("cuBLASLt"));
            m.put("cusparse", env.get("cuSPARSE"));
            m.put("engine", r.engine());
            m.put("precision", r.precision());
            m.put("cell", "rnn_relu");
            m.put("hidden", layer.hidden);
            m.put("input", in);
            m.put("batch", layer.batch);
            m.put("density", layer.density);
            m.put("steps", layer.steps);
            m.put("reps", reps);
            m.put("warmup", warmup);
            m.put("input_sets", inputSets);
            m.put("seed", seedOption.seed);
            m.put("rel_error", r.verifyError());
            m.put("recurrent_us_per_step_median", quantile(r.recurrentUs(), 0.5) / layer.steps);
            m.put("recurrent_p10", quantile(r.recurrentUs(), 0.1) / layer.steps);
            m.put("recurrent_p90", quantile(r.recurrentUs(), 0.9) / layer.steps);
            m.put("recurrent_min", quantile(r.recurrentUs(), 0) / layer.steps);
            m.put("recurrent_max", quantile(r.recurrentUs(), 1) / layer.steps);
            m.put("full_us_per_step_median", quantile(r.fullUs(), 0.5) / layer.steps);
            m.put("details", r.details());
            List<String> cells = new ArrayList<>();
            for (Object v : m.values()) {
                String s = v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : String.valueOf(v);
                cells.add(s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s);
            }
            c.append(String.join(",", cells)).append('\n');
            ObjectNode node = om.valueToTree(m);
            j.append(om.writeValueAsString(node)).append('\n');
        }
        Files.writeString(csv, c, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        Files.writeString(outDir.resolve("bench.jsonl"), j, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        System.out.println("rows appended to " + csv + " and " + outDir.resolve("bench.jsonl"));
    }
}
