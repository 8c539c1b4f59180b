package org.sprnn.engine;

import java.util.List;
import org.sprnn.model.Tensor;

/**
 * An engine's own clock on the device ({@link Engine#deviceTimer()}): GPU engines time whole sequences
 * with CUDA events, host transfers and Java-side conversions excluded, which a wall clock around
 * {@link Engine#run} cannot separate.
 */
@FunctionalInterface
public interface DeviceTimer {

    /**
     * Times {@code reps} runs after {@code warmup} untimed ones, rotating through {@code inputSets}
     * (all of one shape, {@code [T][B][I]}; rotation keeps caches from holding one input).
     *
     * @param inputSets one or more inputs of the same shape
     * @param h0        initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0        initial cell states {@code [L][B][H]} (LSTM), or {@code null} for zeros
     * @param warmup    untimed runs first
     * @param reps      timed runs, each a sample of the result
     * @return µs per run of each sample, and how they were taken
     * @throws org.sprnn.SprnnException as {@link Engine#run}, and if the input sets differ in shape
     */
    DeviceTimes time(List<Tensor> inputSets, Tensor h0, Tensor c0, int warmup, int reps);
}
