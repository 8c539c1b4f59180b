package org.sprnn.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The figures' chart kinds: lines with capacity marks, speed-ups, per-sequence values, the ablation's bars. */
class FigureChartTest {
    @TempDir
    Path dir;

    /** Sweep-like rows (made-up figures, for the arithmetic): "big" is refused beyond hidden 512, as a capacity limit. */
    private Rows sweep() throws Exception {
        Path csv = dir.resolve("sweep.csv");
        Files.writeString(csv, """
                engine,precision,cell,layers,hidden,batch,density,steps,recurrent_us_per_step_median,case,note
                dense,fp16,lstm,2,256,4,0.1000,50,4.0,,"timed, 20 runs"
                big,fp16,lstm,2,256,4,0.1000,50,2.0,,ok
                dense,fp16,lstm,2,512,4,0.1000,50,6.0,,ok
                big,fp16,lstm,2,512,4,0.1000,50,2.0,,ok
                big,fp16,lstm,2,512,4,0.1000,50,3.0,,"a second run"
                dense,fp16,lstm,2,1024,4,0.1000,50,9.0,,ok
                big,fp16,lstm,2,1024,4,0.1000,50,,,"infeasible: capacity, 1000 words"
                dense,fp16,lstm,2,256,4,0.3000,50,4.0,,ok
                """, StandardCharsets.UTF_8);
        return Rows.read(csv);
    }

    @Test
    void quotedFieldsKeepTheirCommas() throws Exception {
        Rows r = sweep();
        assertThat(r.fields()).hasSize(8);
        assertThat(r.fields().get(0)[r.column("note")]).isEqualTo("timed, 20 runs");
        assertThat(Rows.split("a,\"b \"\"c\"\", d\",", "x")).containsExactly("a", "b \"c\", d", "");
        assertThatThrownBy(() -> Rows.split("a,\"b", "f line 3")).hasMessageContaining("f line 3");
    }

    @Test
    void valuesPerSequenceAndSpeedupsOverTheFastestBaseline() throws Exception {
        var pts = FigureChart.points(sweep(), Map.of("density", List.of("0.1")));
        assertThat(pts).hasSize(7);
        double[] seq = FigureChart.values(pts, FigureChart.Metric.US_PER_LAYER_SEQUENCE, List.of());
        assertThat(seq[0]).isEqualTo(4.0 * 50 / 2); // µs/step x T / layers
        double[] up = FigureChart.values(pts, FigureChart.Metric.SPEEDUP, List.of("dense"));
        assertThat(up[1]).isEqualTo(2.0); // big at 256: dense 4.0 / 2.0
        assertThat(up[3]).isEqualTo(3.0); // big at 512: 6.0 / 2.0
        assertThat(up[6]).isNaN();        // refused: no figure
        assertThatThrownBy(() -> FigureChart.values(pts, FigureChart.Metric.SPEEDUP, List.of("cuda-gemm")))
                .hasMessageContaining("no timed row of the baseline engines");
        assertThat(FigureChart.label("density", "0.0500")).isEqualTo("d 5%");
    }

    @Test
    void linesMarkTheLastSizeAnEngineWasTimedAtBeforeItsRefusal() throws Exception {
        Path svg = dir.resolve("h.svg");
        int n = FigureChart.lines(List.of(sweep()), "hidden", FigureChart.Metric.US_PER_STEP, List.of(),
                Map.of("density", List.of("0.1")), false, true, "t", svg);
        assertThat(n).isEqualTo(6); // the refused row is not drawn
        String text = Files.readString(svg, StandardCharsets.UTF_8);
        assertThat(text).contains("big fp16: last timed H 512").doesNotContain("dense fp16: last timed");
        // density did not vary after the filter, so the series are the engines alone
        assertThat(text).contains(">big fp16<").contains(">dense fp16<");
        Path png = dir.resolve("d.png");
        assertThat(FigureChart.lines(List.of(sweep()), "density", FigureChart.Metric.US_PER_STEP, List.of(), Map.of(), true, false, "t", png))
                .isEqualTo(7);
        assertThat(javax.imageio.ImageIO.read(png.toFile()).getWidth()).isEqualTo(1100);
        assertThatThrownBy(() -> FigureChart.lines(List.of(sweep()), "hidden", FigureChart.Metric.US_PER_STEP, List.of(),
                Map.of("hidden", List.of("4096")), false, false, "t", png)).hasMessageContaining("no rows match --where");
        assertThatThrownBy(() -> FigureChart.lines(List.of(sweep()), "colour", FigureChart.Metric.US_PER_STEP, List.of(),
                Map.of(), false, false, "t", png)).hasMessageContaining("--x");
        assertThatThrownBy(() -> FigureChart.Metric.parse("fast")).hasMessageContaining("us-per-layer-sequence");
    }

    @Test
    void anEngineHasOneColourInEveryChart() {
        var a = new org.jfree.chart.renderer.xy.XYLineAndShapeRenderer();
        var b = new org.jfree.chart.renderer.xy.XYLineAndShapeRenderer();
        BenchChart.paintByEngine(a, List.of("cuda-sparse-persistent fp16", "cuda-gemm fp16", "mine"));
        BenchChart.paintByEngine(b, List.of("cuda-gemm fp16, B 4", "cuda-gemm fp16, B 16", "cuda-sparse-persistent fp16"));
        assertThat(b.getSeriesPaint(2)).isEqualTo(a.getSeriesPaint(0));
        assertThat(b.getSeriesPaint(0)).isEqualTo(a.getSeriesPaint(1));
        assertThat(b.getSeriesPaint(1)).isNotEqualTo(b.getSeriesPaint(0)); // a second series of one engine: another shade
        assertThat(a.getSeriesPaint(2)).isNotNull().isNotIn(a.getSeriesPaint(0), a.getSeriesPaint(1));
    }

    @Test
    void aColumnThatFollowsTheXValueDoesNotSplitTheSeries() throws Exception {
        Path csv = dir.resolve("hidden.csv");
        Files.writeString(csv, """
                engine,precision,cell,layers,hidden,input,batch,density,steps,recurrent_us_per_step_median
                dense,fp16,rnn_relu,1,256,256,4,0.1,256,1.0
                dense,fp16,rnn_relu,1,512,512,4,0.1,256,2.0
                dense,fp16,rnn_relu,1,512,512,16,0.1,256,3.0
                """, StandardCharsets.UTF_8);
        var pts = FigureChart.points(Rows.read(csv), Map.of());
        // the input size is the hidden size at every point: a sweep over hidden keeps one line per engine and batch
        assertThat(FigureChart.varying(pts, "hidden")).containsExactly("batch");
        // over batch, the hidden (and input) size takes two values at batch 4: both tell the lines apart
        assertThat(FigureChart.varying(pts, "batch")).containsExactly("hidden", "input");
        // a column whose values never meet at one x still tells lines apart unless it is x under another name
        Path apart = dir.resolve("apart.csv");
        Files.writeString(apart, """
                engine,precision,cell,layers,hidden,input,batch,density,steps,recurrent_us_per_step_median
                dense,fp16,rnn_relu,1,256,256,1,0.1,256,1.0
                dense,fp16,rnn_relu,1,512,512,1,0.1,256,2.0
                dense,fp16,rnn_relu,1,1024,1024,4,0.1,256,3.0
                dense,fp16,rnn_relu,1,2048,2048,4,0.1,256,4.0
                """, StandardCharsets.UTF_8);
        assertThat(FigureChart.varying(FigureChart.points(Rows.read(apart), Map.of()), "hidden")).containsExactly("batch");
    }

    @Test
    void barsOfOneCaseAtSeveralShapesStayApart() throws Exception {
        Path csv = dir.resolve("cases.csv");
        Files.writeString(csv, """
                engine,precision,cell,layers,hidden,batch,density,steps,recurrent_us_per_step_median,case
                dense,fp16,gru,1,64,1,0.1,10,10.0,mycase
                dense,fp16,gru,1,64,4,0.1,10,30.0,mycase
                dense,fp16,gru,1,64,1,0.1,10,5.0,other
                """, StandardCharsets.UTF_8);
        Path svg = dir.resolve("cases.svg");
        assertThat(FigureChart.bars(List.of(Rows.read(csv)), FigureChart.Metric.US_PER_STEP, List.of(), Map.of(), "t", svg)).isEqualTo(3);
        String text = Files.readString(svg, StandardCharsets.UTF_8);
        assertThat(text).contains(">10.0<").contains(">30.0<").doesNotContain(">20.0<"); // two bars, not their median
        assertThatThrownBy(() -> FigureChart.lines(List.of(Rows.read(csv)), "batch", FigureChart.Metric.SPEEDUP, List.of("nope"),
                Map.of("hidden", List.of("99")), false, false, "t", svg)).hasMessageContaining("no rows match --where");
    }

    @Test
    void theAblationsVariantsFloorsAndBaselinesAreBars() throws Exception {
        Path csv = dir.resolve("ablation.csv");
        // the header bench ablation writes; made-up figures
        Files.writeString(csv, """
                time,device,driver,cell,hidden,batch,density,steps,reps,variant,kernel,rel_error,us_per_step
                t,"GPU","1",rnn_relu,1152,4,0.1,256,20,"naive (scalar loads, natural order, grid barrier, naive split)",k,1e-4,5.0
                t,"GPU","1",rnn_relu,1152,4,0.1,256,20,"floor: timestamped exchange only",k_exchangeonly,,1.0
                t,"GPU","1",rnn_relu,1152,4,0.1,256,20,"cuda-gemm fp16 (graph, recurrent part)",-,2e-4,4.0
                """, StandardCharsets.UTF_8);
        Path svg = dir.resolve("a.svg");
        assertThat(FigureChart.ablation(List.of(Rows.read(csv)), "t", svg)).isEqualTo(3);
        assertThat(Files.readString(svg, StandardCharsets.UTF_8)).contains("floor: timestamped exchange only")
                .contains("exchange floor (the kernel without arithmetic)").contains("library baseline");
    }
}
