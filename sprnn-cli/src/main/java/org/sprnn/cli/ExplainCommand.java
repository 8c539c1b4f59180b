package org.sprnn.cli;

import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.EngineAdvice;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.Trials;
import org.sprnn.model.RnnModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sprnn explain}: which engine {@code auto} takes for a model and batch here, and why not the others. */
@Command(name = "explain",
        description = {"Print every engine for a model at a batch size on this machine: feasible or not and why (capacity "
                + "numbers, a missing library or device), the predicted µs per step (a cost model calibrated on an H100) and, "
                + "with --tune, the measured one (a short trial on the device, kept in $SPRNN_CACHE/tune.properties or "
                + "~/.cache/sprnn/tune.properties for auto to use), then the engine auto takes.",
            "Figures are the recurrent part per timestep of every layer (the input projection of layer 0 excluded) "
                + "where the engine has a device timer, else the wall clock of whole runs."},
        mixinStandardHelpOptions = true,
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn explain --model lstm.safetensors --batch 4",
            "  sprnn explain --model gru.safetensors --batch 1 --tune"})
final class ExplainCommand extends SprnnCommand {
    @Mixin
    ModelOption modelOption;

    /** The largest batch explain predicts for: far past what any engine serves at the latencies it is built for. */
    static final int MAX_BATCH = 65536;

    @Option(names = "--batch", defaultValue = "1", description = "Batch size, 1 to 65536 (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--precision", defaultValue = "fp16", description = "GPU weight precision: fp16, bf16, fp32 (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--tune", description = "Measure each feasible engine the tuning cache has no figure for (a short trial), and keep the figures.")
    boolean tune;

    @Option(names = "--steps", defaultValue = "64", description = "T of a --tune trial (default: ${DEFAULT-VALUE}).")
    int steps;

    @Override
    public Integer call() {
        Options.positive("--batch", batch);
        if (batch > MAX_BATCH) { // the predictions' arithmetic is meant for serving batches, not overflowing ones
            throw new SprnnException("--batch " + batch + ": explain predicts for batches of 1 to " + MAX_BATCH);
        }
        EngineOptions options = EngineOptions.builder()
                .precision(Precision.parse("--precision", precision, EngineOptions.PRECISIONS)).batchHint(batch).build();
        Trials trials = tune ? Trials.tune(steps, line -> err().println(line)) : new Trials(false, steps, org.sprnn.engine.TuneCache.standard(), s -> { });
        RnnModel m = modelOption.load();
        EngineAdvice advice = EngineProvider.advise(m, options, trials);
        out().printf("%s, %d layer(s)%s, input %d, hidden %d, batch %d, %s weights on the GPU engines (the CPU engines compute in "
                + "float32, cpu-reference in float64)%n", m.cell(), m.layers().size(),
                m.bidirectional() ? " x 2 directions" : "", m.inputSize(), m.hiddenSize(), batch, options.precision().id());
        if (m.bidirectional()) {
            out().println("every engine runs a bidirectional model as one engine per layer and direction (the persistent "
                    + "engines may run a layer's two directions at once, SPRNN_BIDIRECTIONAL); "
                    + "the predictions count both directions");
        }
        out().print(advice.toTable());
        return advice.chosen() == null ? 2 : 0;
    }
}
