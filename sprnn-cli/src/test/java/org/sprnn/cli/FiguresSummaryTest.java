package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * results/figures/SUMMARY.md is what scripts/figures_summary.py makes of the committed rows (results/figures/data): the
 * tables the READMEs quote stay reproducible from the data, byte for byte (python3, standard library only).
 */
class FiguresSummaryTest {

    @Test
    void theCommittedSummaryIsTheScriptsOutputOnTheCommittedRows() throws Exception {
        Path repo = Path.of("").toAbsolutePath().getParent();
        Path data = repo.resolve("results/figures/data");
        Assumptions.assumeTrue(Files.isDirectory(data), "no results/figures/data in this checkout");
        Process p;
        try {
            p = new ProcessBuilder("python3", repo.resolve("scripts/figures_summary.py").toString(), data.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("no python3 here: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(out).isEqualTo(Files.readString(repo.resolve("results/figures/SUMMARY.md"), StandardCharsets.UTF_8));
        assertThat(out).contains("largest layer on-chip here hidden 8192", "Figure 6b");
    }
}
