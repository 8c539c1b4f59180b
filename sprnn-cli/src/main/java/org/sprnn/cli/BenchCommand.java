package org.sprnn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * {@code sprnn bench}: engines side by side in one process on a synthetic layer (any cell, stacked) or on the user's
 * own model file. Each engine is first checked against cpu-reference (on a shorter sequence), then timed:
 * GPU engines by CUDA events around graph replays after warm-up, rotating through several input sets;
 * other engines by wall clock around {@code run}. Prints a markdown table (µs per timestep, spread,
 * ratio to the first row) and appends rows to CSV and JSON-lines files with the device, driver,
 * library versions and the full configuration.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {AblationCommand.class, GridCommand.class, SweepCommand.class,
        SessionBenchCommand.class},
        description = {"Times engines side by side on a synthetic layer of any cell (W_hh at the given density, uniform "
                + "random positions, N(0,1)/sqrt(H*d) values; dense W_ih). GPU rows: median of the replays of the "
                + "captured sequence / T, CUDA events; 'recurrent' excludes the input-projection GEMM (the measure of results/anchors). "
                + "With --model, your own model (any cell, stacked, rows as pruned) on every engine of --engines, each verified first. "
                + "Exit 2 when no engine could run."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn bench",
                "  sprnn bench --hidden 2304 --batch 4 --density 0.3 --steps 256 --engines cuda-gemm,cuda-spmm --precisions fp16,fp32",
                "  sprnn bench --hidden 1152 --density 0.1 --engines cuda-gemm,cuda-spmm,cpu --out-dir results/gpu",
                "  sprnn bench --hidden 1152 --density 0.1 --engines cuda-sparse-persistent,cuda-cudnn --cudnn-algos standard,persist-static,persist-dynamic --precisions fp16,fp32",
                "  sprnn bench --cell lstm --hidden 1024 --batch 1 --density 0.1 --engines auto,cuda-sparse-persistent,cuda-cudnn",
                "  sprnn bench --model lstm-pruned.safetensors --batch 4 --steps 128 --engines auto,cuda-sparse-persistent,cuda-gemm,cpu",
                "  sprnn bench --model gru.npz --cell gru --input x.npy --engines cpu,cpu-reference --reps 20",
                "  sprnn bench sweep         (every combination of lists of shapes, see its --help)",
                "  sprnn bench grid          (auto against the fastest engine over a grid of shapes, see its --help)",
                "  sprnn bench ablation      (the sparse persistent kernel's ablation, see its --help)",
                "  sprnn bench session       (the latency of one streaming step, Session#step, beside the whole sequence; see its --help)"})
final class BenchCommand extends SprnnCommand {
    @Mixin
    SyntheticLayerOptions layer = new SyntheticLayerOptions(2304, 0.3);

    @Option(names = "--input", paramLabel = "<I|x.npy>",
            description = "synthetic layer: the input size I (default: H); with --model: an input sequence [T][B][I] (.npy) to time "
                    + "instead of random inputs of --batch and --steps")
    String input;

    @Option(names = "--model", description = "time this model file (.safetensors or .npz, PyTorch's names; any cell, stacked, rows as "
            + "its pruning left them) instead of a synthetic layer; repeat it to time several models one after the other in this process "
            + "(e.g. one layer pruned two ways), every row's ratio taken to the first model's first row")
    List<Path> modelFiles = new ArrayList<>();

    @Option(names = "--model-cell", hidden = true, description = "the old name of --cell with --model (kept for scripts)")
    String modelCell;

    @Option(names = "--module", paramLabel = "NAME", description = "read only the RNN of this submodule of the model file (PyTorch's "
            + "name: rnn, encoder.rnn), ignoring its other tensors")
    String modelModule;

    @Option(names = "--cell", description = "cell: rnn_relu, rnn_tanh, gru, lstm; a synthetic layer's (default: rnn_relu), or with "
            + "--model the model file's where its metadata does not say (as run, plan and inspect take it)")
    String cell;

    @Option(names = "--layers", defaultValue = "1", description = "stacked layers (default: ${DEFAULT-VALUE})")
    int layers;

    @Option(names = "--bidirectional", description = "synthetic layer: bidirectional (PyTorch's bidirectional=True), each direction "
            + "of each layer an engine of its own")
    boolean bidirectional;

    @Option(names = "--bidir-modes", split = ",", defaultValue = "sequential,halves",
            description = "for a bidirectional model, how cuda-sparse-persistent and cuda-dense-persistent run a layer's two "
                    + "directions, each a row: sequential (one after the other, each on the whole device), halves (at once, "
                    + "each planned for half the SMs, where both fit) or auto (the engine's own choice) (default: ${DEFAULT-VALUE})")
    List<String> bidirModes;

    @Option(names = "--engines", split = ",", defaultValue = "cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm,cuda-spmm,cuda-cudnn",
            description = "engines, side by side (default: every GPU engine, ${DEFAULT-VALUE}; an engine that cannot run here or "
                    + "on this layer says why and is left out); 'auto' is a row of the engine auto chooses, named; cpu and "
                    + "cpu-reference for the CPU")
    List<String> engines;

    @Option(names = "--precisions", split = ",", defaultValue = "fp16",
            description = "GPU weight precisions, each a row (default: ${DEFAULT-VALUE})")
    List<String> precisions;

    @Option(names = "--cudnn-algos", split = ",", defaultValue = "auto",
            description = "cuda-cudnn's algorithms, each a row: auto, standard, persist-static, persist-static-small-h, "
                    + "persist-dynamic (default: ${DEFAULT-VALUE}); one cuDNN refuses for the shape is reported and skipped")
    List<String> cudnnAlgos;

    @Option(names = "--reps", defaultValue = "50", description = "timed replays per engine, >= 20; every engine, those timed "
            + "by the wall clock within --wall-seconds (default: ${DEFAULT-VALUE})")
    int reps;

    @Option(names = "--wall-seconds", defaultValue = "30",
            description = "engines timed by the wall clock (no device timer: cpu, cpu-reference) stop after this many seconds "
                    + "of timed runs, at least 3 runs (default: ${DEFAULT-VALUE})")
    double wallSeconds;

    @Option(names = "--warmup", defaultValue = "5", description = "untimed replays first (default: ${DEFAULT-VALUE}); engines "
            + "timed by the wall clock (cpu, cpu-reference) go on warming up for a while after them, for the JIT: their rows say "
            + "how many runs")
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

    /** What is timed: the model, the verification input and states, the timed inputs, and words for the table. */
    private record Workload(RnnModel model, String what, String source, int batch, int steps, double density,
                            Tensor verifyX, Tensor h0, Tensor c0, List<Tensor> sets) {
    }

    /** The synthetic layer of --cell, --hidden, --density, --layers, --input. */
    private Workload synthetic() {
        if (layer.hidden < 1 || layers < 1) {
            throw new SprnnException("--hidden, --layers: must be >= 1");
        }
        if (!(layer.density > 0 && layer.density <= 1)) {
            throw new SprnnException("--density: must be in (0,1], got " + layer.density);
        }
        int in = layer.hidden;
        if (input != null) {
            try {
                in = Integer.parseInt(input.strip());
            } catch (NumberFormatException e) {
                throw new SprnnException("--input: an input size (an integer) for a synthetic layer; an input file needs --model, got '"
                        + org.sprnn.io.Untrusted.quote(input) + "'");
            }
            if (in < 1) {
                throw new SprnnException("--input: must be >= 1, got " + in);
            }
        }
        if (modelCell != null) {
            throw new SprnnException("--model-cell: only with --model (a synthetic layer's cell is --cell)");
        }
        if (modelModule != null) {
            throw new SprnnException("--module: only with --model (it names the RNN's submodule in the model file)");
        }
        CellType cellType = CellType.parse(cell == null ? "rnn_relu" : cell);
        RnnModel model = bidirectional
                ? SyntheticModels.randomBidirectional(cellType, in, layer.hidden, layers, layer.density, 1.0, seedOption.seed)
                : SyntheticModels.random(cellType, in, layer.hidden, layers, layer.density, 1.0, seedOption.seed);
        int states = model.directions() * layers;
        Tensor verifyX = SyntheticModels.input(verifySteps, layer.batch, in, seedOption.seed + 1);
        Tensor h0 = SyntheticModels.state(states, layer.batch, layer.hidden, seedOption.seed + 2);
        Tensor c0 = cellType.hasCellState() ? SyntheticModels.state(states, layer.batch, layer.hidden, seedOption.seed + 3) : null;
        List<Tensor> sets = new ArrayList<>();
        for (int k = 0; k < inputSets; k++) {
            sets.add(SyntheticModels.input(layer.steps, layer.batch, in, seedOption.seed + 100 + k));
        }
        String what = String.format(Locale.ROOT, "%s%s layer%s: hidden %d, input %d, batch %d, W_hh density %.2f, T %d",
                bidirectional ? "bidirectional " : "", cellType.id(), layers > 1 ? " x" + layers : "", layer.hidden, in, layer.batch, layer.density, layer.steps);
        return new Workload(model, what, "synthetic", layer.batch, layer.steps, layer.density, verifyX, h0, c0, sets);
    }

    /** The model of --model, on the input of --input or on random inputs of --batch and --steps, from zero states. */
    private Workload userModel(Path modelFile) {
        var parsed = spec.commandLine().getParseResult();
        for (String synth : List.of("--hidden", "--density", "--layers", "--bidirectional")) {
            if (parsed.hasMatchedOption(synth)) {
                throw new SprnnException(synth + ": set by the model file; not with --model");
            }
        }
        RnnModel model = ModelOption.load(modelFile, ModelOption.cell(cell, modelCell), modelModule, spec);
        List<Tensor> sets = new ArrayList<>();
        int batch = layer.batch, steps = layer.steps;
        if (input != null) {
            for (String option : List.of("--batch", "--steps")) {
                if (parsed.hasMatchedOption(option)) {
                    throw new SprnnException(option + ": set by the input file; not with --input x.npy");
                }
            }
            Tensor x = org.sprnn.io.Npy.read(Path.of(input));
            org.sprnn.engine.RunInputs.check(model, x, null, null);
            sets.add(x);
            steps = x.shape()[0];
            batch = x.shape()[1];
        } else {
            for (int k = 0; k < inputSets; k++) {
                sets.add(SyntheticModels.input(steps, batch, model.inputSize(), seedOption.seed + 100 + k));
            }
        }
        int vt = Math.min(verifySteps, steps);
        Tensor first = sets.get(0);
        int per = batch * model.inputSize();
        Tensor verifyX = new Tensor(new int[] {vt, batch, model.inputSize()}, java.util.Arrays.copyOf(first.data(), vt * per));
        long nnz = 0, size = 0;
        for (var l : model.layers()) {
            nnz += l.wHh().countNonZero();
            size += l.wHh().size();
        }
        double density = (double) nnz / size;
        String what = String.format(Locale.ROOT, "%s: %s x%d, hidden %d, input %d, batch %d, W_hh density %.3f (%d nonzeros), T %d%s",
                org.sprnn.io.Untrusted.quote(modelFile.getFileName().toString()), model.cell().id(), model.numLayers(), model.hiddenSize(),
                model.inputSize(), batch, density, nnz, steps, input != null ? " (input from the file)" : "");
        return new Workload(model, what, modelFile.toString(), batch, steps, density, verifyX, null, null, sets);
    }

    private record Row(Workload w, String engine, String precision, double verifyError, double tolerance, int steps,
                       double[] recurrentUs, double[] fullUs, String details) {
    }

    @Override
    public Integer call() throws IOException {
        if (layer.batch < 1 || layer.steps < 1) {
            throw new SprnnException("--batch, --steps: must be >= 1");
        }
        if (reps < 20) {
            throw new SprnnException("--reps: at least 20 replays, got " + reps);
        }
        if (outDir != null) {
            Options.checkOutDir(outDir); // before the runs, not after them (made only when rows are written)
        }
        if (!(wallSeconds > 0) || wallSeconds > 86400) {
            throw new SprnnException("--wall-seconds: expected more than 0 and at most 86400, got " + wallSeconds);
        }
        if (inputSets < 1 || warmup < 0 || verifySteps < 1) {
            throw new SprnnException("--input-sets >= 1, --warmup >= 0, --verify-steps >= 1");
        }
        List<Precision> gpuPrecisions = precisions.stream().map(p -> Precision.parse("--precisions", p, EngineOptions.PRECISIONS)).toList();
        cudnnAlgos.forEach(CudnnAlgorithm::order); // each a known algorithm, before any work
        for (String mode : bidirModes) {
            if (!BIDIR_MODES.contains(mode)) {
                throw new SprnnException("--bidir-modes: expected sequential, halves or auto, got " + org.sprnn.io.Untrusted.quote(mode));
            }
        }
        if (outDir != null) {
            CsvRow.check(outDir.resolve("bench.csv"), HEADER);
        }
        // every model is loaded and checked before any engine runs
        List<Workload> workloads = modelFiles.isEmpty() ? List.of(synthetic()) : modelFiles.stream().map(this::userModel).toList();
        if (Options.anyGpuEngine(engines)) { // the GPU and its libraries, where a GPU engine was asked for
            GpuStatus.describe().forEach(System.out::println);
        }
        Map<String, String> env = GpuStatus.versions();
        List<Row> rows = new ArrayList<>();
        for (Workload w : workloads) {
            rows.addAll(timeEngines(w, gpuPrecisions));
        }
        if (rows.isEmpty()) {
            throw new SprnnException("no engine of --engines " + String.join(",", engines) + " could run here (each one's reason above)"
                    + (engines.stream().allMatch(e -> e.startsWith("cuda-")) ? "; without a GPU: --engines cpu,cpu-reference" : ""));
        }
        print(rows, env, workloads);
        if (outDir != null) {
            write(rows, env);
        }
        return 0;
    }

    /** Every engine of --engines (per precision, cuDNN algorithm, bidirectional mode) on {@code w}: verified, then timed. */
    private List<Row> timeEngines(Workload w, List<Precision> gpuPrecisions) {
        RnnModel model = w.model();
        CellType cellType = model.cell();
        Tensor verifyX = w.verifyX(), h0 = w.h0(), c0 = w.c0();
        List<Tensor> sets = w.sets();
        long t0 = System.nanoTime();
        RnnOutput ref;
        try (Engine reference = EngineProvider.factory(CpuReferenceEngine.NAME).create(model, EngineOptions.builder().build())) {
            ref = reference.run(verifyX, h0, c0); // through the factory: a bidirectional model's is a BidirectionalEngine
        }
        System.out.printf(Locale.ROOT, "cpu-reference on T=%d for verification: %.1f s (%s)%n", verifyX.shape()[0],
                (System.nanoTime() - t0) / 1e9, w.what());
        List<Row> rows = new ArrayList<>();
        // one row per engine and precision, cuda-cudnn's once more per algorithm
        // and a persistent engine's once more per --bidir-modes on a bidirectional model
        record Trial(String engine, String label, Precision precision, String cudnnAlgo, String bidirMode) {
        }
        List<Trial> trials = new ArrayList<>();
        for (String name : engines) {
            boolean cudnn = name.equals(CudnnEngine.NAME);
            boolean modes = model.bidirectional() && BIDIR_ENGINES.contains(name);
            for (Precision prec : name.startsWith("cuda-") ? gpuPrecisions : List.of(Precision.FP32)) {
                for (String algo : cudnn ? cudnnAlgos : List.of("auto")) {
                    for (String mode : modes ? bidirModes : java.util.Collections.<String>singletonList(null)) {
                        trials.add(new Trial(name, cudnn ? name + ":" + algo : mode != null ? name + ":" + mode : name, prec, algo, mode));
                    }
                }
            }
        }
        for (Trial trial : trials) {
            String name = trial.engine(), label = trial.label();
            Precision prec = trial.precision();
            EngineOptions opts = EngineOptions.builder().engine(name).precision(prec).batchHint(w.batch()).cudnnAlgo(trial.cudnnAlgo()).build();
            if (name.equals("auto")) {
                var advice = EngineProvider.advise(model, opts, org.sprnn.engine.Trials.NONE);
                if (advice.chosen() == null) {
                    System.out.println("auto " + prec.id() + ": " + advice.reason());
                    continue;
                }
                name = advice.chosen();
                label = "auto (" + name + ")";
                opts = EngineOptions.builder().engine(name).precision(prec).batchHint(w.batch()).cudnnAlgo(trial.cudnnAlgo()).build();
            }
            EngineFactory f = EngineProvider.factory(name);
            var why = EngineProvider.unavailableReason(f, model, opts);
            if (why.isPresent()) {
                System.out.println(org.sprnn.io.Untrusted.printable(label + " " + prec.id() + ": unavailable: " + why.get()));
                continue;
            }
            try (Engine e = createWithMode(f, model, opts, trial.bidirMode())) {
                double tol = e.tolerance();
                RnnOutput got = e.run(verifyX, h0, c0);
                double err = Math.max(Accuracy.relativeError(got.output(), ref.output()),
                        Accuracy.relativeError(got.hN(), ref.hN()));
                if (!(err <= tol)) {
                    throw new SprnnException(label + " " + prec.id() + " disagrees with cpu-reference: relative error "
                            + err + " > " + tol + " (" + w.what() + ")");
                }
                DeviceTimes t = DeviceTimes.of(e, sets, h0, c0, e.deviceTimer().isPresent() ? warmup : 1, reps,
                        (long) (wallSeconds * 1e9));
                // the rows name the arithmetic: cpu-reference computes in float64 whatever the options say
                rows.add(new Row(w, label, Options.precisionLabel(name, prec.id()), err, tol, w.steps(), t.recurrentMicros(),
                        t.fullMicros(), t.how()));
            } catch (CudnnEngineException refused) {
                // cuDNN's refusal of one algorithm for this shape is a result of the comparison, not the end of it
                System.out.println(org.sprnn.io.Untrusted.printable(label + " " + prec.id() + ": " + refused.getMessage()));
            }
        }
        return rows;
    }

    /** The engines whose bidirectional mode --bidir-modes chooses. */
    static final List<String> BIDIR_ENGINES = List.of("cuda-sparse-persistent", "cuda-dense-persistent");
    /** --bidir-modes' values. */
    static final List<String> BIDIR_MODES = List.of("sequential", "halves", "auto");

    /**
     * {@code f}'s engine for {@code model}, built under bidirectional mode {@code mode} (null: the factory's default): the
     * mode is the factory's system property ({@link org.sprnn.engine.cuda.SparsePersistentFactory#BIDIRECTIONAL_PROPERTY}),
     * read when the engine is built, set for the build and restored after.
     */
    private static Engine createWithMode(EngineFactory f, RnnModel model, EngineOptions opts, String mode) {
        return Options.withProperty(org.sprnn.engine.cuda.SparsePersistentFactory.BIDIRECTIONAL_PROPERTY, mode, () -> f.create(model, opts));
    }

    private void print(List<Row> rows, Map<String, String> env, List<Workload> workloads) {
        boolean several = workloads.size() > 1;
        System.out.println();
        for (Workload w : workloads) {
            System.out.printf(Locale.ROOT, "%s%s; %d replays after %d warm-up, %d input set(s) rotated; device %s%n",
                    several ? "model " + (workloads.indexOf(w) + 1) + ": " : "", w.what(), reps, warmup, w.sets().size(),
                    env.get("device") + ", driver " + env.get("driver"));
        }
        System.out.println();
        System.out.println("|" + (several ? " model |" : "") + " engine | precision | rel. error (T=" + workloads.get(0).verifyX().shape()[0]
                + ") | recurrent µs/step (median) | p10–p90 | full µs/step (incl. input GEMM) | ratio (recurrent, to first row) | how |");
        System.out.println("|" + (several ? "---|" : "") + "---|---|---|---|---|---|---|---|");
        double first = DeviceTimes.quantile(rows.get(0).recurrentUs(), 0.5) / rows.get(0).steps();
        for (Row r : rows) {
            double med = DeviceTimes.quantile(r.recurrentUs(), 0.5) / r.steps();
            System.out.printf(Locale.ROOT, "|%s %s | %s | %.1e | %.2f | %.2f–%.2f | %.2f | %.2f | %s |%n",
                    several ? " " + (workloads.indexOf(r.w()) + 1) + " |" : "", r.engine(), r.precision(),
                    r.verifyError(), med, DeviceTimes.quantile(r.recurrentUs(), 0.1) / r.steps(), DeviceTimes.quantile(r.recurrentUs(), 0.9) / r.steps(),
                    DeviceTimes.quantile(r.fullUs(), 0.5) / r.steps(), med / first, r.details());
        }
    }

    /** bench.csv's columns. */
    static final String HEADER = "date,device,driver,nvrtc,cublaslt,cusparse,engine,precision,cell,layers,hidden,input,batch,density,"
            + "steps,reps,warmup,input_sets,seed,rel_error,recurrent_us_per_step_median,recurrent_p10,recurrent_p90,recurrent_min,"
            + "recurrent_max,full_us_per_step_median,details,model,commit";

    private void write(List<Row> rows, Map<String, String> env) throws IOException {
        Options.outDir(outDir);
        List<Map<String, Object>> out = new ArrayList<>();
        String date = Instant.now().toString();
        for (Row r : rows) {
            Workload w = r.w();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("date", date);
            m.put("device", env.get("device"));
            m.put("driver", env.get("driver"));
            m.put("nvrtc", env.get("NVRTC"));
            m.put("cublaslt", env.get("cuBLASLt"));
            m.put("cusparse", env.get("cuSPARSE"));
            m.put("engine", r.engine());
            m.put("precision", r.precision());
            m.put("cell", w.model().cell().id());
            m.put("layers", w.model().numLayers());
            m.put("hidden", w.model().hiddenSize());
            m.put("input", w.model().inputSize());
            m.put("batch", w.batch());
            m.put("density", w.density());
            m.put("steps", w.steps());
            m.put("reps", reps);
            m.put("warmup", warmup);
            m.put("input_sets", w.sets().size());
            m.put("seed", seedOption.seed);
            m.put("rel_error", r.verifyError());
            m.put("recurrent_us_per_step_median", DeviceTimes.quantile(r.recurrentUs(), 0.5) / r.steps());
            m.put("recurrent_p10", DeviceTimes.quantile(r.recurrentUs(), 0.1) / r.steps());
            m.put("recurrent_p90", DeviceTimes.quantile(r.recurrentUs(), 0.9) / r.steps());
            m.put("recurrent_min", DeviceTimes.quantile(r.recurrentUs(), 0) / r.steps());
            m.put("recurrent_max", DeviceTimes.quantile(r.recurrentUs(), 1) / r.steps());
            m.put("full_us_per_step_median", DeviceTimes.quantile(r.fullUs(), 0.5) / r.steps());
            m.put("details", r.details());
            m.put("model", w.source());
            m.put("commit", BuildInfo.commit());
            out.add(m);
        }
        CsvRow.appendRows(outDir, "bench", HEADER, out);
        System.out.println("rows appended to " + outDir.resolve("bench.csv") + " and " + outDir.resolve("bench.jsonl"));
    }
}
