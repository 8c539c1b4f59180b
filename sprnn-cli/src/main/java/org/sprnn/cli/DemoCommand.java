package org.sprnn.cli;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.io.AtomicFiles;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sprnn demo}: the main job on an embedded default model — a pruned vanilla-ReLU layer (the paper's
 * headline shape: hidden 2304, density 30%, batch 4, 256 steps) — on the best engine here, checked
 * against the float64 reference, with the time per step and why the other engines were not chosen.
 */
@Command(name = "demo",
        description = {"Run an embedded pruned RNN (default: ReLU RNN, hidden 2304, density 30%%, batch 4, 256 steps, "
                + "fixed seed) on the best available engine, check it against cpu-reference, and print the time per "
                + "step, the engine chosen and why the others were not."},
        mixinStandardHelpOptions = true,
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn demo", "  sprnn demo --engine cpu --hidden 1152 --density 0.1", "  sprnn demo --cell lstm --hidden 512 --steps 64",
                "  sprnn demo --save-model m.safetensors --save-input x.npy   (then: sprnn run --model m.safetensors --input x.npy --output y.npy)"})
final class DemoCommand extends SprnnCommand {
    @Option(names = "--cell", defaultValue = "rnn_relu", description = "Cell: rnn_relu, rnn_tanh, gru, lstm (default: ${DEFAULT-VALUE}).")
    String cell;

    @Option(names = "--hidden", defaultValue = "2304", description = "Hidden size (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--input-size", defaultValue = "256", description = "Input features per step (default: ${DEFAULT-VALUE}).")
    int inputSize;

    @Option(names = "--density", defaultValue = "0.3", description = "Fraction of W_hh kept (default: ${DEFAULT-VALUE}).")
    double density;

    @Option(names = "--batch", defaultValue = "4", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--steps", defaultValue = "256", description = "Timesteps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--engine", defaultValue = "auto", description = "Engine, or auto for the fastest available (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--seed", defaultValue = "2018", description = "Random seed of weights and input (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--repeats", defaultValue = "5", description = "Timed runs after the warm-up (for the JIT: until the runs stop getting faster), within 10 s; the median is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--save-model", paramLabel = "FILE",
            description = "Also write the demo's model here, float32, in PyTorch's nn.RNN/GRU/LSTM state_dict names (.safetensors, "
                    + "its cell in the metadata; or .npz, then loaded with --cell): a file to try the other commands on without PyTorch.")
    java.nio.file.Path saveModel;

    @Option(names = "--save-input", paramLabel = "FILE", description = "Also write the demo's input [T][B][I] here (.npy, float32).")
    java.nio.file.Path saveInput;

    /** The demo's whole configuration, validated before any work. */
    record Config(CellType cell, int hidden, int inputSize, double density, int batch, int steps, String engine, long seed,
                  int repeats) {
        Config {
            Options.positive("--hidden", hidden);
            Options.positive("--input-size", inputSize);
            Options.density("--density", density);
            Options.positive("--batch", batch);
            Options.positive("--steps", steps);
            Options.positive("--repeats", repeats);
        }
    }

    @Override
    public Integer call() {
        Config c = new Config(CellType.parse(cell), hidden, inputSize, density, batch, steps, engine, seed, repeats);
        var out = out();
        out.printf("model    %s, input %d, hidden %d, W_hh density %.3g, W_ih dense; batch %d, %d steps, seed %d%n",
                c.cell(), c.inputSize(), c.hidden(), c.density(), c.batch(), c.steps(), c.seed());
        RnnModel model = SyntheticModels.random(c.cell(), c.inputSize(), c.hidden(), 1, c.density(), 1.0, c.seed());
        Tensor x = SyntheticModels.input(c.steps(), c.batch(), c.inputSize(), c.seed() + 1);
        // the model and the input in one batch: both or neither, checked before either is written (a name given twice too)
        Options.checkOutputs("demo", java.util.Collections.singletonMap("--save-input", saveInput), java.util.Map.of());
        AtomicFiles.Batch files = AtomicFiles.batch();
        if (saveModel != null) {
            ModelFiles.addTo(files, model, saveModel, org.sprnn.Precision.FP32);
        }
        if (saveInput != null) {
            Npy.addTo(files, saveInput, x);
        }
        files.write();
        if (saveModel != null) {
            out.printf("wrote    %s (the model%s)%n", saveModel, ModelFiles.formatOfName(saveModel) == ModelFiles.Format.NPZ
                    ? "; an .npz holds no cell type: load it with --cell " + c.cell().id() : "");
        }
        if (saveInput != null) {
            out.printf("wrote    %s (the input, [%d][%d][%d] float32)%n", saveInput, c.steps(), c.batch(), c.inputSize());
        }
        EngineOptions options = EngineOptions.builder().engine(c.engine()).batchHint(c.batch()).build();
        try (EngineSelection sel = EngineProvider.select(model, options)) {
            out.printf("engine   %s (%s)%n", sel.engine().name(), sel.reason());
            for (Map.Entry<String, String> r : sel.rejected().entrySet()) {
                out.printf("  not %-22s %s%n", r.getKey() + ":", r.getValue());
            }
            RnnOutput result = sel.engine().run(x, null, null); // the output we check (and the first warm-up run)
            var wall = org.sprnn.engine.DeviceTimes.wallClock(sel.engine(), List.of(x), null, null, 1, c.repeats(), 10_000_000_000L);
            double[] perStepMicros = wall.fullMicros().clone();
            for (int i = 0; i < perStepMicros.length; i++) {
                perStepMicros[i] /= c.steps();
            }
            Arrays.sort(perStepMicros);
            double median = perStepMicros[perStepMicros.length / 2];
            var device = sel.engine().deviceTimer().map(t -> t.time(List.of(x), null, null, 3, Math.max(20, c.repeats())).fullMicros());
            if (device.isPresent()) {
                double[] d = device.get().clone();
                Arrays.sort(d);
                out.printf("time     %.2f µs per step on the device (median of %d runs after 3 warm-ups, CUDA events, whole sequence"
                        + " incl. the input projection / %d steps)%n", d[d.length / 2] / c.steps(), d.length, c.steps());
            }
            out.printf("%s %.2f µs per step (median of %d runs after a warm-up until the runs stopped getting faster; wall clock "
                    + "of a whole run / %d steps%s, min %.2f, max %.2f)%n", device.isPresent() ? "         " : "time    ", median,
                    perStepMicros.length, c.steps(), device.isPresent() ? ", incl. transfers and Java-side conversion" : "",
                    perStepMicros[0], perStepMicros[perStepMicros.length - 1]);
            RnnOutput ref;
            try (CpuReferenceEngine reference = new CpuReferenceEngine(model)) {
                ref = reference.run(x, null, null);
            }
            double err = Accuracy.relativeError(result.output(), ref.output());
            double tol = sel.engine().tolerance();
            boolean ok = err <= tol;
            out.printf("check    ‖out − ref‖/‖ref‖ = %.3g against cpu-reference (float64), tolerance %.0e: %s%n", err, tol,
                    ok ? "PASS" : "FAIL");
            return ok ? 0 : 1;
        }
    }
}
