package org.sprnn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.sprnn.SprnnException;
import org.sprnn.io.DType;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.RnnModel;
import org.sprnn.prune.ModelStats;
import org.sprnn.prune.PruneSpec;
import org.sprnn.prune.Pruner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code sprnn prune}: magnitude pruning of a model to a target density, written as safetensors. */
@Command(name = "prune",
        description = "Magnitude-prune W_hh (and with --input-weights also W_ih) of every layer to a target density, "
                + "per matrix or per row (every row keeps the same count), and write a safetensors model.",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn prune --model lstm.safetensors --density 0.1 --output lstm-d10.safetensors",
            "  sprnn prune --model gru.npz --cell gru --density 0.3 --per-row --input-weights --output gru-d30.safetensors"})
final class PruneCommand implements Callable<Integer> {
    @Mixin
    DebugOption debug;

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--density", required = true, description = "Fraction of weights to keep, in (0, 1].")
    double density;

    @Option(names = "--per-row", description = "Keep the same number of weights in every row (default: per matrix).")
    boolean perRow;

    @Option(names = "--input-weights", description = "Prune W_ih too (default: only W_hh).")
    boolean inputWeights;

    @Option(names = "--output", required = true, description = "Output safetensors file.")
    Path output;

    @Option(names = "--dtype", defaultValue = "f32", description = "Weight type of the output file: f32, f16, bf16, f64 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Override
    public Integer call() {
        DType type;
        try {
            type = DType.parse(dtype);
        } catch (SprnnException e) {
            throw new SprnnException("--dtype: " + e.getMessage());
        }
        PruneSpec ps = new PruneSpec(density, perRow ? PruneSpec.Mode.PER_ROW : PruneSpec.Mode.PER_MATRIX, inputWeights);
        RnnModel m = modelOption.load();
        RnnModel pruned = Pruner.prune(m, ps);
        ModelFiles.save(pruned, output, type);
        spec.commandLine().getOut().printf("wrote %s%n", output);
        spec.commandLine().getOut().print(ModelStats.of(pruned).toTable());
        return 0;
    }
}
