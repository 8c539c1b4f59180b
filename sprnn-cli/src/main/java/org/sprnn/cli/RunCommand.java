package org.sprnn.cli;

import java.nio.file.Path;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.BatchFirstEngine;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFeature;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.FloatRnnOutput;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.engine.Trials;
import org.sprnn.io.AtomicFiles;
import org.sprnn.io.Npy;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** {@code sprnn run}: a model on an input sequence from files, outputs to {@code .npy} files. */
@Command(name = "run",
        description = {"Run a model (safetensors or npz with PyTorch's state-dict names) on an input sequence "
                + "[T][B][I] (.npy, float32/64) and write the output [T][B][H] (last layer's h for every step) as float32 .npy.",
            "With --batch-first (PyTorch's batch_first=True) the input is [B][T][I] and the output [B][T][H].",
            "Initial and final states are [layers][B][H] in both layouts; initial states default to zeros. "
                + "Files are written whole or not at all.",
            "With --lengths, sequence b is its first lengths[b] steps (PyTorch's pack_padded_sequence): its outputs after "
                + "that are zero and its final states are those of its own last step; the padding is never read.",
            "A bidirectional model (*_reverse tensors) gives [T][B][2H] (forward half, then reverse) and states "
                + "[2 x layers][B][H], ordered as PyTorch's."},
        mixinStandardHelpOptions = true,
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn run --model gru.safetensors --input x.npy --output y.npy",
            "  sprnn run --model lstm.npz --cell lstm --input x.npy --h0 h0.npy --c0 c0.npy --output y.npy --final-h hN.npy --final-c cN.npy",
            "  sprnn run --model rnn.safetensors --input x.npy --output y.npy --engine cpu-reference",
            "  sprnn run --model lstm.safetensors --input x_bti.npy --batch-first --output y_bth.npy",
            "  sprnn run --model gru.safetensors --input x.npy --lengths 17,256,90,3 --output y.npy --final-h hN.npy",
            "  sprnn run --model bilstm.safetensors --input x.npy --lengths lengths.npy --output y.npy"})
final class RunCommand extends SprnnCommand {
    @Mixin
    ModelOption modelOption;

    @Option(names = "--input", required = true, description = "Input sequence [T][B][I] ([B][T][I] with --batch-first), .npy float32 or float64.")
    Path input;

    @Option(names = "--batch-first", description = "Input is [B][T][I] and output [B][T][H], as PyTorch's batch_first=True "
            + "(default: sequence first, [T][B][I] and [T][B][H]). States stay [layers][B][H].")
    boolean batchFirst;

    @Option(names = "--lengths", description = "Per-sequence lengths, each 1..T: a list (17,256,90,3) or a .npy of int32/int64 [B]. "
            + "Outputs after a sequence's end are zero; final states are those of its own last step (PyTorch's pack_padded_sequence).")
    String lengths;

    @Option(names = "--h0", description = "Initial hidden states [layers][B][H], .npy (default zeros).")
    Path h0;

    @Option(names = "--c0", description = "Initial cell states [layers][B][H], .npy, LSTM only (default zeros).")
    Path c0;

    @Option(names = "--engine", defaultValue = "auto", description = "Engine, or auto for the fastest available (default: ${DEFAULT-VALUE}). See 'sprnn info'.")
    String engine;

    @Option(names = "--precision", defaultValue = "fp16", description = "GPU weight precision: fp16, bf16, fp32 (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--threads", description = "CPU threads for the cpu engine (default: all processors).")
    Integer threads;

    @Option(names = "--cudnn-algo", defaultValue = "auto", description = "cuDNN's RNN algorithm for --engine cuda-cudnn: auto (the "
            + "persistent ones first, STANDARD where cuDNN refuses them), standard, persist-static, persist-static-small-h, "
            + "persist-dynamic (default: ${DEFAULT-VALUE}).")
    String cudnnAlgo;

    @Option(names = "--output", required = true, description = "Output file [T][B][H] ([B][T][H] with --batch-first; 2H wide for a "
            + "bidirectional model), float32 .npy.")
    Path output;

    @Option(names = "--final-h", description = "Also write the final hidden states [layers][B][H] here (.npy).")
    Path finalH;

    @Option(names = "--final-c", description = "Also write the final cell states [layers][B][H] here (.npy, LSTM only).")
    Path finalC;

    @Option(names = "--tune", description = "With --engine auto: measure each feasible engine the tuning cache has no figure "
            + "for on this input's shape (a short trial), keep the figures, and take the fastest (see 'sprnn explain').")
    boolean tune;

    @Option(names = {"-v", "--verbose"}, description = "Print the engine chosen and why the others were not.")
    boolean verbose;

    @Override
    public Integer call() {
        EngineOptions.Builder ob = EngineOptions.builder().engine(engine)
                .precision(Precision.parse("--precision", precision, EngineOptions.PRECISIONS)).batchFirst(batchFirst).cudnnAlgo(cudnnAlgo);
        if (threads != null) {
            ob.threads(threads);
        }
        java.util.Map<String, Path> outs = new java.util.LinkedHashMap<>(), ins = new java.util.LinkedHashMap<>();
        outs.put("--output", output);
        outs.put("--final-h", finalH);
        outs.put("--final-c", finalC);
        ins.put("--model (the model file)", modelOption.model);
        ins.put("--input", input);
        ins.put("--h0", h0);
        ins.put("--c0", c0);
        ins.put("--lengths", LengthsOption.fileOf(lengths));
        Options.checkOutputFiles("run", outs, ins);
        RnnModel m = modelOption.load();
        if (finalC != null && !m.cell().hasCellState()) {
            throw new SprnnException("--final-c: cell " + m.cell() + " has no cell state (only lstm has)");
        }
        Tensor x = Npy.read(input);
        Tensor h = h0 == null ? null : Npy.read(h0);
        Tensor c = c0 == null ? null : Npy.read(c0);
        SequenceLengths lens = x.rank() == 3 ? LengthsOption.parse(lengths, x.dim(batchFirst ? 0 : 1), x.dim(batchFirst ? 1 : 0)) : null;
        checkInputs(m, x, h, c, lens);
        ob.batchHint(x.dim(batchFirst ? 0 : 1));
        if (lens != null) {
            ob.require(EngineFeature.LENGTHS);
        }
        Trials trials = tune && "auto".equals(engine) ? Trials.tune(Math.min(x.dim(batchFirst ? 1 : 0), Trials.DEFAULT_STEPS), line -> err().println(line))
                : Trials.cached(Trials.DEFAULT_STEPS);
        try (EngineSelection sel = EngineProvider.select(m, ob.build(), trials)) {
            if (tune && !"auto".equals(engine)) { // nothing to choose: say so rather than ignore it
                err().println("sprnn run: note: --tune chooses among engines for --engine auto; with --engine "
                        + org.sprnn.io.Untrusted.quote(engine) + " it measures nothing");
            }
            if (verbose) {
                var err = err();
                err.printf("engine %s (%s)%n", sel.engine().name(), sel.reason());
                sel.rejected().forEach((k, v) -> err.printf("  not %s: %s%n", k, v));
            }
            FloatRnnOutput out = lens == null ? runAsFloat32(sel.engine(), x, h, c) : float32(sel.engine().run(x, h, c, lens));
            AtomicFiles.Batch files = Npy.addTo(AtomicFiles.batch(), output, out.output());
            if (finalH != null) {
                Npy.addTo(files, finalH, out.hN());
            }
            if (finalC != null) {
                Npy.addTo(files, finalC, out.cN());
            }
            files.write(); // all of them or none
        }
        return 0;
    }

    /**
     * The inputs against the model, before the engine is built (a GPU engine compiles kernels and takes
     * device memory first), with each refusal naming the file it is about. The engine checks its
     * arguments again when it runs ({@link Engine}'s contract; shapes cost nothing, the value scan one
     * pass over the input): its messages name the argument ({@code input}, {@code h0}) but cannot name
     * the file, and the messages here must.
     */
    private void checkInputs(RnnModel m, Tensor x, Tensor h, Tensor c, SequenceLengths lens) {
        try {
            if (batchFirst) {
                BatchFirstEngine.check(m, x, h, c, lens);
            } else {
                RunInputs.check(m, x, h, c, lens);
            }
        } catch (SprnnException e) { // name the files, not just the arguments
            String msg = e.getMessage();
            Path file = msg.startsWith("input") ? input : msg.startsWith("h0") ? h0 : msg.startsWith("c0") ? c0 : null;
            throw new SprnnException((file == null ? "" : file + ": ") + msg + " (model " + modelOption.model + ")");
        }
    }

    /**
     * Runs {@code engine} (any engine, through {@link Engine} alone) and returns its results in float32,
     * the type the files hold.
     *
     * <p>Where every input value is a float32 (a float32 file, or a float64 one holding float32 values)
     * this is {@link Engine#runFloat}: an engine with a float32 path ({@code cpu}) computes from the
     * values as they are and makes no float64 output array; every other engine's default converts
     * exactly, runs {@link Engine#run} and rounds its results to float32. Where a float64 file holds
     * values float32 cannot represent exactly, {@code run} gets them as they are (so that
     * {@code cpu-reference} computes on them in float64) and its results are rounded to float32 here,
     * as {@code runFloat}'s default does. Either way the files hold {@code run}'s results rounded to
     * float32, value for value.
     */
    static FloatRnnOutput runAsFloat32(Engine engine, Tensor x, Tensor h, Tensor c) {
        FloatTensor xf = FloatTensor.of(x);
        FloatTensor hf = h == null ? null : FloatTensor.of(h);
        FloatTensor cf = c == null ? null : FloatTensor.of(c);
        if (exactly(x, xf) && exactly(h, hf) && exactly(c, cf)) {
            return engine.runFloat(xf, hf, cf, null);
        }
        return float32(engine.run(x, h, c));
    }

    /** A run's results rounded to float32, the type the files hold. */
    static FloatRnnOutput float32(RnnOutput r) {
        return new FloatRnnOutput(FloatTensor.of(r.output()), FloatTensor.of(r.hN()),
                r.cN() == null ? null : FloatTensor.of(r.cN()));
    }

    /** Whether {@code rounded} holds {@code t}'s values exactly (both null counts as exact). */
    private static boolean exactly(Tensor t, FloatTensor rounded) {
        if (t == null) {
            return true;
        }
        double[] d = t.data();
        float[] f = rounded.data();
        for (int i = 0; i < d.length; i++) {
            if (f[i] != d[i]) { // the inputs are finite here (checked): no NaN to compare
                return false;
            }
        }
        return true;
    }
}
