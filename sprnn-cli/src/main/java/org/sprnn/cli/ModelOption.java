package org.sprnn.cli;

import java.nio.file.Path;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code --model}, {@code --cell} and {@code --module}, shared by the commands that read a model file. */
final class ModelOption {
    @Option(names = "--model", required = true, description = "Model file (.safetensors or .npz) with PyTorch's state-dict names.")
    Path model;

    @Option(names = "--cell", description = "Cell type: rnn_relu, rnn_tanh, gru, lstm (default: the model file's metadata 'cell').")
    String cell;

    @Option(names = "--module", paramLabel = "NAME", description = "Read only the RNN of this submodule (PyTorch's name: rnn, "
            + "encoder.rnn), ignoring the file's other tensors (a classifier head, an embedding); default: the file holds one RNN "
            + "and nothing else.")
    String module;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /** The model, its cell from {@code --cell} if given (it wins over the file's metadata, with a note where they differ). */
    RnnModel load() {
        return load(model, cell, module, command);
    }

    /**
     * The model's cell from bench's {@code --cell} or its old name {@code --model-cell} (still taken, hidden from the help):
     * at most one of them.
     */
    static String cell(String cell, String oldName) {
        if (cell != null && oldName != null) {
            throw new org.sprnn.SprnnException("--model-cell: the old name of --cell; pass one of them");
        }
        return cell != null ? cell : oldName;
    }

    /** {@link ModelFiles#load(Path, CellType, String, java.util.function.Consumer)} with the notes on {@code command}'s stderr. */
    static RnnModel load(Path file, String cell, String module, CommandSpec command) {
        return ModelFiles.load(file, cell == null ? null : CellType.parse(cell), module,
                note -> command.commandLine().getErr().println("sprnn " + command.name() + ": note: " + note));
    }
}
