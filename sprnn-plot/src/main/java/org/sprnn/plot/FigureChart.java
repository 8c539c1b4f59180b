package org.sprnn.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.StackedBarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The figures of the evaluation (issue 15) from the rows of {@code sprnn bench sweep} (also {@code bench} and
 * {@code bench grid}) and {@code bench ablation}:
 * <ul>
 * <li>{@link #lines}: a value against one column (density, hidden, batch, T), a line per engine and per value of each
 * other configuration column that varies among the rows; where an engine has rows without a figure (infeasible,
 * refused) at larger x than its last timed one, a dashed mark at that last x: its capacity on this GPU;</li>
 * <li>{@link #bars}: the value per row's configuration (a sweep's {@code case} named first), a bar per engine;</li>
 * <li>{@link #ablation}: the ablation's variants as horizontal bars, the exchange floors and library baselines in their
 * own colours.</li>
 * </ul>
 * Values ({@link Metric}): µs per step, per sequence (× T), per layer-sequence (× T / layers), or the speed-up over the
 * fastest of some baseline engines at the same configuration. Where one series has several rows at one point (repeated
 * runs), the median.
 */
public final class FigureChart {
    private FigureChart() {
    }

    /** What a figure shows of each row. */
    public enum Metric {
        /** The recurrent µs per timestep, as measured. */
        US_PER_STEP("us-per-step", "µs per timestep (lower is better)"),
        /** µs per step × T: the recurrent latency of one whole sequence. */
        US_PER_SEQUENCE("us-per-sequence", "µs per sequence: µs/step × T (lower is better)"),
        /** µs per step × T / layers: one recurrent layer over one whole sequence. */
        US_PER_LAYER_SEQUENCE("us-per-layer-sequence", "µs per layer-sequence: µs/step × T / layers (lower is better)"),
        /** The fastest baseline engine's µs per step at the same configuration over this row's. */
        SPEEDUP("speedup", "speed-up over the fastest baseline (higher is better)");

        private final String id;
        private final String label;

        Metric(String id, String label) {
            this.id = id;
            this.label = label;
        }

        /**
         * The metric of a name.
         *
         * @param s us-per-step, us-per-sequence, us-per-layer-sequence or speedup
         * @return the metric
         * @throws IllegalArgumentException naming the choices where {@code s} is none of them
         */
        public static Metric parse(String s) {
            for (Metric m : values()) {
                if (m.id.equals(s)) {
                    return m;
                }
            }
            throw new IllegalArgumentException("--y: expected us-per-step, us-per-sequence, us-per-layer-sequence or speedup, got '"
                    + BenchChart.clip(s) + "'");
        }

        /**
         * The value axis's label.
         *
         * @return the label
         */
        public String label() {
            return label;
        }
    }

    /** The configuration columns of a sweep row, in the order series and group labels name them. */
    static final List<String> CONFIG = List.of("model", "case", "cell", "layers", "hidden", "input", "batch", "density", "pruning", "steps");

    /**
     * One row: its series (engine and precision), its configuration (column to value) and its µs per step, NaN where the
     * engine gave no figure there.
     */
    record Point(String engine, String series, Map<String, String> config, double micros, String where) {
    }

    /**
     * The rows of a sweep, bench or grid file that pass the filters.
     *
     * @param rows  the file's rows
     * @param where column to accepted values (numbers compared as numbers); every row where empty
     * @return the points, untimed ones included (µs NaN)
     */
    static List<Point> points(Rows rows, Map<String, List<String>> where) {
        int value = rows.column("recurrent_us_per_step_median") >= 0 ? rows.required("recurrent_us_per_step_median")
                : rows.required("us_per_step_median");
        int engine = rows.required("engine"), precision = rows.column("precision");
        for (String k : where.keySet()) {
            rows.required(k);
        }
        List<Point> out = new ArrayList<>();
        for (int n = 0; n < rows.fields().size(); n++) {
            String[] f = rows.fields().get(n);
            String at = rows.file().getFileName() + " line " + rows.lines().get(n);
            boolean keep = true;
            for (var w : where.entrySet()) {
                String v = f[rows.column(w.getKey())];
                keep &= w.getValue().stream().anyMatch(a -> same(a, v));
            }
            if (!keep) {
                continue;
            }
            Map<String, String> config = new LinkedHashMap<>();
            for (String c : CONFIG) {
                if (rows.column(c) >= 0) {
                    String v = f[rows.column(c)];
                    config.put(c, c.equals("model") ? BenchChart.modelLabel(v) : BenchChart.clip(v.strip()));
                }
            }
            double us = f[value].isBlank() ? Double.NaN : number(f[value], at);
            String e = BenchChart.clip(f[engine]);
            out.add(new Point(e, precision >= 0 && !f[precision].isBlank() ? e + " " + BenchChart.clip(f[precision]) : e, config, us, at));
        }
        return out;
    }

    private static boolean same(String a, String b) {
        try {
            return Double.parseDouble(a.strip()) == Double.parseDouble(b.strip());
        } catch (NumberFormatException e) {
            return a.strip().equals(b.strip());
        }
    }

    static double number(String s, String where) {
        try {
            double v = Double.parseDouble(s.strip());
            if (!Double.isFinite(v) || v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": expected a finite number >= 0, got '" + BenchChart.clip(s) + "'");
        }
    }

    /**
     * Each point's value under the metric; untimed points stay NaN, and for {@link Metric#SPEEDUP} so do points whose
     * configuration has no timed baseline row.
     */
    static double[] values(List<Point> pts, Metric m, List<String> baselines) {
        double[] v = new double[pts.size()];
        Map<Map<String, String>, Double> best = new LinkedHashMap<>();
        if (m == Metric.SPEEDUP) {
            for (Point p : pts) {
                if (!Double.isNaN(p.micros()) && (baselines.contains(p.engine()) || baselines.contains(p.series()))) {
                    best.merge(p.config(), p.micros(), Math::min);
                }
            }
            if (best.isEmpty()) {
                throw new IllegalArgumentException("--y speedup: no timed row of the baseline engines " + baselines + " among the rows");
            }
        }
        for (int i = 0; i < pts.size(); i++) {
            Point p = pts.get(i);
            double us = p.micros();
            v[i] = switch (m) {
                case US_PER_STEP -> us;
                case US_PER_SEQUENCE -> us * steps(p);
                case US_PER_LAYER_SEQUENCE -> us * steps(p) / number(p.config().getOrDefault("layers", "1"), p.where());
                case SPEEDUP -> best.containsKey(p.config()) ? best.get(p.config()) / us : Double.NaN;
            };
        }
        return v;
    }

    private static double steps(Point p) {
        String t = p.config().get("steps");
        if (t == null) {
            throw new IllegalArgumentException(p.where() + ": no 'steps' column, which per-sequence figures need");
        }
        return number(t, p.where());
    }

    /**
     * The value axis's label of a speed-up chart: the baselines named where they fit the axis (a chart 640 pixels high
     * shows some 70 characters), else "the fastest baseline" with the names left to the title or caption.
     */
    static String speedupLabel(List<String> baselines) {
        String named = "speed-up over the fastest of " + String.join(", ", baselines);
        return (named.length() <= 52 ? named : "speed-up over the fastest baseline") + " (higher is better)";
    }

    /** A short label of one configuration value, as the bar charts name it. */
    static String label(String column, String value) {
        return switch (column) {
            case "model" -> value; // already BenchChart.modelLabel's
            case "case" -> value;
            case "cell" -> value;
            case "layers" -> "x" + value;
            case "hidden" -> "H " + value;
            case "input" -> "I " + value;
            case "batch" -> "B " + value;
            case "density" -> {
                try {
                    yield String.format(Locale.ROOT, "d %s%%", new java.math.BigDecimal(100 * Double.parseDouble(value))
                            .round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString());
                } catch (NumberFormatException e) {
                    yield "d " + value;
                }
            }
            case "steps" -> "T " + value;
            default -> value;
        };
    }

    /**
     * The configuration columns that tell the series apart: those whose value differs among the points, other than the
     * x column {@code x} and any column that is x under another name (one value per x value and one x value per value, as
     * the input size in a sweep over hidden sizes); splitting by such a column would leave one point per series.
     */
    static List<String> varying(List<Point> pts, String x) {
        List<String> out = new ArrayList<>();
        for (String c : CONFIG) {
            if (c.equals(x)) {
                continue;
            }
            Set<String> seen = new LinkedHashSet<>();
            Map<String, String> byX = new HashMap<>(), xBy = new HashMap<>();
            boolean followsX = true;
            for (Point p : pts) {
                String v = p.config().getOrDefault(c, ""), xv = p.config().getOrDefault(x, "");
                seen.add(v);
                String prev = byX.putIfAbsent(xv, v), prevX = xBy.putIfAbsent(v, xv);
                // one value per x and one x per value: the column is x under another name (input = hidden)
                followsX &= (prev == null || prev.equals(v)) && (prevX == null || prevX.equals(xv));
            }
            if (seen.size() > 1 && !followsX) {
                out.add(c);
            }
        }
        return out;
    }

    private static String seriesOf(Point p, List<String> vary) {
        StringBuilder b = new StringBuilder(p.series());
        for (String c : vary) {
            b.append(", ").append(label(c, p.config().getOrDefault(c, "")));
        }
        return b.toString();
    }

    private static double median(List<Double> values) {
        List<Double> v = new ArrayList<>(values);
        v.sort(null);
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    /**
     * A line chart of the metric against the column {@code x}.
     *
     * @param rows      the files' rows
     * @param x         the column on the horizontal axis (density, hidden, batch, steps, ...)
     * @param metric    the value
     * @param baselines the engines a speed-up is over (the fastest of them at each configuration)
     * @param where     filters: column to accepted values
     * @param logX      a logarithmic horizontal axis
     * @param logY      a logarithmic value axis
     * @param title     the chart's title
     * @param out       a .png or .svg file
     * @return the number of timed points drawn
     * @throws IOException when the chart cannot be written
     */
    public static int lines(List<Rows> rows, String x, Metric metric, List<String> baselines, Map<String, List<String>> where,
                            boolean logX, boolean logY, String title, Path out) throws IOException {
        BenchChart.format(out);
        if (!CONFIG.contains(x)) {
            throw new IllegalArgumentException("--x: expected one of " + String.join(", ", CONFIG.subList(1, CONFIG.size()))
                    + ", got '" + BenchChart.clip(x) + "'");
        }
        List<Point> pts = new ArrayList<>();
        for (Rows r : rows) {
            r.required(x);
            pts.addAll(points(r, where));
        }
        if (pts.isEmpty()) {
            throw new IllegalArgumentException("no rows" + (where.isEmpty() ? "" : " match --where " + where));
        }
        double[] v = values(pts, metric, baselines);
        List<String> vary = varying(pts, x);
        // series -> x -> values; and per series the last timed x and the largest untimed x
        Map<String, TreeMap<Double, List<Double>>> data = new LinkedHashMap<>();
        Map<String, Double> lastTimed = new LinkedHashMap<>(), lastUntimed = new LinkedHashMap<>();
        int drawn = 0;
        for (int i = 0; i < pts.size(); i++) {
            Point p = pts.get(i);
            String s = seriesOf(p, vary);
            double xv = number(p.config().get(x), p.where());
            if (Double.isNaN(p.micros())) {
                lastUntimed.merge(s, xv, Math::max);
                continue;
            }
            lastTimed.merge(s, xv, Math::max);
            if (Double.isNaN(v[i]) || (logX && xv <= 0) || (logY && v[i] <= 0)) {
                continue; // no baseline at this configuration, or a value a log axis cannot show
            }
            data.computeIfAbsent(s, k -> new TreeMap<>()).computeIfAbsent(xv, k -> new ArrayList<>()).add(v[i]);
            drawn++;
        }
        if (drawn == 0) {
            throw new IllegalArgumentException("no rows with a figure to plot" + (where.isEmpty() ? "" : " (after --where " + where + ")"));
        }
        XYSeriesCollection set = new XYSeriesCollection();
        data.forEach((s, byX) -> {
            XYSeries series = new XYSeries(s, true, false);
            byX.forEach((xv, vals) -> series.add(xv.doubleValue(), median(vals)));
            set.addSeries(series);
        });
        String xLabel = switch (x) {
            case "density" -> "W_hh density";
            case "hidden" -> "hidden size";
            case "batch" -> "batch";
            case "steps" -> "T (timesteps)";
            default -> x;
        };
        String yLabel = metric == Metric.SPEEDUP ? speedupLabel(baselines)
                : metric.label();
        JFreeChart chart = ChartFactory.createXYLineChart(title, xLabel, yLabel, set, PlotOrientation.VERTICAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        plot.setRenderer(r);
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < set.getSeriesCount(); i++) {
            keys.add(set.getSeriesKey(i).toString());
        }
        BenchChart.paintByEngine(r, keys);
        if (logX) {
            LogAxis a = new LogAxis(xLabel);
            // batch, T and hidden sizes (whole numbers, mostly powers of two): a tick at each power of two, not at 1.259,
            // 1.585...; fractions (density): a tick a decade, 0.01, 0.1, 1
            boolean whole = set.getSeriesCount() > 0 && java.util.stream.IntStream.range(0, set.getSeriesCount()).allMatch(si ->
                    java.util.stream.IntStream.range(0, set.getItemCount(si)).allMatch(ii -> set.getXValue(si, ii) >= 1
                            && set.getXValue(si, ii) == Math.rint(set.getXValue(si, ii))));
            a.setBase(whole ? 2 : 10);
            a.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1));
            a.setSmallestValue(1e-6);
            a.setNumberFormatOverride(new java.text.DecimalFormat("0.###")); // the values, not powers of ten
            plot.setDomainAxis(a);
        } else {
            ((NumberAxis) plot.getDomainAxis()).setAutoRangeIncludesZero(false);
        }
        if (logY) {
            LogAxis a = new LogAxis(yLabel);
            a.setBase(2); // ticks at 0.5, 1, 2, 4 ... µs, not at 1.259, 1.585 ...
            a.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1));
            a.setSmallestValue(1e-6);
            a.setNumberFormatOverride(new java.text.DecimalFormat("0.###"));
            plot.setRangeAxis(a);
        }
        if (metric == Metric.SPEEDUP) {
            ValueMarker one = new ValueMarker(1.0, Color.GRAY, new BasicStroke(1f));
            plot.addRangeMarker(one);
        }
        // capacity: the last x an engine was timed at, where it has rows without a figure beyond it
        int k = 0;
        for (var e : lastTimed.entrySet()) {
            Double beyond = lastUntimed.get(e.getKey());
            int index = set.getSeriesIndex(e.getKey());
            if (beyond == null || beyond <= e.getValue() || index < 0) {
                continue;
            }
            ValueMarker m = new ValueMarker(e.getValue(), (Color) r.lookupSeriesPaint(index), new BasicStroke(1.5f,
                    BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
            m.setLabel(e.getKey() + ": last timed " + label(x, trim(e.getValue())));
            m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
            m.setLabelAnchor(RectangleAnchor.TOP_LEFT);
            m.setLabelTextAnchor(TextAnchor.TOP_RIGHT);
            m.setLabelOffset(new org.jfree.chart.ui.RectangleInsets(4 + 14 * k++, 2, 2, 2));
            plot.addDomainMarker(m);
        }
        BenchChart.save(chart, out, 1100, 640);
        return drawn;
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
    }

    /**
     * A bar chart of the metric per configuration (the case first where the rows name one), a bar per engine.
     *
     * @param rows      the files' rows
     * @param metric    the value
     * @param baselines the engines a speed-up is over
     * @param where     filters: column to accepted values
     * @param title     the chart's title
     * @param out       a .png or .svg file
     * @return the number of timed rows drawn
     * @throws IOException when the chart cannot be written
     */
    public static int bars(List<Rows> rows, Metric metric, List<String> baselines, Map<String, List<String>> where, String title,
                           Path out) throws IOException {
        List<Point> pts = new ArrayList<>();
        for (Rows r : rows) {
            pts.addAll(points(r, where));
        }
        if (pts.isEmpty()) {
            throw new IllegalArgumentException("no rows" + (where.isEmpty() ? "" : " match --where " + where));
        }
        double[] v = values(pts, metric, baselines);
        // a case's bars: its name, then every other column whose value differs within one case (density across cases too)
        List<String> caseLabel = new ArrayList<>(List.of("case"));
        for (String c : CONFIG) {
            if (c.equals("case")) {
                continue;
            }
            Map<String, Set<String>> perCase = new HashMap<>();
            for (Point p : pts) {
                perCase.computeIfAbsent(p.config().getOrDefault("case", ""), k -> new LinkedHashSet<>()).add(p.config().getOrDefault(c, ""));
            }
            boolean within = perCase.values().stream().anyMatch(vals -> vals.size() > 1);
            boolean across = c.equals("density") && pts.stream().map(p -> p.config().getOrDefault(c, "")).distinct().count() > 1;
            if (within || across) {
                caseLabel.add(c);
            }
        }
        List<BenchChart.Bar> bars = new ArrayList<>();
        for (int i = 0; i < pts.size(); i++) {
            Point p = pts.get(i);
            if (Double.isNaN(v[i])) {
                continue;
            }
            StringBuilder g = new StringBuilder();
            String named = p.config().get("case");
            for (String c : named == null || named.isEmpty() ? CONFIG : caseLabel) { // a case's name says its shape
                String val = p.config().get(c);
                if (val == null || val.isEmpty() || (c.equals("layers") && val.equals("1")) || (c.equals("pruning") && val.equals("per-row"))
                        || (c.equals("input") && val.equals(p.config().get("hidden")))) {
                    continue;
                }
                g.append(g.isEmpty() ? "" : c.equals("cell") && p.config().containsKey("case") ? ": " : " ").append(label(c, val));
            }
            bars.add(new BenchChart.Bar(p.series(), g.toString(), v[i]));
        }
        String yLabel = metric == Metric.SPEEDUP ? speedupLabel(baselines)
                : metric.label();
        BenchChart.write(bars, title, yLabel, out);
        return bars.size();
    }

    /**
     * The ablation ({@code bench ablation}'s ablation.csv): µs per step of each variant as a horizontal bar, the kernel's
     * variants, the exchange floors (the kernel without its arithmetic: what the exchange of h alone costs) and the library
     * baselines each in one colour; the configuration named before the variant where the rows hold several.
     *
     * @param rows  the files' rows (columns variant, us_per_step; hidden, batch, density, steps where present)
     * @param title the chart's title
     * @param out   a .png or .svg file
     * @return the number of rows drawn
     * @throws IOException when the chart cannot be written
     */
    public static int ablation(List<Rows> rows, String title, Path out) throws IOException {
        BenchChart.format(out);
        record Bar(String kind, String category, double us) {
        }
        List<Bar> bars = new ArrayList<>();
        for (Rows r : rows) {
            int variant = r.required("variant"), us = r.required("us_per_step");
            for (int n = 0; n < r.fields().size(); n++) {
                String[] f = r.fields().get(n);
                String at = r.file().getFileName() + " line " + r.lines().get(n);
                StringBuilder config = new StringBuilder();
                for (String c : List.of("cell", "hidden", "batch", "density", "steps")) {
                    if (r.column(c) >= 0) {
                        config.append(config.isEmpty() ? "" : " ").append(label(c, BenchChart.clip(f[r.column(c)])));
                    }
                }
                String v = f[variant];
                String kind = v.startsWith("floor:") ? "exchange floor (the kernel without arithmetic)"
                        : v.contains("(graph") ? "library baseline" : "sparse persistent kernel";
                bars.add(new Bar(kind, config + "|" + BenchChart.clip(v.length() > 70 ? v.substring(0, 70) : v), number(f[us], at)));
            }
        }
        if (bars.isEmpty()) {
            throw new IllegalArgumentException("no rows with a figure to plot");
        }
        boolean several = bars.stream().map(b -> b.category().substring(0, b.category().indexOf('|'))).distinct().count() > 1;
        Map<String, Map<String, List<Double>>> grouped = new LinkedHashMap<>();
        for (Bar b : bars) {
            String cat = several ? b.category().replace("|", ": ") : b.category().substring(b.category().indexOf('|') + 1);
            grouped.computeIfAbsent(cat, k -> new LinkedHashMap<>()).computeIfAbsent(b.kind(), k -> new ArrayList<>()).add(b.us());
        }
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        List<String> kinds = List.of("sparse persistent kernel", "exchange floor (the kernel without arithmetic)", "library baseline");
        grouped.forEach((cat, byKind) -> {
            for (String kd : kinds) {
                // every category gets every series (zero where absent): a stacked bar is then exactly its one value
                data.addValue(byKind.containsKey(kd) ? median(byKind.get(kd)) : 0.0, kd, cat);
            }
        });
        JFreeChart chart = ChartFactory.createStackedBarChart(title, "variant", "µs per timestep (lower is better)", data,
                PlotOrientation.HORIZONTAL, true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        StackedBarRenderer r = (StackedBarRenderer) plot.getRenderer();
        r.setBarPainter(new StandardBarPainter());
        r.setShadowVisible(false);
        r.setSeriesPaint(0, new Color(0x1f77b4));
        r.setSeriesPaint(1, new Color(0xaaaaaa));
        r.setSeriesPaint(2, new Color(0xff7f0e));
        r.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new java.text.DecimalFormat("0.00#")) {
            @Override
            public String generateLabel(org.jfree.data.category.CategoryDataset d, int row, int column) {
                Number n = d.getValue(row, column);
                return n == null || n.doubleValue() == 0 ? null : super.generateLabel(d, row, column);
            }
        });
        r.setDefaultItemLabelsVisible(true);
        r.setDefaultItemLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        plot.getDomainAxis().setMaximumCategoryLabelWidthRatio(0.45f);
        BenchChart.save(chart, out, 1200, Math.max(420, 40 * data.getColumnCount() + 160));
        return bars.size();
    }
}
