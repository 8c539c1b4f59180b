package org.sprnn.engine;

import org.sprnn.model.Tensor;

/**
 * Runs one model on sequences. Built for a model by an {@link EngineFactory}; holds whatever the model
 * needs (packed weights, device buffers, compiled kernels) until closed.
 *
 * <p>Inputs follow PyTorch's sequence-first layout. Implementations check them with
 * {@link RunInputs#check} and never modify them.
 */
public interface Engine extends AutoCloseable {

    /** The engine's name, e.g. {@code cpu-reference}. */
    String name();

    /**
     * Runs a whole sequence.
     *
     * @param input {@code [T][B][I]}
     * @param h0    initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0    initial cell states {@code [L][B][H]} (LSTM), or {@code null} for zeros
     * @return outputs and final states
     * @throws org.sprnn.SprnnException on shapes that do not match the model, non-finite input, or a
     *                                  device fault
     */
    RnnOutput run(Tensor input, Tensor h0, Tensor c0);

    /**
     * The relative error ({@link Accuracy#relativeError}) this engine is specified to stay within against
     * {@code cpu-reference}: 1e-5 for float32 arithmetic, about 3e-3 with fp16/bf16 weights.
     */
    default double tolerance() {
        return 1e-5;
    }

    /**
     * Device time of whole sequences on this input, where the engine can measure it on the device itself
     * (GPU engines: CUDA events around the sequence; host transfers and Java conversions excluded).
     *
     * @return µs per run for each of {@code reps} runs after {@code warmup} untimed ones; empty for
     *         engines without a device clock (the CPU engines)
     */
    default java.util.Optional<double[]> deviceMicrosPerRun(Tensor input, int warmup, int reps) {
        return java.util.Optional.empty();
    }

    /** Releases what the engine holds; idempotent. */
    @Override
    void close();
}
