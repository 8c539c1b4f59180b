package org.sprnn.engine;

import org.sprnn.model.FloatTensor;

/**
 * What a float32 run ({@link Engine#runFloat}) returns: the same three results as {@link RnnOutput},
 * in float32.
 *
 * @param output the last layer's {@code h_t} for every step, {@code [T][B][H]}; the caller's buffer
 *               where one was passed to {@code runFloat}
 * @param hN     final hidden state of every layer, {@code [L][B][H]}
 * @param cN     final cell state of every layer, {@code [L][B][H]}, LSTM only (otherwise {@code null})
 */
public record FloatRnnOutput(FloatTensor output, FloatTensor hN, FloatTensor cN) {
}
