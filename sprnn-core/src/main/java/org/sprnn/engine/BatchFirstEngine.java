package org.sprnn.engine;

// PyTorch's batch_first=True for every engine at once. The engines compute on sequence-first [T][B][I]
// data, the layout their kernels stream step by step; a caller whose data is batch-first [B][T][I] (the
// usual layout of a DataLoader batch, and nn.RNN/GRU/LSTM(batch_first=True)) would otherwise pass it
// as it is, and an input whose B and T are both plausible gives a wrong answer with no error. This
// decorator checks the input against the batch-first layout (so a wrong shape is reported in [B][T][I]
// terms, and a non-finite value at its [b][t][i]), transposes it, runs the engine, and transposes the
// output back. As in PyTorch, batch_first does not apply to the states: h0/c0 and h_n/c_n are
// [L][B][H] either way.

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.sprnn.SprnnException;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * An {@link Engine} that takes batch-first inputs {@code [B][T][I]} and returns batch-first outputs
 * {@code [B][T][H]}, as PyTorch's {@code nn.RNN/GRU/LSTM(batch_first=True)}, around any sequence-first
 * engine. Initial and final states keep PyTorch's {@code [L][B][H]}, which {@code batch_first} does not
 * change.
 *
 * <p>{@link EngineProvider#select} returns one when {@link EngineOptions#batchFirst()} is set. Each run
 * copies the input into a sequence-first array and the output back (one pass over each, small next to
 * the recurrence itself); the results are those of the wrapped engine on the transposed input, value for
 * value. It has the wrapped engine's {@link #name()} and {@link #tolerance()}.
 */
public final class BatchFirstEngine implements Engine {

    private final RnnModel model;
    private final Engine sequenceFirst;

    /**
     * Wraps an engine; closing this one closes it.
     *
     * @param model         the model {@code sequenceFirst} was built for (its sizes check the inputs)
     * @param sequenceFirst the engine that runs the transposed sequences
     */
    public BatchFirstEngine(RnnModel model, Engine sequenceFirst) {
        if (model == null || sequenceFirst == null) {
            throw new SprnnException("BatchFirstEngine: model and engine are required");
        }
        this.model = model;
        this.sequenceFirst = sequenceFirst;
    }

    /**
     * The wrapped, sequence-first engine.
     *
     * @return the engine this one wraps, which takes and returns sequence-first tensors
     */
    public Engine sequenceFirst() {
        return sequenceFirst;
    }

    /** The wrapped engine's name: the layout changes nothing about which engine computes. */
    @Override
    public String name() {
        return sequenceFirst.name();
    }

    /**
     * Runs a whole batch-first sequence.
     *
     * @param input {@code [B][T][I]}
     * @param h0    initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0    initial cell states {@code [L][B][H]} (LSTM), or {@code null} for zeros
     * @return outputs {@code [B][T][H]} and final states {@code [L][B][H]}
     * @throws SprnnException as {@link Engine#run}, with shapes named in the batch-first layout
     */
    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        check(model, input, h0, c0);
        RnnOutput r = sequenceFirst.run(input.transpose01(), h0, c0);
        return new RnnOutput(r.output().transpose01(), r.hN(), r.cN());
    }

    /**
     * Runs batch-first sequences of different lengths ({@link Engine#run(Tensor, Tensor, Tensor, SequenceLengths)}'s
     * contract, batch first).
     *
     * @param input   {@code [B][T][I]}; steps at or after a sequence's length are padding and never read
     * @param h0      initial hidden states, or {@code null} for zeros
     * @param c0      initial cell states (LSTM), or {@code null} for zeros
     * @param lengths one length per batch element, each 1..T; {@code null} for a plain run
     * @return outputs {@code [B][T][H]}, zero after each sequence's end, and final states
     * @throws SprnnException as the wrapped engine's, with shapes named in the batch-first layout
     */
    @Override
    public RnnOutput run(Tensor input, Tensor h0, Tensor c0, SequenceLengths lengths) {
        if (lengths == null) {
            return run(input, h0, c0);
        }
        EngineFeature.LENGTHS.require(name(), features());
        check(model, input, h0, c0, lengths);
        RnnOutput r = sequenceFirst.run(input.transpose01(), h0, c0, lengths);
        return new RnnOutput(r.output().transpose01(), r.hN(), r.cN());
    }

    /** The wrapped engine's features: the layout changes none of them. */
    @Override
    public java.util.Set<EngineFeature> features() {
        return sequenceFirst.features();
    }

    /**
     * A session of the wrapped engine that takes batch-first chunks {@code [B][t][I]} and returns
     * {@code [B][t][H]}; states stay {@code [L][B][H]}.
     */
    @Override
    public Session openSession(int batch, Tensor h0, Tensor c0) {
        Session s = sequenceFirst.openSession(batch, h0, c0);
        return new Session() {
            @Override
            public int batch() {
                return s.batch();
            }

            @Override
            public long steps() {
                return s.steps();
            }

            @Override
            public Tensor step(Tensor chunk) {
                if (chunk != null) { // checked as the caller laid it out, before it is transposed: shapes and [b][t][i] theirs
                    if (chunk.rank() != 3 || chunk.dim(0) != batch || chunk.dim(1) < 1 || chunk.dim(2) != model.inputSize()) {
                        throw new SprnnException("session: chunk has shape " + chunk.shapeString() + ", expected [" + batch
                                + ", steps >= 1, " + model.inputSize() + "] (batch, steps, input) for a batch-first session of batch "
                                + batch);
                    }
                    int bad = chunk.firstOutsideFloat32();
                    if (bad >= 0) {
                        throw refused(chunk.shape(), bad, chunk.data()[bad], String.valueOf(chunk.data()[bad]));
                    }
                }
                return s.step(chunk == null ? null : chunk.transpose01()).transpose01();
            }

            @Override
            public RnnOutput state() {
                RnnOutput r = s.state();
                return new RnnOutput(r.output() == null ? null : r.output().transpose01(), r.hN(), r.cN());
            }

            @Override
            public void close() {
                s.close();
            }
        };
    }

    /**
     * Runs a whole batch-first sequence held in float32 ({@link Engine#runFloat}'s contract, batch first).
     *
     * @param input  {@code [B][T][I]}
     * @param h0     initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0     initial cell states {@code [L][B][H]} (LSTM), or {@code null} for zeros
     * @param output {@code [B][T][H]} to overwrite with the outputs, or {@code null} to allocate one
     * @return outputs ({@code output} itself where given) and final states
     * @throws SprnnException as {@link Engine#runFloat}, with shapes named in the batch-first layout
     */
    @Override
    public FloatRnnOutput runFloat(FloatTensor input, FloatTensor h0, FloatTensor c0, FloatTensor output) {
        check(model, input, h0, c0, output);
        FloatRnnOutput r = sequenceFirst.runFloat(input.transpose01(), h0, c0, null);
        FloatTensor out;
        if (output != null) {
            r.output().transpose01Into(output);
            out = output;
        } else {
            out = r.output().transpose01();
        }
        return new FloatRnnOutput(out, r.hN(), r.cN());
    }

    @Override
    public double tolerance() {
        return sequenceFirst.tolerance();
    }

    /**
     * The wrapped engine's timer on the transposed inputs (each input set is {@code [B][T][I]}); empty
     * where the wrapped engine has none.
     */
    @Override
    public Optional<DeviceTimer> deviceTimer() {
        return sequenceFirst.deviceTimer().map(timer -> (inputSets, h0, c0, warmup, reps) -> {
            List<Tensor> sequenceFirstSets = new ArrayList<>(inputSets.size());
            for (Tensor x : inputSets) {
                checkInputShape(model, x == null ? null : x.shape());
                sequenceFirstSets.add(x.transpose01());
            }
            return timer.time(sequenceFirstSets, h0, c0, warmup, reps);
        });
    }

    /** Closes the wrapped engine (idempotent if it is). */
    @Override
    public void close() {
        sequenceFirst.close();
    }

    /**
     * {@link RunInputs#check(RnnModel, Tensor, Tensor, Tensor)} for a batch-first run: the input must be
     * {@code [B][T][I]}, the states {@code [L][B][H]}; messages name the batch-first layout, and an input
     * value float32 cannot hold by its {@code [b][t][i]}.
     *
     * @param model the model to be run
     * @param input the input {@code [B][T][I]}
     * @param h0 initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0 initial cell states {@code [L][B][H]} (LSTM only), or {@code null} for zeros
     * @return the batch size B
     * @throws SprnnException naming the argument, its shape and the expected one
     */
    public static int check(RnnModel model, Tensor input, Tensor h0, Tensor c0) {
        int b = checkInputShape(model, input == null ? null : input.shape());
        // the states through RunInputs itself (a one-step stand-in input of the same B and I), so that
        // their messages are every engine's
        RunInputs.checkExceptInputValues(model, Tensor.zeros(1, b, model.inputSize()), h0, c0);
        int bad = input.firstOutsideFloat32(); // NaN, infinity, or a float64 such as 1e300 (Float32Range)
        if (bad >= 0) {
            throw refused(input.shape(), bad, input.data()[bad], String.valueOf(input.data()[bad]));
        }
        return b;
    }

    /**
     * {@link #check(RnnModel, Tensor, Tensor, Tensor)} with per-sequence lengths: only the input values a run with
     * these lengths reads are tested; {@code lengths} null is that check itself.
     *
     * @param model the model to be run
     * @param input the input {@code [B][T][I]}
     * @param h0 initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0 initial cell states {@code [L][B][H]} (LSTM only), or {@code null} for zeros
     * @param lengths one length per batch element, or {@code null} for equal-length sequences
     * @return the batch size B
     * @throws SprnnException naming the argument (or {@code lengths[b]}), its shape and the expected one
     */
    public static int check(RnnModel model, Tensor input, Tensor h0, Tensor c0, SequenceLengths lengths) {
        if (lengths == null) {
            return check(model, input, h0, c0);
        }
        int b = checkInputShape(model, input == null ? null : input.shape());
        RunInputs.checkExceptInputValues(model, Tensor.zeros(1, b, model.inputSize()), h0, c0);
        lengths.check(b, input.dim(1));
        LengthSegments.checkReadValues(input, lengths, true);
        return b;
    }

    /**
     * {@link #check(RnnModel, Tensor, Tensor, Tensor)} for a float32 batch-first run, plus the output
     * buffer: {@code output}, where given, must be {@code [B][T][H]}.
     *
     * @param model the model to be run
     * @param input the float32 input {@code [B][T][I]}
     * @param h0 initial hidden states {@code [L][B][H]}, or {@code null} for zeros
     * @param c0 initial cell states {@code [L][B][H]} (LSTM only), or {@code null} for zeros
     * @param output the caller's output buffer {@code [B][T][H]}, or {@code null}
     * @return the batch size B
     * @throws SprnnException naming the argument, its shape and the expected one
     */
    public static int check(RnnModel model, FloatTensor input, FloatTensor h0, FloatTensor c0, FloatTensor output) {
        int b = checkInputShape(model, input == null ? null : input.shape());
        RunInputs.checkExceptInputValues(model, FloatTensor.zeros(1, b, model.inputSize()), h0, c0, null);
        int t = input.dim(1), h = model.outputSize();
        if (output != null && !output.hasShape(b, t, h)) {
            throw new SprnnException("output has shape " + output.shapeString() + ", expected [" + b + ", " + t + ", " + h
                    + "] (batch, steps, hidden: batch first)");
        }
        int bad = input.firstNonFinite();
        if (bad >= 0) {
            throw refused(input.shape(), bad, input.data()[bad], String.valueOf(input.data()[bad]));
        }
        return b;
    }

    /** The input's shape against {@code [B][T][I]}; returns B. */
    private static int checkInputShape(RnnModel model, int[] input) {
        if (input == null) {
            throw new SprnnException("input: missing");
        }
        String inShape = Arrays.toString(input);
        if (input.length != 3) {
            throw new SprnnException("input has shape " + inShape + ", expected [B][T][I] (rank 3, batch first)");
        }
        int b = input[0], t = input[1], i = input[2];
        if (b < 1 || t < 1) {
            throw new SprnnException("input has shape " + inShape + ": need B >= 1 and T >= 1 (batch first, [B][T][I])");
        }
        if (i != model.inputSize()) {
            throw new SprnnException("input has " + i + " features per step (shape " + inShape
                    + ", batch first [B][T][I]) but the model's input size is " + model.inputSize());
        }
        return b;
    }

    /** The {@link Float32Range} refusal of input element {@code bad} of a {@code [B][T][I]} input, by its {@code [b][t][i]}. */
    private static SprnnException refused(int[] s, int bad, double value, String shown) {
        int i = bad % s[2], t = (bad / s[2]) % s[1], b = bad / (s[1] * s[2]);
        return new SprnnException(Float32Range.refusal("input", value, shown, "[" + b + "][" + t + "][" + i + "]"));
    }
}
