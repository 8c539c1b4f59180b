package org.sprnn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.Progress;
import org.sprnn.SprnnException;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.DeviceTimes;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.Session;
import org.sprnn.engine.Trials;
import org.sprnn.engine.cpu.CpuReferenceEngine;
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
 * {@code sprnn bench session}: the latency of one streaming step (issue 17). For each engine and batch, a session's
 * chunked outputs and final states are first checked against cpu-reference, then {@code --calls} calls of
 * {@link Session#step} are timed one by one with {@link System#nanoTime()} around each (the call returns the outputs
 * in a Java array: what a user of the session gets), after a warm-up; the median, p90, p99 and the largest are set
 * beside the same engine's whole-sequence time per step (its device timer where it has one, else the wall clock
 * around {@code run}), so the table says what streaming costs over running whole sequences.
 */
@Command(name = "session", mixinStandardHelpOptions = true,
        description = {"Times single-step calls of a streaming session (Engine#openSession, Session#step): each engine "
                + "and batch verified first (a session fed --verify-steps steps in chunks of --chunk against cpu-reference's "
                + "whole run, outputs and final states), then --calls calls of s.step(x), each timed alone by System.nanoTime "
                + "from the call to its outputs in Java, after --warmup untimed calls; median, p90, p99 and max µs per call, "
                + "beside the engine's whole-sequence µs per step (one run of --seq-steps steps: CUDA events on the GPU "
                + "engines, input projection included; the wall clock of run() elsewhere) and their ratio.",
            "Rows to session.csv and session.jsonl under --out-dir. Exit 1 when an engine disagreed with cpu-reference "
                + "or failed, 2 when no engine could run."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn bench session --hidden 2304 --batch 1,4 --density 0.1 --out-dir results/session      (every GPU engine)",
                "  sprnn bench session --hidden 1152 --batch 1 --engines cuda-sparse-persistent,cuda-gemm --chunk 4",
                "  sprnn bench session --model lstm-pruned.safetensors --batch 1 --engines auto,cuda-sparse-persistent",
                "  sprnn bench session --engines cpu,cpu-reference --hidden 64 --batch 1,4 --calls 2000   (no GPU)"})
final class SessionBenchCommand extends SprnnCommand {
    @Option(names = "--engines", split = ",",
            defaultValue = "cuda-sparse-persistent,cuda-dense-persistent,cuda-gemm,cuda-spmm,cuda-cudnn",
            description = "engines, each a row per batch; 'auto' is a row of the engine auto picks (default: ${DEFAULT-VALUE})")
    List<String> engines;

    @Option(names = "--session-kinds", split = ",", defaultValue = "host,device,lean,resident",
            description = "cuda-sparse-persistent's and cuda-dense-persistent's sessions, each a row: host (the states on the Java "
                    + "heap, a step one run), device (the states on the device, a step one captured graph copying the chunk in and "
                    + "the outputs, states and fault records out), lean (the same graph copying only the chunk and the outputs) or "
                    + "resident (one-layer models: "
                    + "the kernel stays launched between steps, fed through page-locked memory) (default: ${DEFAULT-VALUE})")
    List<String> sessionKinds;

    @Option(names = "--float32", description = "verify and time Session#stepFloat (float32 chunks in, float32 outputs back) instead of "
            + "Session#step (float64 Tensors); rows are labelled +f32")
    boolean float32;

    @Option(names = "--cell", description = "cell: rnn_relu, rnn_tanh, gru, lstm; a synthetic layer's (default: rnn_relu), or with "
            + "--model the model file's where its metadata does not say")
    String cell;

    @Option(names = "--hidden", defaultValue = "2304", description = "synthetic layer's hidden size H (default: ${DEFAULT-VALUE})")
    int hidden;

    @Option(names = "--density", defaultValue = "0.1", description = "synthetic layer's W_hh density in (0,1] (default: ${DEFAULT-VALUE})")
    double density;

    @Option(names = "--layers", defaultValue = "1", description = "synthetic stacked layers (default: ${DEFAULT-VALUE})")
    int layers;

    @Option(names = "--input", description = "synthetic layer's input size I (default: H)")
    Integer input;

    @Option(names = "--model", description = "time this model file (.safetensors or .npz; unidirectional) instead of a synthetic layer")
    Path modelFile;

    @Option(names = "--model-cell", hidden = true, description = "the old name of --cell with --model (kept for scripts)")
    String modelCell;

    @Option(names = "--module", paramLabel = "NAME", description = "read only the RNN of this submodule of the model file (PyTorch's "
            + "name: rnn, encoder.rnn), ignoring its other tensors")
    String modelModule;

    @Option(names = "--batch", split = ",", defaultValue = "1,4", description = "batch sizes, each a row per engine (default: ${DEFAULT-VALUE})")
    List<Integer> batches;

    @Option(names = "--calls", defaultValue = "10000", description = "timed step calls per engine and batch (default: ${DEFAULT-VALUE})")
    int calls;

    @Option(names = "--chunk", defaultValue = "1", description = "timesteps per step call (default: ${DEFAULT-VALUE})")
    int chunk;

    @Option(names = "--warmup", defaultValue = "500", description = "untimed step calls first, on the same session (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--verify-steps", defaultValue = "8",
            description = "timesteps of the session checked against cpu-reference before timing, fed in chunks of --chunk "
                    + "(default: ${DEFAULT-VALUE})")
    int verifySteps;

    @Option(names = "--seq-steps", defaultValue = "1024",
            description = "T of the whole-sequence run compared against, at most --calls x --chunk; engines without a device "
                    + "timer take a shorter T where four runs would not fit in --wall-seconds (default: ${DEFAULT-VALUE})")
    int seqSteps;

    @Option(names = "--seq-reps", defaultValue = "20", description = "timed whole-sequence runs, >= 3 (default: ${DEFAULT-VALUE})")
    int seqReps;

    @Option(names = "--wall-seconds", defaultValue = "60",
            description = "per engine and batch: the step calls (warm-up included, at least " + MIN_CALLS + " timed) stop after "
                    + "this many seconds, and the whole-sequence runs of engines without a device timer are sized to fit in it "
                    + "(default: ${DEFAULT-VALUE})")
    double wallSeconds;

    @Option(names = "--precision", defaultValue = "fp16", description = "GPU weight precision: fp16, bf16, fp32 (default: ${DEFAULT-VALUE})")
    String precision;

    @Mixin
    SeedOption seedOption;

    @Option(names = "--out-dir", description = "append rows to session.csv and session.jsonl here")
    Path outDir;

    /** The fewest timed step calls, whatever the wall-clock budget: a p99 of fewer says little. */
    static final int MIN_CALLS = 20;

    /** Distinct step inputs rotated between the calls, so that no cache holds the one input. */
    private static final int INPUT_POOL = 8;

    /** Progress units of one engine and batch: verification, warm-up, ten tenths of the calls, the whole sequence. */
    private static final int UNITS = 13;

    /** The largest --calls: the samples are kept, one double each. */
    private static final int MAX_CALLS = 10_000_000;

    /**
     * One engine at one batch: how it fared and what was measured.
     *
     * @param engine      the engine's name (auto's row: "auto (name)")
     * @param batch       B
     * @param error       relative error of the session's outputs and final states against cpu-reference, NaN if not run
     * @param callMicros  µs of each timed step call, in call order; empty where not timed
     * @param seqSteps    T of the whole-sequence runs (0 where not timed)
     * @param seqFull     whole-sequence median µs per step, input projection included; NaN where not timed
     * @param seqRecurrent whole-sequence median recurrent µs per step (the device timer's; the same as seqFull by wall clock)
     * @param note        how it was timed, or why not (starts with infeasible, refused, DISAGREES or FAILED)
     */
    record Row(String engine, int batch, double error, double[] callMicros, int seqSteps, double seqFull, double seqRecurrent,
               String note) {
        boolean timed() {
            return callMicros.length > 0;
        }

        boolean failed() {
            return note.startsWith("DISAGREES") || note.startsWith("FAILED");
        }

        double quantile(double q) {
            return timed() ? DeviceTimes.quantile(callMicros, q) : Double.NaN;
        }

        /** The session's median per timestep over the whole sequence's: what streaming one step at a time costs extra. */
        double ratio(int chunk) {
            return quantile(0.5) / chunk / seqFull;
        }
    }

    private static Row none(String engine, int batch, double error, String note) {
        return new Row(engine, batch, error, new double[0], 0, Double.NaN, Double.NaN, note);
    }

    @Override
    public Integer call() throws IOException {
        check();
        Precision prec = Precision.parse("--precision", precision, EngineOptions.PRECISIONS);
        for (String e : engines) {
            if (!e.equals("auto")) {
                EngineProvider.factory(e); // an unknown name fails here, before any work
            }
        }
        if (outDir != null) {
            Options.outDir(outDir);
            CsvRow.check(outDir.resolve("session.csv"), HEADER);
        }
        RnnModel model = modelFile == null ? synthetic() : userModel();
        if (model.bidirectional()) {
            throw new SprnnException("--model " + org.sprnn.io.Untrusted.quote(modelFile.toString()) + ": a bidirectional model has "
                    + "no sessions (its reverse direction starts at each sequence's end)");
        }
        String what = describe(model);
        if (Options.anyGpuEngine(engines)) {
            GpuStatus.describe().forEach(out()::println);
        }
        Map<String, String> env = GpuStatus.versions();
        out().println(what);
        out().printf(Locale.ROOT, "timer: System.nanoTime costs %.0f ns a call on this machine (a timed call holds about one)%n",
                timerCostNanos());
        out().flush();
        List<String> names = engines.stream().distinct().toList();
        int perBatch = 0;
        for (String name : names) {
            perBatch += PERSISTENT.contains(name) ? sessionKinds.size() : 1;
        }
        int total = perBatch * batches.size();
        Progress progress = Progress.of("bench session", total * UNITS, System.err);
        List<Row> rows = new ArrayList<>();
        int done = 0;
        for (int batch : batches) {
            long seed = seedOption.seed + 31L * batch;
            Tensor verifyX = SyntheticModels.input(verifySteps, batch, model.inputSize(), seed + 1);
            Tensor h0 = SyntheticModels.state(model.numLayers(), batch, model.hiddenSize(), seed + 2);
            Tensor c0 = model.cell().hasCellState() ? SyntheticModels.state(model.numLayers(), batch, model.hiddenSize(), seed + 3) : null;
            RnnOutput ref = new CpuReferenceEngine(model).run(verifyX, h0, c0);
            for (String name : names) {
                for (String kind : PERSISTENT.contains(name) ? sessionKinds : java.util.Collections.<String>singletonList(null)) {
                    Row r;
                    if ("resident".equals(kind) && model.numLayers() > 1) { // not a failure: the kind's stated limit
                        for (int k = 0; k < UNITS; k++) {
                            progress.step(name + " B " + batch);
                        }
                        r = none(name, batch, Double.NaN, "infeasible: a resident session runs one layer (its kernel holds every SM); this "
                                + "model has " + model.numLayers());
                    } else {
                        r = withSessionKind(kind, () -> measure(model, name, prec, batch, verifyX, h0, c0, ref, seed, progress));
                    }
                    if (kind != null || float32) {
                        r = new Row(r.engine() + (kind != null ? ":" + kind : "") + (float32 ? "+f32" : ""), r.batch(), r.error(), r.callMicros(), r.seqSteps(), r.seqFull(),
                                r.seqRecurrent(), r.note());
                    }
                    rows.add(r);
                    done++;
                    out().printf(Locale.ROOT, "[%d/%d] %s%n", done, total, line(r));
                    out().flush();
                    if (outDir != null) {
                        append(r, model, env);
                    }
                }
            }
        }
        out().println();
        out().print(table(rows, what, env));
        if (outDir != null) {
            out().println("rows appended to " + outDir.resolve("session.csv") + " and session.jsonl");
        }
        long failed = rows.stream().filter(Row::failed).count();
        if (failed > 0) {
            err().printf(Locale.ROOT, "sprnn bench session: %d engine run(s) disagreed with cpu-reference or failed (WRONG, FAILED above)%n",
                    failed);
            return 1;
        }
        if (rows.stream().noneMatch(Row::timed)) {
            throw new SprnnException("no engine of --engines " + String.join(",", engines) + " could run here (each one's reason above)"
                    + (engines.stream().allMatch(e -> e.startsWith("cuda-")) ? "; without a GPU: --engines cpu,cpu-reference" : ""));
        }
        return 0;
    }

    /**
     * What one {@link System#nanoTime} costs here, in ns (the mean of 20,000 after 20,000 untimed): tens of ns where the
     * clock source is the TSC, a µs or more on machines whose kernel reads another, which each timed call then carries.
     */
    static double timerCostNanos() {
        long sink = 0;
        for (int i = 0; i < 20_000; i++) {
            sink += System.nanoTime();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < 20_000; i++) {
            sink += System.nanoTime();
        }
        long t1 = System.nanoTime();
        return sink == 42 ? -1 : (t1 - t0) / 20_000.0;
    }

    /** The engines whose session --session-kinds chooses. */
    static final List<String> PERSISTENT = List.of("cuda-sparse-persistent", "cuda-dense-persistent");

    /**
     * {@code work} with the persistent engines' session kind {@code kind} (null: as configured): the engine's system
     * property ({@link org.sprnn.engine.cuda.SparsePersistentEngine#SESSION_PROPERTY}), read when a session is opened, set
     * for {@code work} and restored after.
     */
    private static <T> T withSessionKind(String kind, java.util.function.Supplier<T> work) {
        return Options.withProperty(org.sprnn.engine.cuda.SparsePersistentEngine.SESSION_PROPERTY, kind, work);
    }

    private void check() {
        for (String kind : sessionKinds) {
            if (!org.sprnn.engine.cuda.SparsePersistentEngine.SESSION_KINDS.contains(kind)) {
                throw new SprnnException("--session-kinds: expected " + String.join(", ", org.sprnn.engine.cuda.SparsePersistentEngine.SESSION_KINDS)
                        + "; got " + org.sprnn.io.Untrusted.quote(kind));
            }
        }
        Options.positive("--calls", calls);
        Options.positive("--chunk", chunk);
        Options.positive("--verify-steps", verifySteps);
        Options.positive("--seq-steps", seqSteps);
        if (calls > MAX_CALLS) {
            throw new SprnnException("--calls: at most " + MAX_CALLS + ", got " + calls);
        }
        if (warmup < 0) {
            throw new SprnnException("--warmup: must be >= 0, got " + warmup);
        }
        if (seqReps < DeviceTimes.MIN_WALL_RUNS) {
            throw new SprnnException("--seq-reps: at least " + DeviceTimes.MIN_WALL_RUNS + " runs, got " + seqReps);
        }
        if (!(wallSeconds > 0) || wallSeconds > 86400) {
            throw new SprnnException("--wall-seconds: expected more than 0 and at most 86400, got " + wallSeconds);
        }
        if (batches.isEmpty()) {
            throw new SprnnException("--batch: at least one batch size");
        }
        for (int b : batches) {
            Options.positive("--batch", b);
        }
    }

    /** The synthetic layer of --cell, --hidden, --density, --layers, --input. */
    private RnnModel synthetic() {
        if (modelCell != null) {
            throw new SprnnException("--model-cell: only with --model (a synthetic layer's cell is --cell)");
        }
        if (modelModule != null) {
            throw new SprnnException("--module: only with --model (it names the RNN's submodule in the model file)");
        }
        Options.positive("--hidden", hidden);
        Options.positive("--layers", layers);
        Options.density("--density", density);
        if (input != null) {
            Options.positive("--input", input);
        }
        return SyntheticModels.random(CellType.parse(cell == null ? "rnn_relu" : cell), input == null ? hidden : input, hidden, layers, density, 1.0, seedOption.seed);
    }

    /** The model of --model; the synthetic layer's options are refused beside it. */
    private RnnModel userModel() {
        var parsed = spec.commandLine().getParseResult();
        for (String synth : List.of("--hidden", "--density", "--layers", "--input")) {
            if (parsed.hasMatchedOption(synth)) {
                throw new SprnnException(synth + ": set by the model file; not with --model");
            }
        }
        return ModelOption.load(modelFile, ModelOption.cell(cell, modelCell), modelModule, spec);
    }

    private String describe(RnnModel model) {
        long nnz = 0;
        for (var l : model.layers()) {
            nnz += l.wHh().countNonZero();
        }
        String source = modelFile == null ? "synthetic " : org.sprnn.io.Untrusted.quote(modelFile.getFileName().toString()) + ": ";
        return String.format(Locale.ROOT, "%s%s%s, hidden %d, input %d, W_hh density %.3f (%d nonzeros); batch %s; %d step call(s) "
                        + "of %d step(s) after %d warm-up, verified on %d steps; %s weights on the GPU engines", source, model.cell().id(),
                model.numLayers() > 1 ? " x" + model.numLayers() : "", model.hiddenSize(), model.inputSize(), wHhDensity(model), nnz,
                batches.stream().map(String::valueOf).reduce((a, b) -> a + "," + b).orElse(""), calls, chunk, warmup, verifySteps,
                precision);
    }

    private static double wHhDensity(RnnModel model) {
        long nnz = 0, size = 0;
        for (var l : model.layers()) {
            nnz += l.wHh().countNonZero();
            size += l.wHh().size();
        }
        return (double) nnz / size;
    }

    private static EngineOptions options(String engine, Precision prec, int batch) {
        return EngineOptions.builder().engine(engine).precision(prec).batchHint(batch).build();
    }

    /** One engine at one batch: feasible or not, verified, its step calls timed, then its whole sequence. */
    private Row measure(RnnModel model, String requested, Precision prec, int batch, Tensor verifyX, Tensor h0, Tensor c0,
                        RnnOutput ref, long seed, Progress progress) {
        String name = requested;
        if (requested.equals("auto")) {
            var advice = EngineProvider.advise(model, options("auto", prec, batch), Trials.NONE);
            if (advice.chosen() == null) {
                for (int k = 0; k < UNITS; k++) {
                    progress.step("auto B " + batch);
                }
                return none(requested, batch, Double.NaN, "infeasible: " + advice.reason());
            }
            name = advice.chosen();
        }
        String label = requested.equals("auto") ? "auto (" + name + ")" : name;
        int[] units = {0}; // progress units stepped so far for this row; the rest are stepped at the end
        Runnable unit = () -> {
            units[0]++;
            progress.step(label + " B " + batch);
        };
        try {
            EngineOptions opts = options(name, prec, batch);
            EngineFactory f = EngineProvider.factory(name);
            var why = EngineProvider.unavailableReason(f, model, opts);
            if (why.isPresent()) {
                return none(label, batch, Double.NaN, "infeasible: " + why.get());
            }
            try (Engine e = f.create(model, opts)) {
                double err = verify(e, batch, verifyX, h0, c0, ref, chunk, float32);
                unit.run();
                if (!(err <= e.tolerance())) {
                    return none(label, batch, err, String.format(Locale.ROOT, "DISAGREES with cpu-reference: relative error %.3g > %.3g "
                            + "(session of %d steps in chunks of %d)", err, e.tolerance(), verifySteps, chunk));
                }
                long budget = (long) (wallSeconds * 1e9);
                Tensor[] pool = new Tensor[INPUT_POOL];
                for (int k = 0; k < pool.length; k++) {
                    pool[k] = SyntheticModels.input(chunk, batch, model.inputSize(), seed + 200 + k);
                }
                double[] us = timeCalls(e, batch, h0, c0, pool, budget, unit);
                String callsHow = us.length < calls ? String.format(Locale.ROOT, "%d of %d calls (time budget); ", us.length, calls) : "";
                // the whole sequence: T steps (bounded), two input sets rotated; engines on the wall clock take a T that lets
                // a warm-up and three timed runs fit in the budget, estimated from the session's own time per step
                int t = (int) Math.min(seqSteps, (long) calls * chunk);
                boolean device = e.deviceTimer().isPresent();
                if (!device) {
                    double perStepUs = DeviceTimes.quantile(us, 0.5) / chunk;
                    t = (int) Math.max(1, Math.min(t, budget / 1e3 / (DeviceTimes.MIN_WALL_RUNS + 1) / perStepUs));
                }
                List<Tensor> sets = List.of(SyntheticModels.input(t, batch, model.inputSize(), seed + 4),
                        SyntheticModels.input(t, batch, model.inputSize(), seed + 5));
                DeviceTimes dt = DeviceTimes.of(e, sets, h0, c0, device ? 3 : 1, seqReps, budget);
                return new Row(label, batch, err, us, t, DeviceTimes.quantile(dt.fullMicros(), 0.5) / t, dt.recurrentMedianPerStep(),
                        callsHow + "whole sequence: " + dt.how());
            }
        } catch (CudnnEngineException refused) {
            return none(label, batch, Double.NaN, "refused: " + refused.getMessage());
        } catch (org.sprnn.engine.cuda.SessionKindRefusedException limit) { // the session kind's stated limit
            return none(label, batch, Double.NaN, "infeasible: " + limit.getMessage());
        } catch (SprnnException failed) {
            return none(label, batch, Double.NaN, "FAILED: " + failed.getMessage());
        } finally {
            while (units[0] < UNITS) {
                unit.run();
            }
        }
    }

    /**
     * The relative error (outputs, final hidden and cell states, the largest) of a session of {@code engine} fed {@code x} in
     * chunks of {@code chunk} steps (the last one shorter where T is not a multiple), against cpu-reference's whole run
     * {@code ref} of {@code x} from the same states.
     */
    static double verify(Engine engine, int batch, Tensor x, Tensor h0, Tensor c0, RnnOutput ref, int chunk) {
        return verify(engine, batch, x, h0, c0, ref, chunk, false);
    }

    /** The same, through {@link Session#stepFloat} where {@code float32}. */
    static double verify(Engine engine, int batch, Tensor x, Tensor h0, Tensor c0, RnnOutput ref, int chunk, boolean float32) {
        try (Session s = engine.openSession(batch, h0, c0)) {
            return verify(s, x, ref, chunk, float32);
        }
    }

    /** The idle pause two thirds into a verification of three or more calls: longer than a resident kernel's idle wait. */
    static final int VERIFY_PAUSE_MS = 40;

    /** As {@link #verify(Engine, int, Tensor, Tensor, Tensor, RnnOutput, int)}, on an open session (tests give their own). */
    static double verify(Session s, Tensor x, RnnOutput ref, int chunk) {
        return verify(s, x, ref, chunk, false);
    }

    private static double verify(Session s, Tensor x, RnnOutput ref, int chunk, boolean float32) {
        int steps = x.dim(0), per = x.dim(1) * x.dim(2);
        double[] outputs = new double[ref.output().size()];
        int filled = 0;
        int calls = (steps + chunk - 1) / chunk;
        for (int t0 = 0, call = 0; t0 < steps; t0 += chunk, call++) {
            // as a user's session would be: its state read midway, and left idle for a while (a resident session's
            // kernel leaves at both and is launched again from the state it left)
            if (calls >= 3 && call == calls / 3) {
                s.state();
            }
            if (calls >= 3 && call == 2 * calls / 3) {
                try {
                    Thread.sleep(VERIFY_PAUSE_MS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SprnnException("interrupted");
                }
            }
            int t1 = Math.min(steps, t0 + chunk);
            Tensor piece = new Tensor(new int[] {t1 - t0, x.dim(1), x.dim(2)}, Arrays.copyOfRange(x.data(), t0 * per, t1 * per));
            Tensor y = float32 ? s.stepFloat(org.sprnn.model.FloatTensor.of(piece)).toTensor() : s.step(piece);
            if (filled + y.size() > outputs.length) {
                return Double.POSITIVE_INFINITY; // more outputs than the reference has: wrong by any measure
            }
            System.arraycopy(y.data(), 0, outputs, filled, y.size());
            filled += y.size();
        }
        if (filled != outputs.length) {
            return Double.POSITIVE_INFINITY;
        }
        RnnOutput state = s.state();
        double err = Accuracy.relativeError(new Tensor(ref.output().shape(), outputs), ref.output());
        err = Math.max(err, Accuracy.relativeError(state.hN(), ref.hN()));
        if (ref.cN() != null) {
            err = Math.max(err, state.cN() == null ? Double.POSITIVE_INFINITY : Accuracy.relativeError(state.cN(), ref.cN()));
        }
        return err;
    }

    /**
     * The timed step calls: a session from {@code h0}/{@code c0}, {@code --warmup} untimed calls (at most a quarter of the
     * budget), then up to {@code --calls} calls each timed alone (at least {@link #MIN_CALLS}, then until the budget is spent).
     * A call ends when its outputs are in a Java array (step returns them so): one value of each is read, so that the
     * measured interval is the user's, call to usable outputs.
     */
    private double[] timeCalls(Engine e, int batch, Tensor h0, Tensor c0, Tensor[] pool, long budget, Runnable unit) {
        double[] us = new double[calls];
        int n = 0;
        double sink = 0;
        org.sprnn.model.FloatTensor[] fpool = new org.sprnn.model.FloatTensor[float32 ? pool.length : 0];
        for (int k = 0; k < fpool.length; k++) {
            fpool[k] = org.sprnn.model.FloatTensor.of(pool[k]);
        }
        try (Session s = e.openSession(batch, h0, c0)) {
            long start = System.nanoTime();
            for (int w = 0; w < warmup && System.nanoTime() - start < budget / 4; w++) {
                sink += float32 ? s.stepFloat(fpool[w % pool.length]).data()[0] : s.step(pool[w % pool.length]).data()[0];
            }
            unit.run();
            int tenth = Math.max(1, calls / 10), marks = 0;
            while (n < calls && (n < MIN_CALLS || System.nanoTime() - start < budget)) {
                long t0, t1;
                if (float32) {
                    org.sprnn.model.FloatTensor x = fpool[n % pool.length];
                    t0 = System.nanoTime();
                    float[] y = s.stepFloat(x).data();
                    sink += y[y.length - 1];
                    t1 = System.nanoTime();
                } else {
                    Tensor x = pool[n % pool.length];
                    t0 = System.nanoTime();
                    double[] y = s.step(x).data();
                    sink += y[y.length - 1];
                    t1 = System.nanoTime();
                }
                us[n++] = (t1 - t0) / 1e3;
                if (n % tenth == 0 && marks < 10) {
                    marks++;
                    unit.run(); // between two calls, outside either's interval
                }
            }
        }
        if (Double.isNaN(sink)) {
            // the outputs were checked finite by the session (an overflow throws); a NaN here would be an engine's bug
            throw new SprnnException("a step returned NaN outputs");
        }
        return Arrays.copyOf(us, n);
    }

    private String line(Row r) {
        if (!r.timed()) {
            return String.format(Locale.ROOT, "%s B %d: %s", r.engine(), r.batch(), r.note());
        }
        return String.format(Locale.ROOT, "%s B %d: rel. error %.1e; step call median %.2f µs, p99 %.2f µs (%d calls); whole sequence "
                        + "%.2f µs/step (T %d); session / whole %.2f", r.engine(), r.batch(), r.error(), r.quantile(0.5), r.quantile(0.99),
                r.callMicros().length, r.seqFull(), r.seqSteps(), r.ratio(chunk));
    }

    private String table(List<Row> rows, String what, Map<String, String> env) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "Session step latency: %s; device %s, driver %s, seed %d, %s%n%n", what, env.get("device"),
                env.get("driver"), seedOption.seed, Instant.now()));
        s.append("| engine | batch | rel. error | calls | µs/call median | p90 | p99 | max | whole sequence µs/step (T) | "
                + "session / whole (per step) | how |\n");
        s.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            if (!r.timed()) {
                String status = r.failed() ? (r.note().startsWith("DISAGREES") ? "WRONG" : "FAILED") : r.note().startsWith("refused")
                        ? "refused" : "–";
                s.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | | | | | | | %s |%n", r.engine(), r.batch(),
                        Double.isNaN(r.error()) ? "" : String.format(Locale.ROOT, "%.1e", r.error()), status,
                        r.note().replace('|', '/').replace('\n', ' ')));
                continue;
            }
            s.append(String.format(Locale.ROOT, "| %s | %d | %.1e | %d | %.2f | %.2f | %.2f | %.2f | %.2f (%d) | %.2f | %s |%n", r.engine(),
                    r.batch(), r.error(), r.callMicros().length, r.quantile(0.5), r.quantile(0.9), r.quantile(0.99), r.quantile(1),
                    r.seqFull(), r.seqSteps(), r.ratio(chunk), r.note().replace('|', '/')));
        }
        s.append(String.format(Locale.ROOT, "%nµs/call: System.nanoTime around s.step(x) of %d step(s), outputs in Java; whole sequence: "
                + "median of the runs / T, input projection included (CUDA events on the GPU engines, host copies excluded; "
                + "wall clock of run() elsewhere). – : infeasible here (reason in session.jsonl or above).%n", chunk));
        return s.toString();
    }

    /** session.csv's columns. */
    static final String HEADER = "date,device,driver,nvrtc,cublaslt,cusparse,cudnn,commit,engine,precision,cell,layers,hidden,input,"
            + "batch,density,chunk,calls,calls_timed,warmup,verify_steps,seed,rel_error,us_per_call_median,us_per_call_p90,"
            + "us_per_call_p99,us_per_call_max,us_per_call_mean,seq_steps,seq_reps,seq_full_us_per_step,seq_recurrent_us_per_step,"
            + "session_over_seq,note,model";

    private void append(Row r, RnnModel model, Map<String, String> env) throws IOException {
        Map<String, Object> m = CsvRow.environment(env);
        m.put("engine", r.engine());
        m.put("precision", r.engine().contains("cuda-") ? precision : Options.precisionLabel(r.engine(), precision));
        m.put("cell", model.cell().id());
        m.put("layers", model.numLayers());
        m.put("hidden", model.hiddenSize());
        m.put("input", model.inputSize());
        m.put("batch", r.batch());
        m.put("density", wHhDensity(model));
        m.put("chunk", chunk);
        m.put("calls", calls);
        m.put("calls_timed", r.callMicros().length);
        m.put("warmup", warmup);
        m.put("verify_steps", verifySteps);
        m.put("seed", seedOption.seed);
        m.put("rel_error", Double.isNaN(r.error()) ? null : r.error());
        m.put("us_per_call_median", r.timed() ? r.quantile(0.5) : null);
        m.put("us_per_call_p90", r.timed() ? r.quantile(0.9) : null);
        m.put("us_per_call_p99", r.timed() ? r.quantile(0.99) : null);
        m.put("us_per_call_max", r.timed() ? r.quantile(1) : null);
        m.put("us_per_call_mean", r.timed() ? Arrays.stream(r.callMicros()).average().orElse(Double.NaN) : null);
        m.put("seq_steps", r.timed() ? r.seqSteps() : null);
        m.put("seq_reps", seqReps);
        m.put("seq_full_us_per_step", r.timed() ? r.seqFull() : null);
        m.put("seq_recurrent_us_per_step", r.timed() ? r.seqRecurrent() : null);
        m.put("session_over_seq", r.timed() ? r.ratio(chunk) : null);
        m.put("note", r.note());
        m.put("model", modelFile == null ? "synthetic" : modelFile.toString());
        CsvRow.appendRows(outDir, "session", HEADER, List.of(m));
    }
}
