package org.sprnn.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.EngineSelection;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.engine.Session;
import org.sprnn.io.AtomicFiles;
import org.sprnn.io.Npy;
import org.sprnn.io.NpyFrames;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sprnn stream}: online inference over a byte stream. Frames of steps come in on standard input (or a named
 * pipe), each goes through one {@link Session} of the engine, whose states carry from frame to frame, and its
 * outputs go out on standard output at once, flushed, in the same format: for use from any language through a pipe.
 */
@Command(name = "stream",
        description = {"Run a model over steps read from standard input (or --input-pipe) and write each frame's outputs to "
                + "standard output as soon as it is computed (flushed per frame). The hidden (and cell) states carry from frame "
                + "to frame, so the outputs are those of one run over the whole stream.",
            "--format npy: each frame is a whole .npy array [t][B][I] (float16/32/64, t >= 1), each output a float32 .npy "
                + "[t][B][H]. --format raw: each frame is one step, B*I little-endian float32 values (batch-major), each "
                + "output B*H float32 values.",
            "The stream ends cleanly at the end of input between frames. A bad frame (malformed, wrong shape, truncated, "
                + "NaN/Inf) stops it with one line on stderr naming the frame, and exit code 2; the outputs of the frames "
                + "before it have been written. Bidirectional models cannot stream (their reverse direction needs the end)."},
        mixinStandardHelpOptions = true,
        sortOptions = false,
        footerHeading = "%nExamples:%n",
        footer = {"  python3 producer.py | sprnn stream --model gru.safetensors --batch 4 --format raw | python3 consumer.py",
            "  sprnn stream --model lstm.safetensors --format npy --input-pipe /tmp/steps.fifo > outputs.npys",
            "  sprnn stream --model rnn.safetensors --engine cpu-reference < frames.npys > outputs.npys",
            "  sprnn stream --model lstm.safetensors --batch 2 --h0 h.npy --c0 c.npy --final-h h2.npy --final-c c2.npy < part2.npys > out2.npys"})
final class StreamCommand extends SprnnCommand {
    /** The most values one npy frame may hold (64 MiB of float32): bounds what a hostile stream can ask for. */
    static final long MAX_FRAME_VALUES = 1L << 24;

    /** The largest {@code --batch}: with the model's input size, a raw frame must stay within {@link #MAX_FRAME_VALUES}. */
    static final int MAX_BATCH = 1 << 16;

    private final InputStream stdin;
    private final OutputStream stdout;

    @Mixin
    ModelOption modelOption;

    @Option(names = "--batch", defaultValue = "1", description = "Sequences per frame, B (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--format", defaultValue = "npy", description = "Frame format in and out: npy or raw (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--input-pipe", description = "Read the frames from this file or named pipe instead of standard input.")
    Path inputPipe;

    @Option(names = "--h0", description = "Initial hidden states [layers][B][H], .npy (default zeros).")
    Path h0;

    @Option(names = "--c0", description = "Initial cell states [layers][B][H], .npy, LSTM only (default zeros).")
    Path c0;

    @Option(names = "--final-h", description = "When the stream ends cleanly, write the hidden states after its last step here "
            + "(.npy [layers][B][H]), to start a later stream from with --h0.")
    Path finalH;

    @Option(names = "--final-c", description = "As --final-h for the cell states (LSTM only).")
    Path finalC;

    @Option(names = "--engine", defaultValue = "auto", description = "Engine, or auto (default: ${DEFAULT-VALUE}). See 'sprnn info'.")
    String engine;

    @Option(names = "--precision", defaultValue = "fp16", description = "GPU weight precision: fp16, bf16, fp32 (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--threads", description = "CPU threads for the cpu engine (default: all processors).")
    Integer threads;

    @Option(names = {"-v", "--verbose"}, description = "Print the engine chosen, and the frames and steps at the end, on stderr.")
    boolean verbose;

    StreamCommand() {
        this(System.in, System.out);
    }

    /** A stream command reading from {@code stdin} and writing to {@code stdout} (tests pass their own). */
    StreamCommand(InputStream stdin, OutputStream stdout) {
        this.stdin = stdin;
        this.stdout = stdout;
    }

    @Override
    public Integer call() {
        Options.positive("--batch", batch);
        if (batch > MAX_BATCH) {
            throw new SprnnException("--batch: at most " + MAX_BATCH + ", got " + batch);
        }
        String fmt = format.strip().toLowerCase(Locale.ROOT);
        if (!fmt.equals("npy") && !fmt.equals("raw")) {
            throw new SprnnException("--format: expected npy or raw, got '" + org.sprnn.io.Untrusted.escape(format) + "'");
        }
        if (inputPipe != null && (!Files.exists(inputPipe) || Files.isDirectory(inputPipe))) {
            throw new SprnnException("--input-pipe " + org.sprnn.io.Untrusted.quote(inputPipe.toString()) + ": " + (Files.isDirectory(inputPipe) ? "is a directory" : "no such file or pipe"));
        }
        EngineOptions.Builder ob = EngineOptions.builder().engine(engine)
                .precision(Precision.parse("--precision", precision, EngineOptions.PRECISIONS)).batchHint(batch);
        if (threads != null) {
            ob.threads(threads);
        }
        java.util.Map<String, Path> outs = new java.util.LinkedHashMap<>(), ins = new java.util.LinkedHashMap<>();
        outs.put("--final-h", finalH);
        outs.put("--final-c", finalC);
        ins.put("--model (the model file)", modelOption.model);
        ins.put("--input-pipe", inputPipe);
        ins.put("--h0", h0);
        ins.put("--c0", c0);
        Options.checkOutputFiles("stream", outs, ins);
        RnnModel m = modelOption.load();
        if (m.bidirectional()) {
            throw new SprnnException(modelOption.model + ": a bidirectional model cannot stream (its reverse direction starts at "
                    + "each sequence's end): use sprnn run on whole sequences");
        }
        if (finalC != null && !m.cell().hasCellState()) {
            throw new SprnnException("--final-c: cell " + m.cell() + " has no cell state (only lstm has)");
        }
        if ((long) batch * m.inputSize() > MAX_FRAME_VALUES) {
            throw new SprnnException("--batch " + batch + ": a step of " + batch + " x " + m.inputSize() + " inputs is more than the "
                    + MAX_FRAME_VALUES + " values a frame may hold");
        }
        Tensor h = h0 == null ? null : Npy.read(h0);
        Tensor c = c0 == null ? null : Npy.read(c0);
        try {
            RunInputs.checkExceptInputValues(m, Tensor.zeros(1, batch, m.inputSize()), h, c);
        } catch (SprnnException e) {
            Path file = e.getMessage().startsWith("h0") ? h0 : e.getMessage().startsWith("c0") ? c0 : null;
            throw new SprnnException((file == null ? "" : file + ": ") + e.getMessage() + " (--batch " + batch + ")");
        }
        String source = inputPipe == null ? "stdin" : inputPipe.toString();
        try (EngineSelection sel = EngineProvider.select(m, ob.build());
             InputStream in = inputPipe == null ? stdin : Files.newInputStream(inputPipe);
             Session session = sel.engine().openSession(batch, h, c)) {
            if (verbose) {
                err().printf("stream: engine %s (%s), batch %d, %s frames from %s%n", sel.engine().name(), sel.reason(), batch, fmt, source);
                err().flush();
            }
            long frames = 0;
            int inputs = m.inputSize(), outputs = m.outputSize();
            while (true) {
                String where = source + ": frame " + frames;
                Tensor chunk;
                FloatTensor rawChunk = null; // raw frames are float32 already: Session#stepFloat, no float64 copy either way
                if (fmt.equals("npy")) {
                    long done = session.steps();
                    chunk = NpyFrames.read(in, where, MAX_FRAME_VALUES, shape -> {
                        if (shape.length != 3 || shape[0] < 1 || shape[1] != batch || shape[2] != inputs) {
                            throw new SprnnException(where + " (after " + done + " steps): shape " + java.util.Arrays.toString(shape)
                                    + ", expected [t >= 1, " + batch + ", " + inputs + "] (steps, batch, input)");
                        }
                    });
                } else {
                    float[] raw = NpyFrames.readRaw(in, batch * inputs, where);
                    rawChunk = raw == null ? null : new FloatTensor(new int[] {1, batch, inputs}, raw);
                    chunk = null;
                }
                if (chunk == null && rawChunk == null) {
                    break;
                }
                FloatTensor f;
                try {
                    f = rawChunk != null ? session.stepFloat(rawChunk) : FloatTensor.of(session.step(chunk));
                } catch (SprnnException e) {
                    throw new SprnnException(where + " (after " + session.steps() + " steps): " + e.getMessage(), e);
                }
                if (fmt.equals("npy")) {
                    NpyFrames.write(stdout, f, "stdout");
                } else {
                    NpyFrames.writeRaw(stdout, f.data(), "stdout");
                }
                // System.out is a PrintStream, which keeps its write errors to itself: ask it, or a stream whose reader
                // has gone (| head) or whose disk is full would go on computing into nothing and exit 0
                if (stdout instanceof java.io.PrintStream ps && ps.checkError()) {
                    throw new SprnnException("stdout: cannot write frame " + frames + " (its reader has gone, or its disk is full); "
                            + "the output is incomplete" + (finalH != null || finalC != null ? " and no final state was written" : ""));
                }
                frames++;
            }
            if (verbose) {
                err().printf("stream: %d frames, %d steps, output %d values per step%n", frames, session.steps(), batch * outputs);
            }
            writeFinalStates(session.state(), m, batch);
        } catch (IOException e) {
            throw new SprnnException(source + ": cannot read: " + e.getMessage());
        }
        return 0;
    }

    /** The states after the last step (the initial ones if no frame came), to --final-h/--final-c, together or not at all. */
    private void writeFinalStates(RnnOutput state, RnnModel m, int batch) {
        if (finalH == null && finalC == null) {
            return;
        }
        int[] shape = {m.numLayers(), batch, m.hiddenSize()};
        AtomicFiles.Batch files = AtomicFiles.batch();
        if (finalH != null) {
            Npy.addTo(files, finalH, state.hN() != null ? state.hN() : Tensor.zeros(shape));
        }
        if (finalC != null) {
            Npy.addTo(files, finalC, state.cN() != null ? state.cN() : Tensor.zeros(shape));
        }
        files.write();
    }
}
