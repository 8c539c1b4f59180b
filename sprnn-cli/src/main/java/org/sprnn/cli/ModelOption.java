package org.sprnn.cli;

import java.nio.file.Path;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import picocli.CommandLine.Option;

/** {@code --model} and {@code --cell}, shared by the commands that read a model file. */
final class ModelOption {
    @Option(names = "--model", required = true, description = "Model file (.safetensors or .npz) with PyTorch's state-dict names.")
    Path model;

    @Option(names = "--cell", description = "Cell type: rnn_relu, rnn_tanh, gru, lstm (default: the model file's metadata 'cell').")
    String cell;

    /** The model, its cell from {@code --cell} if given (it wins over the file's metadata). */
    RnnModel load() {
        return ModelFiles.load(model, cell == null ? null : CellType.parse(cell));
    }
}
