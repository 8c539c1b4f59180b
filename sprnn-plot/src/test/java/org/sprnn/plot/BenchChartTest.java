package org.sprnn.plot;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchChartTest {
    @TempDir
    Path dir;

    @Test
    void readsBenchRowsAndWritesAPng() throws Exception {
        Path csv = dir.resolve("rows.csv");
        Files.writeString(csv, """
                date,engine,precision,hidden,batch,density,recurrent_us_per_step_median,details
                x,cuda-gemm,fp16,1152,4,0.1000,3.86,"a"
                x,cuda-spmm,fp16,1152,4,0.1000,5.07,"b"
                x,cuda-gemm,fp16,2304,4,0.3000,5.31,"c"
                """);
        var bars = BenchChart.read(csv);
        assertThat(bars).extracting(BenchChart.Bar::series).containsExactly("cuda-gemm fp16", "cuda-spmm fp16", "cuda-gemm fp16");
        assertThat(bars).extracting(BenchChart.Bar::config).containsExactly("H 1152, B 4, d 10%", "H 1152, B 4, d 10%", "H 2304, B 4, d 30%");
        Path png = dir.resolve("chart.png");
        BenchChart.main(new String[] {png.toString(), "t", csv.toString(), "--anchor", "1152/4/0.1=2.94"});
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(1100);
        assertThat(img.getHeight()).isEqualTo(560);
    }

    @Test
    void eachModelOfBenchModelIsItsOwnBarAfterQuotedDetails() throws Exception {
        Path csv = dir.resolve("models.csv");
        Files.writeString(csv, """
                date,engine,precision,hidden,batch,density,recurrent_us_per_step_median,details,model,commit
                x,cpu,fp32,64,4,0.1000,27.0,"wall clock, 20 runs",/tmp/a/p_matrix.safetensors,abc
                x,cpu,fp32,64,4,0.1000,29.0,"wall clock, 20 runs",/tmp/a/p_iw.safetensors,abc
                x,cpu,fp32,64,4,0.1000,30.0,"wall clock, 20 runs",,abc
                x,cpu,fp32,64,4,0.1000,31.0,"wall clock, 20 runs",synthetic,abc
                x,cpu,fp32,64,4,0.1000,32.0,"wall clock, 20 runs",/home/someone/experiments/2026-01-run/x/same.safetensors,abc
                x,cpu,fp32,64,4,0.1000,33.0,"wall clock, 20 runs",/home/someone/experiments/2026-01-run/y/same.safetensors,abc
                """);
        assertThat(BenchChart.read(csv)).extracting(BenchChart.Bar::config)
                .containsExactly("/tmp/a/p_matrix.safetensors: H 64, B 4, d 10%", "/tmp/a/p_iw.safetensors: H 64, B 4, d 10%",
                        "H 64, B 4, d 10%", "H 64, B 4, d 10%",
                        "...periments/2026-01-run/x/same.safetensors: H 64, B 4, d 10%",
                        "...periments/2026-01-run/y/same.safetensors: H 64, B 4, d 10%");
    }
}
