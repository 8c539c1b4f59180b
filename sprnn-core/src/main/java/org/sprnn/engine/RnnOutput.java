package org.sprnn.engine;

import org.sprnn.model.Tensor;

/**
 * What a run returns.
 *
 * @param output the last layer's {@code h_t} for every step, {@code [T][B][H]}
 * @param hN     final hidden state of every layer, {@code [L][B][H]}
 * @param cN     final cell state of every layer, {@code [L][B][H]}, LSTM only (otherwise {@code null})
 */
public record RnnOutput(Tensor output, Tensor hN, Tensor cN) {
}
