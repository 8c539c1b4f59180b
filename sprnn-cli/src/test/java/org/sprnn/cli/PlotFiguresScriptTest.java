package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/plot-figures.sh end to end, before any GPU run: rows laid out as scripts/gpu-figures.sh lays them out (one
 * folder per figure), made by {@code bench sweep} with the CPU engines at tiny shapes, and a hand-written ablation.csv
 * (that command needs a GPU), drawn through the script with this build's CLI; every figure's charts must come out.
 */
class PlotFiguresScriptTest {

    private static void sweep(Path dir, String... args) {
        List<String> a = new java.util.ArrayList<>(List.of("bench", "sweep", "--engines", "cpu,cpu-reference", "--reps", "20",
                "--warmup", "0", "--input-sets", "1", "--verify-steps", "2", "--out-dir", dir.toString()));
        a.addAll(List.of(args));
        CliTest.Result r = cli(a.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void everyFigureIsDrawnFromRowsLaidOutAsTheGpuScriptWritesThem(@TempDir Path dir) throws Exception {
        Path r = dir.resolve("r");
        sweep(r.resolve("fig1a"), "--hidden", "16,32", "--density", "0.25,1", "--batch", "2", "--steps", "3");
        sweep(r.resolve("fig2"), "--hidden", "16,32", "--density", "0.25,0.5", "--batch", "2", "--steps", "3");
        sweep(r.resolve("fig2big"), "--hidden", "48", "--density", "0.25", "--batch", "2", "--steps", "3");
        sweep(r.resolve("fig3"), "--hidden", "16", "--density", "0.25", "--batch", "1,2", "--steps", "3");
        sweep(r.resolve("fig4"), "--hidden", "16", "--density", "0.25", "--batch", "2", "--steps", "2,4");
        sweep(r.resolve("fig6a"), "--case", "nmt-dec=lstm/16/2/2/3/32", "--case", "ds2=gru/16/1/1/3", "--density", "0.25");
        sweep(r.resolve("fig6b"), "--case", "db-lstm=lstm/16/1/1/3", "--case", "db-gru=gru/16/1/2/3", "--density", "0.25");
        Files.createDirectories(r.resolve("fig5"));
        // bench ablation's header; made-up figures (the command needs a GPU)
        Files.writeString(r.resolve("fig5/ablation.csv"), """
                time,device,driver,cell,hidden,batch,density,steps,reps,variant,kernel,rel_error,us_per_step
                t,"GPU","1",rnn_relu,1152,4,0.1,256,20,"naive (scalar loads, natural order, grid barrier, naive split)",k,1e-4,5.0
                t,"GPU","1",rnn_relu,1152,4,0.1,256,20,"floor: timestamped exchange only",k_exchangeonly,,1.0
                """, StandardCharsets.UTF_8);

        Path repo = Path.of("").toAbsolutePath().getParent();
        Path out = dir.resolve("figures");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder("bash", repo.resolve("scripts/plot-figures.sh").toString(), r.toString(), out.toString())
                .redirectErrorStream(true);
        pb.environment().put("SPRNN", java + " --add-modules jdk.incubator.vector -Djava.awt.headless=true -cp "
                + System.getProperty("java.class.path") + " org.sprnn.cli.Main");
        pb.environment().put("SPRNN_PLOT_FORMATS", "png");
        pb.environment().put("SPRNN_PLOT_BASELINE", "cpu-reference"); // the CPU rows' stand-in for the dense GPU engines
        pb.environment().put("SPRNN_PLOT_OTHERS", "cpu-reference");   // and for every other GPU engine (figure 6)
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(log).isZero();
        List<String> expected = List.of("1-density-h16", "1-density-h32", "2-hidden-d25", "2-hidden-d50", "3-batch-d25",
                "4-steps-per-step", "4-steps-per-sequence", "5-ablation", "6-cases-d25", "6-cases-speedup-d25",
                "6-deepbench-gru", "6-deepbench-gru-speedup", "6-deepbench-lstm", "6-deepbench-lstm-speedup");
        for (String name : expected) {
            Path png = out.resolve(name + ".png");
            assertThat(png).as(log).exists();
            assertThat(ImageIO.read(png.toFile())).as(name).isNotNull();
        }
        try (var listing = Files.list(out)) {
            assertThat(listing.count()).as(log).isEqualTo(expected.size());
        }
        assertThat(log).contains("plot-figures.sh: " + expected.size() + " chart(s)");
    }
}
