package org.sprnn.cli;

import org.sprnn.model.RnnModel;
import org.sprnn.prune.ModelStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sprnn inspect}: per-layer shapes, density, nonzeros per row and packed bytes of a model file. */
@Command(name = "inspect",
        description = "Print per-layer shapes, density, nonzeros per row (min/median/max) and packed bytes "
                + "(4 bytes per nonzero: fp16 value + 16-bit column index) of a model file, and what of it the persistent "
                + "kernel holds on chip (W_hh).",
        mixinStandardHelpOptions = true,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn inspect --model lstm.safetensors", "  sprnn inspect --model weights.npz --cell gru"})
final class InspectCommand extends SprnnCommand {
    @Mixin
    ModelOption modelOption;

    @Override
    public Integer call() {
        RnnModel m = modelOption.load();
        out().print(ModelStats.of(m).toTable());
        return 0;
    }
}
