package org.sprnn.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Turns benchmark rows (the CSV that {@code sprnn bench} writes) into one PNG bar chart: µs per step of
 * each engine, grouped by layer configuration, beside the best baseline measured in results/anchors/README.md.
 *
 * <pre>
 * java -jar sprnn-plot/target/sprnn-plot.jar OUT.png "title" ROWS.csv [ROWS.csv ...] [--anchor "1152/4/0.1=2.94" ...]
 * </pre>
 *
 * Rows need the columns {@code engine, precision, hidden, batch, density} and
 * {@code recurrent_us_per_step_median}; a row's series is {@code engine precision}.
 */
public final class BenchChart {
    private BenchChart() {
    }

    /** One measured bar. */
    record Bar(String series, String config, double micros) {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: BenchChart OUT.png TITLE ROWS.csv [ROWS.csv ...] [--anchor H/B/D=US ...]");
            System.exit(2);
        }
        Path out = Path.of(args[0]);
        String title = args[1];
        List<Bar> bars = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            if (args[i].equals("--anchor")) {
                String[] kv = args[++i].split("=");
                String[] c = kv[0].split("/");
                bars.add(new Bar("best baseline (results/anchors)", config(c[0], c[1], c[2]), Double.parseDouble(kv[1])));
            } else {
                bars.addAll(read(Path.of(args[i])));
            }
        }
        write(bars, title, out);
    }

    static String config(String hidden, String batch, String density) {
        return String.format(Locale.ROOT, "H %s, B %s, d %.0f%%", hidden, batch, 100 * Double.parseDouble(density));
    }

    /** Reads the bars of one CSV (no quoted commas before the last used column). */
    static List<Bar> read(Path csv) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        List<String> head = List.of(lines.get(0).split(","));
        int engine = col(head, "engine", csv), precision = col(head, "precision", csv), hidden = col(head, "hidden", csv),
                batch = col(head, "batch", csv), density = col(head, "density", csv),
                value = col(head, "recurrent_us_per_step_median", csv);
        List<Bar> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",", -1);
            out.add(new Bar(f[engine] + " " + f[precision], config(f[hidden], f[batch], f[density]), Double.parseDouble(f[value])));
        }
        return out;
    }

    private static int col(List<String> head, String name, Path csv) {
        int i = head.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException(csv + ": no column '" + name + "'");
        }
        return i;
    }

    /** Renders the bars (the median where one series has several rows for a config) to a PNG. */
    static void write(List<Bar> bars, String title, Path out) throws IOException {
        Map<String, Map<String, List<Double>>> grouped = new LinkedHashMap<>();
        for (Bar b : bars) {
            grouped.computeIfAbsent(b.series(), k -> new LinkedHashMap<>()).computeIfAbsent(b.config(), k -> new ArrayList<>())
                    .add(b.micros());
        }
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        grouped.forEach((series, byConfig) -> byConfig.forEach((config, values) -> {
            List<Double> v = new ArrayList<>(values);
            v.sort(null);
            data.addValue(v.get(v.size() / 2), series, config);
        }));
        JFreeChart chart = ChartFactory.createBarChart(title, "layer (vanilla ReLU RNN, T 256)", "µs per timestep (lower is better)",
                data, PlotOrientation.VERTICAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlineStroke(new BasicStroke(0.5f));
        BarRenderer r = (BarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setItemMargin(0.04);
        r.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new java.text.DecimalFormat("0.0#")));
        r.setDefaultItemLabelsVisible(true);
        r.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        Files.createDirectories(out.toAbsolutePath().getParent());
        ChartUtils.saveChartAsPNG(out.toFile(), chart, 1100, 560);
    }
}
