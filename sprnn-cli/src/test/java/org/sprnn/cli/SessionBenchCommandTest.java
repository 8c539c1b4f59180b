package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sprnn.Precision;
import org.sprnn.engine.Engine;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.Session;
import org.sprnn.engine.cpu.CpuEngine;
import org.sprnn.engine.cpu.CpuReferenceEngine;
import org.sprnn.io.ModelFiles;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;

/** {@code sprnn bench session} on the engines any machine has: each session verified, its step calls timed beside the whole sequence. */
class SessionBenchCommandTest {

    @Test
    void eachEngineAndBatchIsVerifiedThenTimedCallByCall(@TempDir Path dir) throws Exception {
        CliTest.Result r = cli("bench", "session", "--engines", "cpu,cpu-reference", "--cell", "lstm", "--hidden", "12", "--input", "5",
                "--density", "0.5", "--batch", "1,3", "--calls", "60", "--warmup", "5", "--chunk", "2", "--verify-steps", "7",
                "--seq-steps", "16", "--out-dir", dir.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("[4/4] ").contains("| cpu | 1 | ").contains("| cpu-reference | 3 | ")
                .contains("60 step call(s) of 2 step(s) after 5 warm-up, verified on 7 steps")
                .contains("wall clock around run(), 20 runs");
        List<String> csv = Files.readAllLines(dir.resolve("session.csv"), StandardCharsets.UTF_8);
        assertThat(csv.get(0)).isEqualTo(SessionBenchCommand.HEADER);
        assertThat(csv).hasSize(1 + 4);
        assertThat(Files.readAllLines(dir.resolve("session.jsonl"), StandardCharsets.UTF_8)).hasSize(4);
        for (String row : csv.subList(1, csv.size())) {
            // lstm, 1 layer, H 12, I 5, chunk 2, 60 calls asked and timed, 5 warm-up, 7 verified; the whole sequence of T 16
            // the arithmetic: float32 for cpu, float64 for cpu-reference
            assertThat(row).contains(row.contains(",cpu-reference,") ? ",fp64,lstm,1,12,5," : ",fp32,lstm,1,12,5,")
                    .contains(",0.5000,2,60,60,5,7,1,").contains(",16,20,");
            String[] cells = row.split(",");
            double median = Double.parseDouble(cells[23]), p90 = Double.parseDouble(cells[24]), p99 = Double.parseDouble(cells[25]),
                    max = Double.parseDouble(cells[26]);
            assertThat(median).isPositive().isLessThanOrEqualTo(p90);
            assertThat(p90).isLessThanOrEqualTo(p99);
            assertThat(p99).isLessThanOrEqualTo(max);
        }
        // a second run appends to the same files
        assertThat(cli("bench", "session", "--engines", "cpu-reference", "--hidden", "6", "--batch", "2", "--calls", "20",
                "--warmup", "0", "--seq-steps", "4", "--out-dir", dir.toString()).code()).isZero();
        assertThat(Files.readAllLines(dir.resolve("session.csv"), StandardCharsets.UTF_8)).hasSize(1 + 5);
    }

    @Test
    void float32CallsAreVerifiedAndTimedThroughStepFloat() {
        CliTest.Result r = cli("bench", "session", "--engines", "cpu,cpu-reference", "--cell", "gru", "--hidden", "10", "--input", "6",
                "--density", "0.5", "--batch", "2", "--calls", "40", "--warmup", "3", "--chunk", "3", "--verify-steps", "8",
                "--seq-steps", "12", "--float32");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        // verified against cpu-reference's float64 run: the outputs rounded to float32, within each engine's tolerance
        assertThat(r.out()).contains("| cpu+f32 | 2 | ").contains("| cpu-reference+f32 | 2 | ").doesNotContain("WRONG")
                .containsPattern("timer: System.nanoTime costs \\d+ ns a call");
    }

    @Test
    void stepFloatIsStepRoundedToFloat32OnEverySession() {
        var model = SyntheticModels.random(CellType.LSTM, 4, 7, 2, 0.5, 1.0, 9);
        var x = SyntheticModels.input(5, 3, 4, 11);
        try (var engine = new CpuReferenceEngine(model);
             var a = engine.openSession(3, null, null); var b = engine.openSession(3, null, null)) {
            var xf = org.sprnn.model.FloatTensor.of(x); // the input as float32 holds it
            var want = a.step(xf.toTensor());
            var got = b.stepFloat(xf);
            assertThat(got.shape()).containsExactly(5, 3, 7);
            for (int i = 0; i < want.size(); i++) {
                assertThat(got.data()[i]).isEqualTo((float) want.data()[i]);
            }
            assertThat(b.steps()).isEqualTo(5);
            assertThatThrownBy(() -> b.stepFloat(null)).hasMessageContaining("chunk missing");
        }
    }

    @Test
    void theWallClockBoundStopsASlowEngineAfterTheFewestCalls() {
        CliTest.Result r = cli("bench", "session", "--engines", "cpu-reference", "--hidden", "8", "--batch", "1", "--calls", "1000000",
                "--warmup", "1000000", "--seq-steps", "100000", "--wall-seconds", "0.000001");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("| cpu-reference | 1 | ").contains(SessionBenchCommand.MIN_CALLS + " of 1000000 calls (time budget)")
                .contains("(of 20: time budget)");
    }

    @Test
    void aModelFileIsTimedWithItsOwnShape(@TempDir Path dir) {
        Path model = dir.resolve("gru.safetensors");
        ModelFiles.save(SyntheticModels.random(CellType.GRU, 5, 12, 2, 0.25, 1.0, 3), model, Precision.FP32);
        CliTest.Result r = cli("bench", "session", "--model", model.toString(), "--engines", "auto,cpu-reference", "--batch", "2",
                "--calls", "30", "--warmup", "2", "--seq-steps", "8");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("'gru.safetensors': gru x2, hidden 12, input 5").contains("| auto (cpu) | 2 | ")
                .contains("| cpu-reference | 2 | ");
        assertOneLineError(cli("bench", "session", "--model", model.toString(), "--hidden", "8"), "--hidden", "not with --model");
        Path bi = dir.resolve("bigru.safetensors");
        ModelFiles.save(SyntheticModels.randomBidirectional(CellType.GRU, 3, 4, 1, 1, 1, 1), bi, Precision.FP32);
        assertOneLineError(cli("bench", "session", "--model", bi.toString(), "--engines", "cpu"), "bidirectional model has no sessions");
    }

    @Test
    void aGpuEngineWithoutAGpuIsInfeasibleAndNoEngineAtAllExitsTwo() {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.sprnn.engine.cuda.GpuStatus.deviceLimits().isEmpty(), "a GPU is present");
        CliTest.Result r = cli("bench", "session", "--engines", "cuda-sparse-persistent,cpu", "--hidden", "8", "--batch", "1",
                "--calls", "20", "--warmup", "0", "--seq-steps", "4");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("| cuda-sparse-persistent:host | 1 |  | – |").contains("| cuda-sparse-persistent:device | 1 |  | – |")
                .contains("| cuda-sparse-persistent:lean | 1 |  | – |").contains("| cuda-sparse-persistent:resident | 1 |  | – |")
                .contains("| cpu | 1 | ");
        // a resident session runs one layer: a stated limit, not a failure (the cpu row runs: exit 0)
        CliTest.Result two = cli("bench", "session", "--engines", "cuda-sparse-persistent,cpu", "--hidden", "8", "--layers", "2",
                "--batch", "1", "--calls", "20", "--warmup", "0", "--seq-steps", "4", "--session-kinds", "resident");
        assertThat(two.code()).as(two.err()).isZero();
        assertThat(two.out()).contains("infeasible: a resident session runs one layer").doesNotContain("FAILED");
        assertOneLineError(cli("bench", "session", "--engines", "cuda-gemm", "--hidden", "8", "--batch", "1", "--calls", "20"),
                "no engine of --engines cuda-gemm could run here");
    }

    @Test
    void badOptionsAreRefusedInOneLine() {
        assertOneLineError(cli("bench", "session", "--engines", "cuda-fast"), "cuda-fast");
        assertOneLineError(cli("bench", "session", "--calls", "0"), "--calls");
        assertOneLineError(cli("bench", "session", "--session-kinds", "gpu"), "--session-kinds", "'gpu'");
        assertOneLineError(cli("bench", "session", "--chunk", "0"), "--chunk");
        assertOneLineError(cli("bench", "session", "--batch", "1,0"), "--batch");
        assertOneLineError(cli("bench", "session", "--warmup", "-1"), "--warmup");
        assertOneLineError(cli("bench", "session", "--seq-reps", "2"), "--seq-reps");
        assertOneLineError(cli("bench", "session", "--wall-seconds", "0"), "--wall-seconds");
        assertOneLineError(cli("bench", "session", "--density", "1.5", "--engines", "cpu"), "--density", "1.5");
        assertOneLineError(cli("bench", "session", "--cell", "rnn_sigmoid", "--engines", "cpu"), "rnn_sigmoid");
        assertOneLineError(cli("bench", "session", "--model-cell", "gru", "--engines", "cpu"), "--model-cell", "only with --model");
        assertOneLineError(cli("bench", "session", "--model", "m.npz", "--cell", "gru", "--model-cell", "gru", "--engines", "cpu"),
                "--model-cell", "old name of --cell");
        assertOneLineError(cli("bench", "session", "--module", "rnn", "--engines", "cpu"), "--module", "only with --model");
        assertOneLineError(cli("bench", "--module", "rnn", "--engines", "cpu", "--hidden", "16"), "--module", "only with --model");
        assertOneLineError(cli("plan", "--module", "rnn", "--hidden", "16"), "--module", "only with --model");
        assertOneLineError(cli("bench", "session", "--precision", "fp8"), "--precision");
    }

    @Test
    void theVerificationCatchesASessionThatDropsItsStatesBetweenChunks() {
        RnnModel model = SyntheticModels.random(CellType.LSTM, 4, 10, 2, 0.5, 1.0, 7);
        Tensor x = SyntheticModels.input(6, 3, 4, 8);
        Tensor h0 = SyntheticModels.state(2, 3, 10, 9), c0 = SyntheticModels.state(2, 3, 10, 10);
        RnnOutput ref = new CpuReferenceEngine(model).run(x, h0, c0);
        try (Engine cpu = new CpuEngine(model, 1)) {
            for (int chunk : new int[] {1, 4, 6}) {
                assertThat(SessionBenchCommand.verify(cpu, 3, x, h0, c0, ref, chunk)).as("chunk " + chunk).isLessThanOrEqualTo(cpu.tolerance());
            }
            // each chunk from h0/c0 again, as a session that forgot to keep its states would run it: right for the first chunk only
            for (int chunk : new int[] {1, 4}) {
                try (Session forgetful = new ForgetfulSession(cpu, h0, c0)) {
                    assertThat(SessionBenchCommand.verify(forgetful, x, ref, chunk)).as("chunk " + chunk).isGreaterThan(1e-2);
                }
            }
            // one chunk of the whole sequence: nothing to forget, the same as the reference
            try (Session forgetful = new ForgetfulSession(cpu, h0, c0)) {
                assertThat(SessionBenchCommand.verify(forgetful, x, ref, 6)).isLessThanOrEqualTo(cpu.tolerance());
            }
        }
    }

    /** A session that runs every chunk from the initial states: the bug the verification is there to catch. */
    private static final class ForgetfulSession implements Session {
        private final Engine engine;
        private final Tensor h0, c0;
        private RnnOutput last;
        private long steps;

        ForgetfulSession(Engine engine, Tensor h0, Tensor c0) {
            this.engine = engine;
            this.h0 = h0;
            this.c0 = c0;
        }

        @Override
        public int batch() {
            return h0.dim(1);
        }

        @Override
        public long steps() {
            return steps;
        }

        @Override
        public Tensor step(Tensor chunk) {
            last = engine.run(chunk, h0, c0);
            steps += chunk.dim(0);
            return last.output();
        }

        @Override
        public RnnOutput state() {
            return last;
        }

        @Override
        public void close() {
        }
    }
}
