package org.sprnn.engine;

import org.sprnn.Precision;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.Tensor;

/**
 * Runs one model on sequences. Built for a model by an {@link EngineFactory}; holds whatever the model
 * needs (packed weights, device buffers, compiled kernels) until closed.
 *
 * <p><b>Close every engine</b> (try-with-resources) when done with it: {@link #close()} releases its
 * threads and native memory at once. An engine dropped without {@code close()} releases what it can
 * when the garbage collector finds it unreachable, which may be much later or never: the {@code cpu}
 * engine's worker threads then stop and its memory is freed with it; {@code cpu-reference} holds
 * nothing but heap memory; the CUDA engines' device memory, pinned host memory, CUDA context
 * reference, streams and compiled modules are <em>not</em> released until the process exits (so
 * engines built in a loop without {@code close()} run the GPU out of memory).
 *
 * <p>Inputs follow PyTorch's sequence-first layout ({@code batch_first=False}): {@code [T][B][I]} in,
 * {@code [T][B][H]} out. For batch-first data, {@link BatchFirstEngine} (what
 * {@link EngineProvider#select} returns with {@link EngineOptions#batchFirst()}) takes {@code [B][T][I]}
 * and returns {@code [B][T][H]}. Implementations check their arguments with {@link RunInputs#check} and
 * never modify them.
 */
public interface Engine extends AutoCloseable {

    /**
     * The engine's name, e.g. {@code cpu-reference}.
     *
     * @return the name, as {@link EngineOptions#engine()} and {@code --engine} take it
     */
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
     * Runs a whole sequence held in float32, for callers whose data is float32 already: no float64
     * copy of the input or output is made where the engine computes in float32 (the {@code cpu} engine
     * overrides this), and the output can go into a buffer the caller reuses from run to run, so that a
     * run need not allocate and zero {@code T*B*H} values.
     *
     * <p>This default runs {@link #run(Tensor, Tensor, Tensor)} on float64 copies and rounds the results
     * to float32, so every engine accepts it; results then equal {@code run}'s rounded to float32.
     *
     * @param input  {@code [T][B][I]}
     * @param h0     initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0     initial cell states {@code [L][B][H]} (LSTM), or {@code null} for zeros
     * @param output {@code [T][B][H]} to overwrite with the outputs, or {@code null} to allocate one
     * @return outputs ({@code output} itself where given) and final states
     * @throws org.sprnn.SprnnException as {@link #run(Tensor, Tensor, Tensor)}, and if {@code output} has
     *                                  the wrong shape
     */
    default FloatRnnOutput runFloat(FloatTensor input, FloatTensor h0, FloatTensor c0, FloatTensor output) {
        if (input == null) {
            throw new org.sprnn.SprnnException("input: missing");
        }
        RnnOutput r = run(input.toTensor(), h0 == null ? null : h0.toTensor(), c0 == null ? null : c0.toTensor());
        int[] shape = r.output().shape();
        if (output != null && !output.hasShape(shape)) {
            throw new org.sprnn.SprnnException("output has shape " + output.shapeString() + ", expected "
                    + r.output().shapeString() + " (steps, batch, hidden)");
        }
        FloatTensor out = output != null ? output : FloatTensor.zeros(shape);
        double[] src = r.output().data();
        float[] dst = out.data();
        for (int i = 0; i < dst.length; i++) {
            dst[i] = (float) src[i];
        }
        return new FloatRnnOutput(out, FloatTensor.of(r.hN()), r.cN() == null ? null : FloatTensor.of(r.cN()));
    }

    /**
     * The relative error ({@link Accuracy#relativeError}) this engine is specified to stay within against
     * {@code cpu-reference}: that of the precision it computes in ({@link Precision#tolerance()}); by default
     * float32's, 1e-5.
     *
     * @return the largest relative error against {@code cpu-reference} this engine promises
     */
    default double tolerance() {
        return Precision.FP32.tolerance();
    }

    /**
     * The engine's clock on the device, where it has one (GPU engines: CUDA events around the sequence;
     * host transfers and Java conversions excluded). Asking costs nothing: no timing runs until
     * {@link DeviceTimer#time} is called.
     *
     * @return the timer; empty for engines without a device clock (the CPU engines), whose callers time
     *         {@link #run} by wall clock instead
     */
    default java.util.Optional<DeviceTimer> deviceTimer() {
        return java.util.Optional.empty();
    }

    /**
     * Releases what the engine holds (threads, device and pinned memory, compiled modules); idempotent.
     * A closed engine refuses to run. See the class comment for engines that are never closed.
     */
    @Override
    void close();
}
