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
import org.jfree.chart.JFreeChart;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Turns benchmark rows (the CSV that {@code sprnn bench} or {@code sprnn bench grid} writes) into one bar chart, PNG or
 * SVG by the output's name: µs per step of each engine, grouped by layer configuration, optionally beside the best
 * baseline measured in results/anchors/README.md. {@code sprnn plot} is the command; this class also runs alone:
 *
 * <pre>
 * java -jar sprnn-plot/target/sprnn-plot.jar OUT.png|OUT.svg "title" ROWS.csv [ROWS.csv ...] [--anchor "1152/4/0.1=2.94" ...]
 * </pre>
 *
 * Rows need the columns {@code engine, hidden, batch, density} and {@code recurrent_us_per_step_median} (bench) or
 * {@code us_per_step_median} (grid; rows without a figure, an engine that could not run, are left out); with a
 * {@code precision} column a row's series is {@code engine precision}, with a {@code cell} column the configuration
 * names the cell. Malformed files are refused with {@link IllegalArgumentException} naming the file and line.
 */
public final class BenchChart {
    private BenchChart() {
    }

    /**
     * One measured bar.
     *
     * @param series the legend entry (engine and precision)
     * @param config the group on the axis (cell, hidden, batch, density)
     * @param micros µs per timestep
     */
    public record Bar(String series, String config, double micros) {
    }

    /**
     * The command line above.
     *
     * @param args OUT, TITLE, then CSV files and {@code --anchor H/B/D=US} pairs
     * @throws IOException when a file cannot be read or written
     */
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
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("--anchor: expected HIDDEN/BATCH/DENSITY=US after it");
                }
                bars.add(anchor(args[++i]));
            } else {
                bars.addAll(read(Path.of(args[i])));
            }
        }
        write(bars, title, out);
    }

    /**
     * One anchor bar from {@code [CELL/]H/B/D=US}, e.g. {@code 1152/4/0.1=2.94}: the anchors' workload (results/anchors) is
     * one rnn_relu layer at T 256, so the bar joins the group of bench rows of that cell, shape and T.
     *
     * @param spec the anchor
     * @return its bar, in the series "best baseline (results/anchors)"
     */
    public static Bar anchor(String spec) {
        String[] kv = spec.split("=", -1);
        String[] c = kv[0].split("/", -1);
        if (kv.length != 2 || c.length < 3 || c.length > 4) {
            throw new IllegalArgumentException("--anchor: expected [CELL/]HIDDEN/BATCH/DENSITY=US, e.g. 1152/4/0.1=2.94, got '"
                    + clip(spec) + "'");
        }
        int o = c.length - 3;
        String cell = o == 1 ? clip(c[0]) : "rnn_relu";
        return new Bar("best baseline (results/anchors)", config(cell, "1", c[o], c[o + 1], c[o + 2], "256", "--anchor"),
                number(kv[1], "--anchor"));
    }

    /** The group of a row: cell (and layers where more than one), hidden, batch, density and, where known, T. */
    static String config(String cell, String layers, String hidden, String batch, String density, String steps, String where) {
        number(hidden, where);
        number(batch, where);
        boolean stacked = !layers.isEmpty() && number(layers, where) > 1;
        return String.format(Locale.ROOT, "%s%sH %s, B %s, d %.0f%%%s", cell.isEmpty() ? "" : cell + " ", stacked ? "x" + layers + " " : "",
                hidden, batch, 100 * number(density, where), steps.isEmpty() ? "" : ", T " + (long) number(steps, where));
    }

    private static double number(String s, String where) {
        try {
            double v = Double.parseDouble(s.strip());
            if (!Double.isFinite(v) || v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": expected a finite number >= 0, got '" + clip(s) + "'");
        }
    }

    /** At most 40 characters of untrusted text, control characters shown as '?'. */
    /**
     * A model column's value as a label: "" for none ({@code synthetic}, as {@code bench} writes for its own layers, or
     * blank), else the path's last 40 characters (its file name, and folders as far as they fit), control characters
     * replaced: two files of one name in different folders stay apart, as do long names that differ at their ends.
     */
    static String modelLabel(String value) {
        String v = value.strip();
        if (v.isEmpty() || v.equals("synthetic")) {
            return "";
        }
        String t = v.length() > 40 ? "..." + v.substring(v.length() - 40) : v;
        return t.replaceAll("\\p{Cntrl}", "?");
    }

    static String clip(String s) {
        String t = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }

    /** Files larger than this are refused before reading: bench and grid files are a few kB to a few MB. */
    static final long MAX_BYTES = 64L << 20;

    /**
     * Reads the bars of one CSV written by {@code sprnn bench} or {@code sprnn bench grid} (quoted fields, such as a row's
     * details, keep their commas); each model file of {@code bench --model} its own bars.
     *
     * @param csv the file
     * @return its bars, in file order
     * @throws IOException when it cannot be read
     */
    public static List<Bar> read(Path csv) throws IOException {
        if (Files.size(csv) > MAX_BYTES) {
            throw new IllegalArgumentException(csv + ": " + Files.size(csv) + " bytes, more than a benchmark file's " + MAX_BYTES);
        }
        List<String> lines = Files.readAllLines(csv);
        if (lines.isEmpty()) {
            throw new IllegalArgumentException(csv + ": empty, expected a header line");
        }
        List<String> head = List.of(Rows.split(lines.get(0), csv.getFileName() + " line 1"));
        int value = head.indexOf("recurrent_us_per_step_median") >= 0 ? col(head, "recurrent_us_per_step_median", csv)
                : col(head, "us_per_step_median", csv);
        int engine = col(head, "engine", csv), hidden = col(head, "hidden", csv), batch = col(head, "batch", csv),
                density = col(head, "density", csv), precision = head.indexOf("precision"), cell = head.indexOf("cell"),
                layers = head.indexOf("layers"), steps = head.indexOf("steps"), pruning = head.indexOf("pruning"),
                model = head.indexOf("model");
        int need = java.util.stream.IntStream.of(value, engine, hidden, batch, density, precision, cell, layers, steps, pruning).max().orElse(0);
        List<Bar> out = new ArrayList<>();
        for (int n = 1; n < lines.size(); n++) {
            String line = lines.get(n);
            if (line.isBlank()) {
                continue;
            }
            String where = csv.getFileName() + " line " + (n + 1);
            String[] f = Rows.split(line, where); // quoted fields (a row's details) keep their commas
            if (f.length <= need) {
                throw new IllegalArgumentException(where + ": " + f.length + " fields, the header names " + head.size());
            }
            if (f[value].isBlank()) {
                continue; // a grid row of an engine that could not run at that point
            }
            String series = precision >= 0 ? f[engine] + " " + f[precision] : f[engine];
            String group = config(cell >= 0 ? clip(f[cell]) : "", layers >= 0 ? f[layers] : "", f[hidden], f[batch], f[density],
                    steps >= 0 ? f[steps] : "", where);
            if (pruning >= 0 && !f[pruning].equals("per-row")) {
                group += ", " + clip(f[pruning]);
            }
            String file = model >= 0 && model < f.length ? modelLabel(f[model]) : "";
            if (!file.isEmpty()) { // bench --model: each file its own bar
                group = file + ": " + group;
            }
            out.add(new Bar(clip(series), group, number(f[value], where)));
        }
        return out;
    }

    private static int col(List<String> head, String name, Path csv) {
        int i = head.indexOf(name);
        if (i < 0) {
            throw new IllegalArgumentException(csv + ": no column '" + name + "' (sprnn plot reads the rows sprnn bench, "
                    + "bench grid and bench sweep write: bench.csv, grid.csv, sweep.csv)");
        }
        return i;
    }

    /**
     * Renders the bars (the median where one series has several rows for a config) to a PNG or, where {@code out} ends in
     * {@code .svg}, an SVG.
     *
     * @param bars  the bars
     * @param title the chart's title
     * @param out   a {@code .png} or {@code .svg} file
     * @throws IOException when it cannot be written
     */
    public static void write(List<Bar> bars, String title, Path out) throws IOException {
        write(bars, title, "µs per timestep (lower is better)", out);
    }

    /**
     * Renders the bars as {@link #write(List, String, Path)} does, with another value axis.
     *
     * @param bars   the bars
     * @param title  the chart's title
     * @param yLabel the value axis's label
     * @param out    a {@code .png} or {@code .svg} file
     * @throws IOException when it cannot be written
     */
    public static void write(List<Bar> bars, String title, String yLabel, Path out) throws IOException {
        format(out);
        if (bars.isEmpty()) {
            throw new IllegalArgumentException("no rows with a figure to plot");
        }
        Map<String, Map<String, List<Double>>> grouped = new LinkedHashMap<>();
        for (Bar b : bars) {
            grouped.computeIfAbsent(b.series(), k -> new LinkedHashMap<>()).computeIfAbsent(b.config(), k -> new ArrayList<>())
                    .add(b.micros());
        }
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        grouped.forEach((series, byConfig) -> byConfig.forEach((config, values) -> {
            List<Double> v = new ArrayList<>(values);
            v.sort(null);
            int n = v.size();
            data.addValue(n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2, series, config);
        }));
        JFreeChart chart = ChartFactory.createBarChart(title, "layer", yLabel,
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
        List<String> keys = new ArrayList<>();
        for (Object k : data.getRowKeys()) {
            keys.add(k.toString());
        }
        paintByEngine(r, keys);
        plot.getDomainAxis().setMaximumCategoryLabelLines(3); // long groups (a case's name and shape) wrap, not cut
        save(chart, out, Math.max(1100, 90 * data.getColumnCount()), 560);
    }

    /** Each engine's colour in every chart (the series name's first word), so that a reader can compare charts at a glance. */
    private static final Map<String, Color> ENGINE_COLOURS = Map.of(
            "cuda-sparse-persistent", new Color(0xd62728), "cuda-dense-persistent", new Color(0x1f77b4),
            "cuda-gemm", new Color(0x2ca02c), "cuda-spmm", new Color(0xff7f0e), "cuda-cudnn", new Color(0x9467bd),
            "cpu", new Color(0x8c564b), "cpu-reference", new Color(0x7f7f7f), "anchor", new Color(0x17becf));
    /** Colours of series of other engines, in turn (readable on white: no yellow). */
    private static final Color[] OTHER_COLOURS = {new Color(0xe377c2), new Color(0xbcbd22), new Color(0x393b79), new Color(0x637939),
        new Color(0x8c6d31), new Color(0x843c39)};

    /**
     * Paints series {@code keys} (in the renderer's order) by engine: the engine's own colour, a darker shade for each further
     * series of the same engine (as where a chart splits an engine's rows by batch).
     *
     * @param r    the chart's renderer
     * @param keys the series names, each starting with its engine's name
     */
    static void paintByEngine(org.jfree.chart.renderer.AbstractRenderer r, List<String> keys) {
        Map<String, Integer> seen = new java.util.HashMap<>();
        int other = 0;
        for (int i = 0; i < keys.size(); i++) {
            String k = keys.get(i);
            int sp = k.indexOf(' ');
            String engine = (sp < 0 ? k : k.substring(0, sp)).replaceAll("[,:]$", "");
            Color c = ENGINE_COLOURS.get(engine.startsWith("anchor") ? "anchor" : engine);
            int n = seen.merge(engine, 1, Integer::sum) - 1;
            if (c == null) {
                c = OTHER_COLOURS[other++ % OTHER_COLOURS.length];
            }
            for (int d = 0; d < n; d++) {
                c = d % 2 == 0 ? c.darker() : c.brighter().brighter();
            }
            r.setSeriesPaint(i, c);
        }
    }

    /** Refuses an output that is not a .png or .svg file name; true for SVG. */
    static boolean format(Path out) {
        if (out.getFileName() == null) {
            throw new IllegalArgumentException(out + ": not a file name");
        }
        String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean svg = name.endsWith(".svg");
        if (!svg && !name.endsWith(".png")) {
            throw new IllegalArgumentException(out + ": the chart's format follows the name: .png or .svg");
        }
        return svg;
    }

    /** Writes a chart as PNG or, where the name ends in .svg, SVG. */
    static void save(JFreeChart chart, Path out, int width, int height) throws IOException {
        boolean svg = format(out);
        Files.createDirectories(out.toAbsolutePath().getParent());
        if (svg) {
            org.jfree.svg.SVGGraphics2D g2 = new org.jfree.svg.SVGGraphics2D(width, height);
            chart.draw(g2, new java.awt.Rectangle(0, 0, width, height));
            org.jfree.svg.SVGUtils.writeToSVG(out.toFile(), g2.getSVGElement());
        } else {
            // straight to the file (ImageIO's own FileImageOutputStream): through an OutputStream, ImageIO would buffer in a
            // cache file in java.io.tmpdir, whose closer thread fails noisily at exit when the disk is full
            if (!javax.imageio.ImageIO.write(chart.createBufferedImage(width, height), "png", out.toFile())) {
                throw new IOException("no PNG writer in this JVM");
            }
        }
    }
}
