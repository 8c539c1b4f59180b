package org.sprnn.model;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import org.sprnn.SprnnException;

/**
 * The recurrent cells sprnn computes, with PyTorch's semantics.
 *
 * <ul>
 *   <li>{@code rnn_relu}, {@code rnn_tanh}: {@code h' = act(W_ih x + b_ih + W_hh h + b_hh)} ({@code nn.RNN}).
 *   <li>{@code gru}: gates r, z, n in that row order; {@code n = tanh(W_in x + b_in + r * (W_hn h + b_hn))},
 *       {@code h' = (1 - z) * n + z * h} ({@code nn.GRU}).
 *   <li>{@code lstm}: gates i, f, g, o in that row order; {@code c' = f*c + i*g}, {@code h' = o*tanh(c')}
 *       ({@code nn.LSTM}).
 * </ul>
 */
public enum CellType {
    /** {@code nn.RNN(nonlinearity='relu')}: one gate row per unit. */
    RNN_RELU("rnn_relu", 1, 0),
    /** {@code nn.RNN(nonlinearity='tanh')}: one gate row per unit. */
    RNN_TANH("rnn_tanh", 1, 1),
    /** {@code nn.GRU}: rows r, z, n per unit. */
    GRU("gru", 3, 2),
    /** {@code nn.LSTM}: rows i, f, g, o per unit. */
    LSTM("lstm", 4, 3);

    private final String id;
    private final int gates;
    private final int kernelCode;

    CellType(String id, int gates, int kernelCode) {
        this.id = id;
        this.gates = gates;
        this.kernelCode = kernelCode;
    }

    /**
     * The name used in files, options and kernel names, e.g. {@code rnn_relu}.
     *
     * @return the id, lower case
     */
    public String id() {
        return id;
    }

    /**
     * Rows of {@code W_ih}/{@code W_hh} per hidden unit: 1, 3 (GRU) or 4 (LSTM).
     *
     * @return the number of gates G
     */
    public int gates() {
        return gates;
    }

    /**
     * The cell's number in the CUDA kernels: {@code SPRNN_CELL} of {@code sparse_persistent_rnn.cu} and {@code CELL} of
     * {@code rnn_cell_update.cu} (0 relu, 1 tanh, 2 gru, 3 lstm), fixed here rather than taken from the declaration
     * order; {@code KernelCodesContractTest} holds it to the kernels' sources.
     *
     * @return the kernel code, 0 to 3
     */
    public int kernelCode() {
        return kernelCode;
    }

    /**
     * Whether the cell carries a second state {@code c} (LSTM only).
     *
     * @return {@code true} for LSTM
     */
    public boolean hasCellState() {
        return this == LSTM;
    }

    /**
     * Parses a cell name. Accepts the ids above, case-insensitively, plus PyTorch's spellings
     * {@code RNN_RELU}, {@code RNN_TANH}, {@code GRU}, {@code LSTM}.
     *
     * @param name the name to parse
     * @return the cell type
     * @throws SprnnException naming the value and the accepted ones
     */
    public static CellType parse(String name) {
        if (name != null) {
            String key = name.trim().toLowerCase(Locale.ROOT).replace('-', '_');
            for (CellType c : values()) {
                if (c.id.equals(key)) {
                    return c;
                }
            }
        }
        throw new SprnnException("unknown cell '" + name + "': expected one of "
                + Arrays.stream(values()).map(CellType::id).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return id;
    }
}
