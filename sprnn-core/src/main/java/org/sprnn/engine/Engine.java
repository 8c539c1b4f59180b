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
 *
 * <p>Beyond whole equal-length batches (issue 17): {@link #run(Tensor, Tensor, Tensor, SequenceLengths)} takes
 * per-sequence lengths and a bidirectional model gives {@code [T][B][2H]}, on the engines whose
 * {@link #features()} say so (the others refuse in one line, {@link EngineFeature#refusal}); every engine opens
 * streaming {@link Session}s ({@link #openSession}).
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
     * Runs a batch of sequences of different lengths, with PyTorch's {@code pack_padded_sequence} semantics
     * ({@link SequenceLengths}): outputs after a sequence's end are zero, the final states are each sequence's
     * state at its own last step; a bidirectional layer's reverse direction starts at each sequence's own last step.
     *
     * <p>This default runs one segment per distinct length through {@link #run(Tensor, Tensor, Tensor)}
     * ({@link LengthSegments}) on engines that list {@link EngineFeature#LENGTHS} in {@link #features()}, and
     * refuses on the others ({@link EngineFeature#refusal}).
     *
     * @param input   {@code [T][B][I]}; steps at or after a sequence's length are padding and never read
     * @param h0      initial hidden states {@code [L][B][H]} ({@code [2L][B][H]} bidirectional), or {@code null} for zeros
     * @param c0      initial cell states, as {@code h0} (LSTM), or {@code null} for zeros
     * @param lengths one length per batch element, each 1..T; {@code null} for a plain run
     * @return outputs {@code [T][B][H]} ({@code [T][B][2H]} bidirectional) and final states
     * @throws org.sprnn.SprnnException as {@link #run(Tensor, Tensor, Tensor)}; also if the lengths do not fit the
     *                                  input, or the engine does not support them
     */
    default RnnOutput run(Tensor input, Tensor h0, Tensor c0, SequenceLengths lengths) {
        if (lengths == null) {
            return run(input, h0, c0);
        }
        EngineFeature.LENGTHS.require(name(), features());
        return LengthSegments.run(this, input, h0, c0, lengths);
    }

    /**
     * What this engine supports beyond equal-length batches through unidirectional models; by default
     * nothing ({@link EngineFeature}). Every engine sprnn builds supports lengths; a bidirectional model runs as a
     * {@link BidirectionalEngine} of one engine per layer and direction ({@link ComposedFeatures}).
     *
     * @return the features supported
     */
    default java.util.Set<EngineFeature> features() {
        return java.util.Set.of();
    }

    /**
     * Opens a streaming session ({@link Session}) for a batch, its states starting at {@code h0}/{@code c0}.
     *
     * <p>This default keeps the states on the Java heap and runs each chunk through {@link #run(Tensor, Tensor,
     * Tensor)} from them, so every engine has sessions; the result of a chunked stream equals one whole run.
     * A bidirectional model has none: its reverse direction needs the whole sequence.
     *
     * @param batch the batch size of every chunk (≥ 1)
     * @param h0    initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0    initial cell states {@code [L][B][H]} (LSTM), or {@code null} for zeros
     * @return the session, open; the caller closes it
     * @throws org.sprnn.SprnnException if the states do not have {@code batch} rows, or the engine cannot stream
     */
    default Session openSession(int batch, Tensor h0, Tensor c0) {
        // copies: the caller's arrays stay theirs (ComposedFeatures.session passes RunInputs.sessionStates', copies already)
        return new CarriedStateSession(this, batch, Tensor.copyOf(h0), Tensor.copyOf(c0));
    }

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
