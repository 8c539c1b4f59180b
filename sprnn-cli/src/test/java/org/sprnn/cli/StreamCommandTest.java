package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.io.ModelFiles;
import org.sprnn.io.NpyFrames;
import org.sprnn.model.CellType;
import org.sprnn.model.FloatTensor;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** {@code sprnn stream} in-process, on piped byte streams: frames in, outputs out as they come, bad frames as one line. */
class StreamCommandTest {
    @TempDir
    Path dir;

    Path model;
    RnnModel lstm;
    Tensor x; // [7][2][3]
    RnnOutput whole;

    @BeforeEach
    void setUp() {
        lstm = SyntheticModels.random(CellType.LSTM, 3, 5, 2, 0.6, 1.0, 8);
        model = dir.resolve("lstm.safetensors");
        ModelFiles.save(lstm, model, Precision.FP32);
        x = FloatTensor.of(SyntheticModels.input(7, 2, 3, 9)).toTensor(); // float32 values, as the frames carry them
        whole = new CpuReferenceEngine(ModelFiles.load(model, null)).run(x, null, null); // the weights as the file holds them
    }

    record Result(int code, byte[] out, String err) {
    }

    static Result stream(InputStream stdin, String... args) {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        String[] full = new String[args.length + 1];
        full[0] = "stream";
        System.arraycopy(args, 0, full, 1, args.length);
        int code = Main.execute(full, stdin, stdout, new PrintWriter(new StringWriter()), new PrintWriter(err, true));
        return new Result(code, stdout.toByteArray(), err.toString());
    }

    /** Steps [t0, t0 + n) of x as one float32 .npy frame. */
    private byte[] npyFrame(int t0, int n) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        NpyFrames.write(b, FloatTensor.of(SessionSlices.steps(x, t0, n)), "test");
        return b.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    @Test
    void npyFramesOfAnyLengthGiveTheWholeRunsOutputs() {
        byte[] in = concat(npyFrame(0, 2), npyFrame(2, 1), npyFrame(3, 4));
        for (String engine : new String[] {"cpu-reference", "cpu"}) {
            Result r = stream(new ByteArrayInputStream(in), "--model", model.toString(), "--batch", "2", "--engine", engine, "--threads", "2");
            assertThat(r.code()).as(engine + ": " + r.err()).isZero();
            ByteArrayInputStream out = new ByteArrayInputStream(r.out());
            int t = 0;
            for (int n : new int[] {2, 1, 4}) {
                Tensor frame = NpyFrames.read(out, "output", 1 << 20);
                assertThat(frame.shape()).as(engine).containsExactly(n, 2, 5);
                double[] want = FloatTensor.of(SessionSlices.steps(whole.output(), t, n)).toTensor().data();
                if (engine.equals("cpu-reference")) { // the frames hold its results rounded to float32, value for value
                    assertThat(frame.data()).as(engine + ", frame at step " + t).containsExactly(want);
                } else {
                    assertThat(org.sprnn.engine.Accuracy.relativeError(frame, new Tensor(frame.shape(), want)))
                            .as(engine + ", frame at step " + t).isLessThan(1e-6);
                }
                t += n;
            }
            assertThat(NpyFrames.read(out, "output", 1 << 20)).as("nothing after the last frame").isNull();
        }
    }

    @Test
    void rawFramesAreOneStepEachAndFlushedAsTheyCome() throws Exception {
        PipedOutputStream feed = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(feed, 1 << 16);
        PipedInputStream results = new PipedInputStream(1 << 16);
        PipedOutputStream stdout = new PipedOutputStream(results);
        StringWriter err = new StringWriter();
        CompletableFuture<Integer> running = CompletableFuture.supplyAsync(() -> {
            try {
                return Main.execute(new String[] {"stream", "--model", model.toString(), "--batch", "2", "--format", "raw",
                    "--engine", "cpu-reference"}, stdin, stdout, new PrintWriter(new StringWriter()), new PrintWriter(err, true));
            } finally {
                try {
                    stdout.close();
                } catch (IOException ignored) {
                    // the reader sees the end either way
                }
            }
        });
        for (int t = 0; t < 7; t++) {
            float[] step = FloatTensor.of(SessionSlices.steps(x, t, 1)).data();
            ByteBuffer b = ByteBuffer.allocate(4 * step.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : step) {
                b.putFloat(v);
            }
            feed.write(b.array());
            feed.flush();
            // the step's output arrives before the next step is sent: written and flushed per frame
            byte[] got = results.readNBytes(4 * 2 * 5);
            assertThat(got).as("step " + t + "'s output, " + err).hasSize(40);
            ByteBuffer o = ByteBuffer.wrap(got).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 10; i++) {
                assertThat((double) o.getFloat()).as("step " + t + ", value " + i).isEqualTo((double) (float) whole.output().data()[t * 10 + i]);
            }
        }
        feed.close();
        assertThat(running.get(30, TimeUnit.SECONDS)).as(err.toString()).isZero();
        assertThat(results.read()).as("end of output").isEqualTo(-1);
    }

    @Test
    void badFramesStopWithOneLineNamingTheFrame() {
        byte[] good = npyFrame(0, 2);
        byte[] wrongBatch = new byte[0];
        {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            NpyFrames.write(b, FloatTensor.zeros(1, 3, 3), "test");
            wrongBatch = b.toByteArray();
        }
        ByteArrayOutputStream nan = new ByteArrayOutputStream();
        FloatTensor n = FloatTensor.of(SessionSlices.steps(x, 0, 1));
        n.data()[4] = Float.NaN;
        NpyFrames.write(nan, n, "test");
        Object[][] cases = {
            {concat(good, wrongBatch), "stdin: frame 1 (after 2 steps): shape [1, 3, 3], expected [t >= 1, 2, 3] (steps, batch, input)"},
            {concat(good, java.util.Arrays.copyOf(good, good.length - 5)), "stdin: frame 1: truncated: the stream ends inside the frame's data"},
            {concat(good, "garbage!".getBytes()), "stdin: frame 1: not a .npy file"},
            {concat(good, nan.toByteArray()), "stdin: frame 1 (after 2 steps): input holds a non-finite value"},
        };
        for (Object[] c : cases) {
            Result r = stream(new ByteArrayInputStream((byte[]) c[0]), "--model", model.toString(), "--batch", "2", "--engine", "cpu");
            assertThat(r.code()).as(r.err()).isEqualTo(2);
            assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
            assertThat(r.err()).doesNotContain("Exception").contains("sprnn stream: " + c[1]);
            assertThat(NpyFrames.read(new ByteArrayInputStream(r.out()), "out", 1 << 20).shape()).as("the good frame's output was written")
                    .containsExactly(2, 2, 5);
        }
        // a header that claims 5,000,000 steps is refused before any data is read or allocated
        byte[] huge = new String(npyFrame(0, 1), java.nio.charset.StandardCharsets.ISO_8859_1).replace("(1, 2, 3)", "(5000000, 2, 3)")
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Result big = stream(new ByteArrayInputStream(huge), "--model", model.toString(), "--batch", "2");
        assertThat(big.code()).isEqualTo(2);
        assertThat(big.err()).contains("sprnn stream: stdin: frame 0: shape [5000000, 2, 3] holds 30000000 values, more than the 16777216 a frame may hold");
        Result raw = stream(new ByteArrayInputStream(new byte[4 * 6 + 7]), "--model", model.toString(), "--batch", "2", "--format", "raw");
        assertThat(raw.code()).isEqualTo(2);
        assertThat(raw.err()).contains("sprnn stream: stdin: frame 1: truncated raw frame: 7 of 24 bytes (6 float32 values per step)");
        Result fmt = stream(new ByteArrayInputStream(new byte[0]), "--model", model.toString(), "--format", "csv");
        assertThat(fmt.err()).contains("sprnn stream: --format: expected npy or raw, got 'csv'");
        Result empty = stream(new ByteArrayInputStream(new byte[0]), "--model", model.toString());
        assertThat(empty.code()).as("an empty stream is a stream of no frames").isZero();
        assertThat(empty.out()).isEmpty();
        Path bi = dir.resolve("bi.safetensors");
        ModelFiles.save(SyntheticModels.randomBidirectional(CellType.GRU, 3, 4, 1, 1, 1, 1), bi, Precision.FP32);
        Result biRun = stream(new ByteArrayInputStream(new byte[0]), "--model", bi.toString());
        assertThat(biRun.err()).contains("a bidirectional model cannot stream");
    }

    @Test
    void framesCanComeFromANamedFile() throws IOException {
        Path frames = dir.resolve("frames.npys");
        java.nio.file.Files.write(frames, concat(npyFrame(0, 3), npyFrame(3, 4)));
        Result r = stream(new ByteArrayInputStream(new byte[0]), "--model", model.toString(), "--batch", "2", "--input-pipe",
                frames.toString(), "--engine", "cpu-reference");
        assertThat(r.code()).as(r.err()).isZero();
        ByteArrayInputStream out = new ByteArrayInputStream(r.out());
        assertThat(NpyFrames.read(out, "o", 1 << 20).shape()).containsExactly(3, 2, 5);
        assertThat(NpyFrames.read(out, "o", 1 << 20).shape()).containsExactly(4, 2, 5);
        Result missing = stream(new ByteArrayInputStream(new byte[0]), "--model", model.toString(), "--input-pipe", dir.resolve("nope").toString());
        assertThat(missing.err()).contains("sprnn stream: --input-pipe").contains("no such file or pipe");
    }

    @Test
    void aStreamStartsFromGivenStatesAndLeavesItsFinalOnes() {
        Path h0 = dir.resolve("h0.npy"), c0 = dir.resolve("c0.npy"), h1 = dir.resolve("h1.npy"), c1 = dir.resolve("c1.npy");
        Path h2 = dir.resolve("h2.npy"), c2 = dir.resolve("c2.npy");
        Tensor h = FloatTensor.of(SyntheticModels.state(2, 2, 5, 3)).toTensor(), c = FloatTensor.of(SyntheticModels.state(2, 2, 5, 4)).toTensor();
        org.sprnn.io.Npy.write(h0, h);
        org.sprnn.io.Npy.write(c0, c);
        RnnOutput ref = new CpuReferenceEngine(ModelFiles.load(model, null)).run(x, h, c);
        // the sequence in two streams: the second starts from the first's final states
        Result first = stream(new ByteArrayInputStream(npyFrame(0, 3)), "--model", model.toString(), "--batch", "2", "--engine",
                "cpu-reference", "--h0", h0.toString(), "--c0", c0.toString(), "--final-h", h1.toString(), "--final-c", c1.toString());
        assertThat(first.code()).as(first.err()).isZero();
        Result second = stream(new ByteArrayInputStream(npyFrame(3, 4)), "--model", model.toString(), "--batch", "2", "--engine",
                "cpu-reference", "--h0", h1.toString(), "--c0", c1.toString(), "--final-h", h2.toString(), "--final-c", c2.toString());
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(org.sprnn.engine.Accuracy.relativeError(org.sprnn.io.Npy.read(h2), ref.hN())).isLessThan(1e-6);
        assertThat(org.sprnn.engine.Accuracy.relativeError(org.sprnn.io.Npy.read(c2), ref.cN())).isLessThan(1e-6);
        Tensor last = NpyFrames.read(new ByteArrayInputStream(second.out()), "o", 1 << 20);
        assertThat(org.sprnn.engine.Accuracy.relativeError(last, SessionSlices.steps(ref.output(), 3, 4))).isLessThan(1e-6);

        Result wrong = stream(new ByteArrayInputStream(new byte[0]), "--model", model.toString(), "--batch", "3", "--h0", h0.toString());
        assertThat(wrong.code()).isEqualTo(2);
        assertThat(wrong.err()).contains("sprnn stream: " + h0 + ": h0 has shape [2, 2, 5], expected [2, 3, 5] (layers, batch, hidden) (--batch 3)");
        Path h3 = dir.resolve("h3.npy");
        Result bad = stream(new ByteArrayInputStream("garbage!".getBytes()), "--model", model.toString(), "--batch", "2",
                "--final-h", h3.toString());
        assertThat(bad.code()).isEqualTo(2);
        assertThat(h3).as("no final states after a bad stream").doesNotExist();
    }

    /** Steps of a [T][B][W] tensor. */
    static final class SessionSlices {
        static Tensor steps(Tensor x, int t0, int n) {
            int row = x.dim(1) * x.dim(2);
            double[] d = new double[n * row];
            System.arraycopy(x.data(), t0 * row, d, 0, n * row);
            return new Tensor(new int[] {n, x.dim(1), x.dim(2)}, d);
        }
    }
}
