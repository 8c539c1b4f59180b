package org.sprnn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.sprnn.cli.CliTest.assertOneLineError;
import static org.sprnn.cli.CliTest.cli;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sprnn plot}: bench and grid rows to PNG and SVG in the CLI's own JVM; bad files refused in one line. */
class PlotCommandTest {
    @TempDir
    Path dir;

    private Path bench() throws Exception {
        Path csv = dir.resolve("bench.csv");
        Files.writeString(csv, """
                date,engine,precision,cell,layers,hidden,batch,density,steps,recurrent_us_per_step_median,details
                x,cuda-gemm,fp16,rnn_relu,1,1152,4,0.1000,256,3.86,"a, b"
                x,cuda-spmm,fp16,rnn_relu,1,1152,4,0.1000,256,5.07,"b"
                x,cuda-gemm,fp16,lstm,2,2304,4,0.3000,64,5.31,"c"
                """, StandardCharsets.UTF_8);
        return csv;
    }

    @Test
    void benchRowsBecomeAPngAndAnSvg() throws Exception {
        Path png = dir.resolve("c.png"), svg = dir.resolve("c.svg");
        CliTest.Result r = cli("plot", "--out", png.toString(), bench().toString(), "--anchor", "1152/4/0.1=2.94");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("4 rows from 1 file(s)");
        // the anchor (one rnn_relu layer at T 256, as results/anchors) lands in the group of the rows of that shape
        var rows = org.sprnn.plot.BenchChart.read(bench());
        assertThat(org.sprnn.plot.BenchChart.anchor("1152/4/0.1=2.94").config()).isEqualTo(rows.get(0).config());
        assertThat(rows.get(2).config()).isEqualTo("lstm x2 H 2304, B 4, d 30%, T 64");
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(1100);
        r = cli("plot", "--out", svg.toString(), "--title", "t & <u>", bench().toString());
        assertThat(r.code()).as(r.err()).isZero();
        String text = Files.readString(svg, StandardCharsets.UTF_8);
        assertThat(text).contains("<svg xmlns=").contains("rnn_relu H 1152, B 4, d 10%").contains("t &amp; &lt;u&gt;");
        try (var listing = Files.list(dir)) {
            assertThat(listing.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".part"));
        }
    }

    @Test
    void gridRowsWithoutAFigureAreLeftOut() throws Exception {
        Path csv = dir.resolve("grid.csv");
        Files.writeString(csv, """
                date,device,driver,cell,hidden,input,batch,density,steps,reps,precision,seed,engine,us_per_step_median,p10,p90,rel_error,auto,fastest,auto_over_fastest,note
                x,H100,13.0,lstm,1152,128,4,0.1,64,20,fp16,1,cuda-sparse-persistent,2.72,2.7,2.8,3e-4,cuda-sparse-persistent,cuda-sparse-persistent,1.0,ok
                x,H100,13.0,lstm,2304,128,4,1.0,64,20,fp16,1,cuda-dense-persistent,,,,,cuda-gemm,cuda-cudnn,1.17,"infeasible: capacity, 2112"
                """, StandardCharsets.UTF_8);
        CliTest.Result r = cli("plot", "--out", dir.resolve("g.png").toString(), csv.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("1 rows from 1 file(s)");
    }

    @Test
    void badInputIsOneLineAndWritesNothing() throws Exception {
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, "engine,precision,hidden,batch,density,recurrent_us_per_step_median\ncuda-gemm,fp16,1152,4,0.1,fast\u0007\n");
        Path png = dir.resolve("never.png");
        assertOneLineError(cli("plot", "--out", png.toString(), bad.toString()), "bad.csv line 2", "fast?");
        Files.writeString(bad, "engine,hidden\ncuda-gemm,1152\n");
        assertOneLineError(cli("plot", "--out", png.toString(), bad.toString()), "no column", "sprnn plot reads the rows");
        Files.writeString(bad, "");
        assertOneLineError(cli("plot", "--out", png.toString(), bad.toString()), "empty");
        assertOneLineError(cli("plot", "--out", png.toString(), dir.resolve("missing.csv").toString()), "missing.csv");
        assertOneLineError(cli("plot", "--out", dir.resolve("c.gif").toString(), bench().toString()), ".png or .svg");
        assertOneLineError(cli("plot", "--out", png.toString(), bench().toString(), "--anchor", "1152=2"), "--anchor");
        // a log axis needs lines, and a filter that keeps nothing says so
        assertOneLineError(cli("plot", "--out", png.toString(), bench().toString(), "--log-y"), "only with --x");
        assertOneLineError(cli("plot", "--out", png.toString(), bench().toString(), "--where", "hidden=77"), "no rows match --where");
        assertThat(png).doesNotExist();
    }
}
