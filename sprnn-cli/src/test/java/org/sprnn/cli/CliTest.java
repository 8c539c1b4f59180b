package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The CLI's contract: help with examples, one-line errors with exit code 2, a demo that checks itself. */
class CliTest {

    /** Exit code, stdout and stderr of one CLI invocation. */
    record Result(int code, String out, String err) {
    }

    static Result cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    /**
     * The refusal every usage error gets: exit code 2 and one line on stderr, no stack trace, holding each of
     * {@code fragments}.
     */
    static void assertOneLineError(Result r, String... fragments) {
        assertThat(r.code()).as(r.err()).isEqualTo(2);
        assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
        assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ").contains(fragments);
    }

    @ParameterizedTest
    @ValueSource(strings = {"demo", "info", "run", "stream", "inspect", "prune", "plan", "explain", "selftest", "bench", "kernel-check", "plot"})
    void everyCommandHasHelpEndingInExamples(String command) {
        java.io.PrintStream saved = System.err;
        java.io.ByteArrayOutputStream picocliWarnings = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(picocliWarnings, true, java.nio.charset.StandardCharsets.UTF_8));
        Result r;
        try {
            r = cli(command, "--help");
        } finally {
            System.setErr(saved);
        }
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("Examples:").contains("sprnn " + command);
        assertThat(picocliWarnings.toString(java.nio.charset.StandardCharsets.UTF_8)).as("help text formats cleanly").doesNotContain("WARN");
    }

    /** Under the C locale Java's stdout is ASCII: the text output then goes out as UTF-8, not "?s" for "µs". */
    @Test
    void textOutputFallsBackToUtf8WhereTheConsoleCharsetCannotWriteItsSymbols() {
        var utf8 = java.nio.charset.StandardCharsets.UTF_8;
        assertThat(Main.textCharset(java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo(utf8);
        assertThat(Main.textCharset(java.nio.charset.StandardCharsets.ISO_8859_1)).as("no ≤ in Latin-1").isEqualTo(utf8);
        assertThat(Main.textCharset(utf8)).isEqualTo(utf8);
        assertThat(Main.textCharset(java.nio.charset.StandardCharsets.UTF_16LE)).isEqualTo(java.nio.charset.StandardCharsets.UTF_16LE);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        PrintWriter w = Main.textWriter(new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.US_ASCII));
        w.println("1.32 µs");
        assertThat(bytes.toString(utf8)).isEqualTo("1.32 µs" + System.lineSeparator());
    }

    @Test
    void versionNamesTheProject() {
        Result r = cli("--version");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("sprnn ");
    }

    @Test
    void unknownOptionIsOneLineAndExitTwo() {
        assertOneLineError(cli("demo", "--hiden", "5"), "--hiden");
    }

    @Test
    void badOptionValueNamesTheOption() {
        assertOneLineError(cli("demo", "--density", "1.5"), "--density", "1.5");
    }

    @Test
    void unknownEngineListsTheKnownOnes() {
        Result r = cli("demo", "--engine", "warp-drive", "--hidden", "8", "--steps", "2");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("warp-drive").contains("cpu-reference");
    }

    @Test
    void unknownCellNamesTheValue() {
        Result r = cli("demo", "--cell", "transformer", "--hidden", "8");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown cell 'transformer'");
    }

    @Test
    void demoRunsChecksAndExplainsItsChoice() {
        Result r = cli("demo", "--cell", "lstm", "--hidden", "48", "--input-size", "16", "--steps", "6", "--batch", "3");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("engine ").contains("µs per step").contains("PASS");
    }

    /** The demo's model and input as files: what a user without PyTorch tries the other commands on. */
    @Test
    void demoSavesItsModelAndInputForTheOtherCommands(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path m = dir.resolve("m.safetensors"), x = dir.resolve("x.npy"), y = dir.resolve("y.npy");
        Result r = cli("demo", "--cell", "gru", "--hidden", "24", "--input-size", "8", "--steps", "5", "--batch", "2", "--engine", "cpu",
                "--save-model", m.toString(), "--save-input", x.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("wrote    " + m, "wrote    " + x, "[5][2][8] float32");
        Result run = cli("run", "--model", m.toString(), "--input", x.toString(), "--output", y.toString(), "--engine", "cpu-reference");
        assertThat(run.code()).as(run.err()).isZero();
        org.sprnn.model.Tensor out = org.sprnn.io.Npy.read(y);
        assertThat(out.shape()).containsExactly(5, 2, 24);
        org.sprnn.model.RnnModel back = org.sprnn.io.ModelFiles.load(m, null);
        assertThat(back.cell()).isEqualTo(org.sprnn.model.CellType.GRU);
        org.sprnn.model.RnnModel demo = org.sprnn.model.SyntheticModels.random(org.sprnn.model.CellType.GRU, 8, 24, 1, 0.3, 1.0, 2018);
        assertThat(back.layers().get(0).wHh().countNonZero()).as("the demo's pruned W_hh").isEqualTo(demo.layers().get(0).wHh().countNonZero());
        Result bad = cli("demo", "--hidden", "8", "--steps", "2", "--engine", "cpu", "--save-model", dir.resolve("m.pt").toString());
        assertOneLineError(bad, "m.pt", ".safetensors or .npz");
        assertThat(dir.resolve("m.pt")).doesNotExist();
    }

    @Test
    void infoListsEveryEngine() {
        Result r = cli("info");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("cpu-reference").contains("JDK").contains("cuda-cudnn").contains("cuDNN");
    }

    @Test
    void infoSaysWhatTheJvmGrants() {
        // the tests' JVM has both flags (sprnn.jvm.flags in the parent pom), as the launchers give the CLI
        Result r = cli("info");
        assertThat(r.out()).as(r.out()).contains("JVM      Vector API: present (jdk.incubator.vector)")
                .contains("JVM      native access: enabled");
    }

    @Test
    void aBadCudnnAlgorithmIsRefusedNamingTheOption() {
        Result r = cli("bench", "--engines", "cpu", "--hidden", "8", "--steps", "2", "--cudnn-algos", "fastest");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--cudnn-algo").contains("persist-static");
    }

    @Test
    void planShowsPartitionRegistersSharedMemoryAndVerdict() {
        Result r = cli("plan", "--hidden", "1152", "--density", "0.1", "--batch", "4");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("partition").contains("registers").contains("shared").contains("fits       yes");
    }

    @Test
    void planIsTheEnginesPlanUnderItsSwitches() {
        // sprnn plan takes the sparse engine's own options (SparsePersistentFactory.planOptions), so a switch of the
        // engine (here SPRNN_WARPS, as -Dsprnn.warpsPerCta) is in the plan it prints, as in the plan the engine runs
        String saved = System.getProperty(org.sprnn.engine.cuda.SparsePersistentFactory.WARPS_PROPERTY);
        String savedPlacement = System.getProperty(org.sprnn.engine.cuda.SparsePersistentFactory.PLACEMENT_PROPERTY);
        try {
            System.setProperty(org.sprnn.engine.cuda.SparsePersistentFactory.WARPS_PROPERTY, "16");
            // dealt placement fills each CTA's 16 warps (72 CTAs); cta placement spreads the rows as 12-warp CTAs would
            System.setProperty(org.sprnn.engine.cuda.SparsePersistentFactory.PLACEMENT_PROPERTY, "dealt");
            Result r = cli("plan", "--hidden", "1152", "--density", "0.1", "--batch", "4");
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("c132w16").contains("72 of 132 CTAs hold rows");
            Result naive = cli("plan", "--hidden", "1152", "--density", "0.1", "--batch", "4", "--naive");
            assertThat(naive.out()).contains("w16").contains("_scalar_natural_");
        } finally {
            if (saved == null) {
                System.clearProperty(org.sprnn.engine.cuda.SparsePersistentFactory.WARPS_PROPERTY);
            } else {
                System.setProperty(org.sprnn.engine.cuda.SparsePersistentFactory.WARPS_PROPERTY, saved);
            }
            if (savedPlacement == null) {
                System.clearProperty(org.sprnn.engine.cuda.SparsePersistentFactory.PLACEMENT_PROPERTY);
            } else {
                System.setProperty(org.sprnn.engine.cuda.SparsePersistentFactory.PLACEMENT_PROPERTY, savedPlacement);
            }
        }
        assertThat(cli("plan", "--hidden", "1152", "--density", "0.1", "--batch", "4").out()).contains("c132w12");
    }

    @Test
    void planRefusesALayerTooLargeWithTheNumbers() {
        Result r = cli("plan", "--hidden", "3700", "--density", "0.02", "--batch", "16");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("fits       NO").contains("shared memory");
    }

    @Test
    void planWithSplitWeightsCountsTwoWordsPerNonzero() {
        Result one = cli("plan", "--hidden", "300", "--density", "0.1", "--batch", "3");
        Result two = cli("plan", "--hidden", "300", "--density", "0.1", "--batch", "3", "--split-weights");
        assertThat(two.code()).as(two.err()).isZero();
        assertThat(two.out()).contains("split weights (2 words per nonzero)").contains("_split").contains("fits       yes");
        assertThat(one.out()).doesNotContain("split weights");
    }

    @Test
    void planTakesFp16OrBf16InAnyCase() {
        Result bf16 = cli("plan", "--hidden", "300", "--density", "0.1", "--batch", "3", "--precision", "BF16");
        assertThat(bf16.code()).as(bf16.err()).isZero();
        assertThat(bf16.out()).contains("_bf16");
        Result fp32 = cli("plan", "--hidden", "300", "--precision", "fp32");
        assertThat(fp32.code()).isEqualTo(2);
        assertThat(fp32.err().strip()).isEqualTo("sprnn plan: --precision: expected fp16 or bf16, got 'fp32'");
    }

    @Test
    void gpuPrecisionListsAreCheckedBeforeAnyWork() {
        Result selftest = cli("selftest", "--precisions", "fp32,fp8");
        assertThat(selftest.code()).isEqualTo(2);
        assertThat(selftest.err().strip()).isEqualTo("sprnn selftest: --precisions: expected fp16, bf16 or fp32, got 'fp8'");
        Result bench = cli("bench", "--precisions", "fp16,fp64");
        assertThat(bench.code()).isEqualTo(2);
        assertThat(bench.err().strip()).isEqualTo("sprnn bench: --precisions: expected fp16, bf16 or fp32, got 'fp64'");
    }

    @Test
    void planNeedsAModelOrASize() {
        Result r = cli("plan", "--batch", "4");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--model").contains("--hidden");
    }
}
