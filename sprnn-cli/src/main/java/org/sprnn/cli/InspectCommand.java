package org.sprnn.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.prune.ModelStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code sprnn inspect}: per-layer shapes, density, nonzeros per row and bytes on-chip of a model file. */
@Command(name = "inspect",
        description = "Print per-layer shapes, density, nonzeros per row (min/median/max) and bytes on-chip "
                + "(4 bytes per nonzero: fp16 value + 16-bit column index) of a model file.",
        mixinStandardHelpOptions = true,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn inspect --model lstm.safetensors", "  sprnn inspect --model weights.npz --cell gru"})
final class InspectCommand implements Callable<Integer> {
    @Mixin
    DebugOption debug;

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Model file (.safetensors or .npz).")
    Path model;

    @Option(names = "--cell", description = "Cell type, if the file does not say: rnn_relu, rnn_tanh, gru, lstm.")
    String cell;

    @Override
    public Integer call() {
        RnnModel m = ModelFiles.load(model, cell == null ? null : CellType.parse(cell));
        spec.commandLine().getOut().print(ModelStats.of(m).toTable());
        return 0;
    }
}
