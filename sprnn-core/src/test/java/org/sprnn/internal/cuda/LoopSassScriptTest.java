package org.sprnn.internal.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * scripts/kernel-harness/cubins/loop-sass.py, the step-loop counter issue 16's analysis rests on
 * (results/suite/session18), still reads the kernel it is pointed at: at relu 5760 / 10% / batch 4 the warp-tail
 * kernel's loop holds more instructions than the equal-rows kernel's, among them the tail's selects (FSEL). Skipped,
 * with the reason, where nvcc, nvdisasm or python3 is absent (no GPU needed).
 */
class LoopSassScriptTest {

    private static final String SHAPE = "-DSPRNN_CELL=0 -DSPRNN_HIDDEN=5760 -DSPRNN_BATCH=4 -DSPRNN_PADDED_BATCH=4 -DSPRNN_CTAS=120 "
            + "-DSPRNN_WARPS=16 -DSPRNN_REG_SLOTS=44 -DSPRNN_UNITS_PER_WARP=3 -DSPRNN_WIDE_LOADS=1 -DSPRNN_EXCHANGE=0 -DSPRNN_BF16=0 "
            + "-DSPRNN_STAGE_ASYNC=2 -DSPRNN_STAGE_CLUSTER=8 -DSPRNN_UNIFORM_SLOTS=1";

    @Test
    void theTailKernelsLoopIsLongerThanTheEqualRowsOneAndHoldsTheTailsSelects() throws Exception {
        Path nvcc = KernelSourcesCompileTest.nvcc();
        assumeTrue(nvcc != null, "nvcc not found (CUDA_HOME, PATH, /usr/local/cuda)");
        Path nvdisasm = KernelSourcesCompileTest.cudaTool("nvdisasm"); // CUDA 11.8 or later decodes sm_90
        assumeTrue(nvdisasm != null, "nvdisasm not found (CUDA_HOME, PATH, /usr/local/cuda)");
        Path repo = Path.of("").toAbsolutePath().getParent();
        Path script = repo.resolve("scripts/kernel-harness/cubins/loop-sass.py");
        assumeTrue(Files.isRegularFile(script), "no " + script);
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString(),
                "rows:" + SHAPE + " -DSPRNN_SLOTS=54 -DSPRNN_ROW_SLOTS=18",
                "tail:" + SHAPE + " -DSPRNN_SLOTS=55 -DSPRNN_ROW_SLOTS=17 -DSPRNN_TAIL_SLOTS=4").redirectErrorStream(true);
        String sep = java.io.File.pathSeparator;
        pb.environment().put("PATH", nvcc.getParent() + sep + nvdisasm.getParent() + sep + pb.environment().getOrDefault("PATH", ""));
        Process p;
        try {
            p = pb.start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no python3 here: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("loop-sass.py finished").isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        int rows = loopCount(out, "rows");
        int tail = loopCount(out, "tail");
        assertThat(rows).as(out).isGreaterThan(500); // 54 slots of at least LDS.64 + 4 conversions + 4 FMAs
        assertThat(tail).as(out).isGreaterThan(rows);
        Matcher fsel = Pattern.compile("(?m)^\\s+FSEL\\s+(\\d+)\\s+(\\d+)\\s+\\+(\\d+)$").matcher(out);
        assertThat(fsel.find()).as("an FSEL line in the difference:%n%s", out).isTrue();
        assertThat(Integer.parseInt(fsel.group(3))).as(out).isGreaterThanOrEqualTo(8); // a select a batch column, per row start
    }

    private static int loopCount(String out, String label) {
        Matcher m = Pattern.compile("(?m)^" + label + ": (\\d+) instructions in the step loop").matcher(out);
        assertThat(m.find()).as("%s's line in:%n%s", label, out).isTrue();
        return Integer.parseInt(m.group(1));
    }
}
