package org.sprnn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.sprnn.SprnnException;
import org.sprnn.io.Untrusted;
import org.sprnn.plot.BenchChart;
import org.sprnn.plot.FigureChart;
import org.sprnn.plot.Rows;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sprnn plot}: a chart (PNG or SVG) of the rows {@code sprnn bench}, {@code bench grid}, {@code bench sweep} and
 * {@code bench ablation} append to their CSV files, on any machine with a full JDK (no GPU needed): bars per layer by
 * default, lines against a column with {@code --x}, the ablation's variants where the files are ablation.csv. The GPU
 * bundle's runtime leaves out {@code java.desktop}, which drawing needs; there the command refuses in one line.
 */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = {"Draws µs per timestep of each engine, grouped by layer (cell, hidden, batch, density), from the CSV "
                + "rows of 'sprnn bench' (recurrent_us_per_step_median) or 'sprnn bench grid' (us_per_step_median); the median "
                + "where a series has several rows for a layer. The format follows the output's name: .png or .svg.",
            "With --x COLUMN (density, hidden, batch, steps, ...): lines against that column, one per engine and per value of "
                + "each other configuration column that varies; where an engine has rows without a figure (infeasible, refused) "
                + "beyond its last timed x, a dashed mark there (its capacity). --y picks the value: µs per step, per sequence "
                + "(x T), per layer-sequence (x T / layers), or the speed-up over the fastest --baseline engine at the same "
                + "configuration. --where keeps only the rows whose column holds one of the values.",
            "Files of 'sprnn bench ablation' (ablation.csv) become the ablation's bar chart: the kernel's variants, the "
                + "exchange floors and the library baselines."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn plot --out results/h100.png results/suite/session9/bench-after/bench.csv",
                "  sprnn plot --out fig.svg --title \"cuDNN on an H100\" results/suite/session9/cudnn-anchors/bench.csv --anchor 1152/4/0.1=2.94",
                "  (an --anchor is [CELL/]HIDDEN/BATCH/DENSITY=US, one rnn_relu layer at T 256 unless a cell is given, as results/anchors)",
                "  sprnn plot --out grid.png results/grid/grid.csv",
                "  sprnn plot --out f1.svg --x density --y speedup --log-x --where hidden=2304 results/figures/data/fig1a/sweep.csv",
                "  sprnn plot --out f2.svg --x hidden --log-y --where density=0.1 results/figures/data/fig2/sweep.csv",
                "  sprnn plot --out f6.svg --y us-per-layer-sequence --where cell=gru results/figures/data/fig6b/sweep.csv",
                "  sprnn plot --out f5.svg results/figures/data/fig5/ablation.csv",
                "  (scripts/plot-figures.sh draws every figure of results/figures)"})
final class PlotCommand extends SprnnCommand {
    @Parameters(arity = "1..*", paramLabel = "ROWS.csv", description = "rows that sprnn bench, bench grid, bench sweep or bench ablation wrote (bench.csv, grid.csv, sweep.csv, ablation.csv)")
    List<Path> files;

    @Option(names = "--out", required = true, description = "the chart: a .png or .svg file")
    Path out;

    @Option(names = "--title", defaultValue = "µs per timestep", description = "the chart's title (default: ${DEFAULT-VALUE})")
    String title;

    @Option(names = "--anchor", description = "a reference bar, [CELL/]HIDDEN/BATCH/DENSITY=US (e.g. 1152/4/0.1=2.94, results/anchors: rnn_relu, T 256)")
    List<String> anchors = new ArrayList<>();

    @Option(names = "--x", description = "lines against this column: density, hidden, batch, steps, layers, input, cell, case")
    String x;

    @Option(names = "--y", defaultValue = "us-per-step",
            description = "us-per-step, us-per-sequence, us-per-layer-sequence or speedup (default: ${DEFAULT-VALUE})")
    String y;

    @Option(names = "--baseline", split = ",", defaultValue = "cuda-gemm,cuda-cudnn,cuda-dense-persistent",
            description = "--y speedup is over the fastest of these engines at each configuration (default: ${DEFAULT-VALUE})")
    List<String> baselines;

    @Option(names = "--where", description = "COLUMN=VALUE[,VALUE...]: only the rows whose column holds one of the values "
            + "(numbers compared as numbers); repeatable")
    List<String> where = new ArrayList<>();

    @Option(names = "--log-x", description = "a logarithmic horizontal axis (with --x)")
    boolean logX;

    @Option(names = "--log-y", description = "a logarithmic value axis (with --x)")
    boolean logY;

    @Override
    public Integer call() throws IOException {
        if (ModuleLayer.boot().findModule("java.desktop").isEmpty()) {
            throw new SprnnException("this Java runtime has no java.desktop module, which drawing needs (the GPU bundle leaves "
                    + "it out): run 'sprnn plot' where a full JDK is, e.g. ./sprnn plot from the repository");
        }
        if (out.getFileName() == null) {
            throw new SprnnException("--out: expected a .png or .svg file name, got " + Untrusted.quote(out.toString()));
        }
        String name = out.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (!name.endsWith(".png") && !name.endsWith(".svg")) {
            throw new SprnnException("--out: the chart's format follows the name: .png or .svg, got " + Untrusted.quote(out.toString()));
        }
        if ((logX || logY) && x == null) {
            throw new SprnnException("--log-x, --log-y: only with --x (lines)");
        }
        System.setProperty("java.awt.headless", "true");
        try {
            FigureChart.Metric metric = FigureChart.Metric.parse(y);
            java.util.Map<String, List<String>> filters = new java.util.LinkedHashMap<>();
            for (String w : where) {
                int eq = w.indexOf('=');
                if (eq <= 0 || eq == w.length() - 1) {
                    throw new SprnnException("--where: expected COLUMN=VALUE[,VALUE...], e.g. hidden=1152,2304, got " + Untrusted.quote(w));
                }
                filters.computeIfAbsent(w.substring(0, eq).strip(), k -> new ArrayList<>()).addAll(List.of(w.substring(eq + 1).split(",")));
            }
            if (x != null || metric != FigureChart.Metric.US_PER_STEP || !filters.isEmpty() || ablation()) {
                return figure(metric, filters);
            }
        } catch (IllegalArgumentException e) {
            throw new SprnnException(Untrusted.escape(e.getMessage()));
        }
        List<BenchChart.Bar> bars = new ArrayList<>();
        try {
            for (Path f : files) {
                if (!Files.isRegularFile(f)) {
                    throw new SprnnException(Untrusted.quote(f.toString()) + (Files.exists(f) ? ": not a regular file (a directory, pipe "
                        + "or device)" : ": no such file"));
                }
                try {
                    bars.addAll(BenchChart.read(f));
                } catch (IOException e) {
                    throw new SprnnException(Untrusted.quote(f.toString()) + ": cannot be read as a UTF-8 CSV file ("
                            + Untrusted.escape(e.getClass().getSimpleName()) + ")");
                }
            }
            for (String a : anchors) {
                bars.add(BenchChart.anchor(a));
            }
            drawn(tmp -> {
                BenchChart.write(bars, title, tmp);
                return null;
            });
        } catch (IllegalArgumentException e) {
            throw new SprnnException(Untrusted.escape(e.getMessage()));
        }
        out().printf("%d rows from %d file(s) -> %s (a bar per engine and layer: the median of its rows)%n", bars.size(),
                files.size(), out);
        return 0;
    }

    private List<Rows> rows() throws IOException {
        List<Rows> rows = new ArrayList<>();
        for (Path f : files) {
            if (!Files.isRegularFile(f)) {
                throw new SprnnException(Untrusted.quote(f.toString()) + (Files.exists(f) ? ": not a regular file (a directory, pipe "
                        + "or device)" : ": no such file"));
            }
            try {
                rows.add(Rows.read(f));
            } catch (IOException e) {
                throw new SprnnException(Untrusted.quote(f.toString()) + ": cannot be read as a UTF-8 CSV file ("
                        + Untrusted.escape(e.getClass().getSimpleName()) + ")");
            }
        }
        return rows;
    }

    /** A chart drawn into a file of the name it is given. */
    @FunctionalInterface
    private interface Draw<T> {
        T to(Path file) throws IOException;
    }

    /**
     * Draws the chart beside {@code --out}, then moves it over it: no half-written chart under the name asked for, and a
     * chart that cannot be written (a read-only folder, a full disk) is one line naming {@code --out}.
     */
    private <T> T drawn(Draw<T> draw) {
        checkTarget();
        String leaf = out.getFileName().toString();
        Path tmp = out.toAbsolutePath().resolveSibling(leaf + ".part" + leaf.substring(leaf.length() - 4));
        try {
            T result = draw.to(tmp);
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return result;
        } catch (IOException | java.io.UncheckedIOException e) {
            throw cannotWrite(e);
        } catch (RuntimeException e) {
            if (!(e instanceof SprnnException) && e.getCause() instanceof IOException io) { // the SVG writer wraps its IOException
                throw cannotWrite(io);
            }
            throw e;
        } finally {
            deleteQuietly(tmp);
        }
    }

    /** Refuses, before any drawing, an {@code --out} that exists and is not a regular file (a directory, a pipe, a device). */
    private void checkTarget() {
        if (Files.exists(out) && !Files.isRegularFile(out)) {
            throw new SprnnException("--out " + Untrusted.quote(out.toString()) + ": not a regular file (a directory, pipe or device)");
        }
    }

    /** The one line for a chart that could not be written (a read-only folder, a full disk), naming {@code --out}. */
    private SprnnException cannotWrite(Exception e) {
        return new SprnnException("--out " + Untrusted.quote(out.toString()) + ": cannot write the chart: " + Untrusted.why(e));
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException | SecurityException e) {
            // nothing more to do: the failure that matters has been reported
        }
    }

    /** True where the first file is a {@code bench ablation} file (its header names a variant column). */
    private boolean ablation() throws IOException {
        Path f = files.get(0);
        if (!Files.isRegularFile(f)) {
            return false; // refused with the file's name when read
        }
        try (var r = Files.newBufferedReader(f, java.nio.charset.StandardCharsets.UTF_8)) {
            String head = r.readLine();
            return head != null && List.of(head.split(",")).contains("variant");
        } catch (java.nio.charset.CharacterCodingException e) {
            return false;
        }
    }

    /** The figures beyond the default bars: lines (--x), other values (--y), filters (--where), the ablation. */
    private int figure(FigureChart.Metric metric, java.util.Map<String, List<String>> filters) throws IOException {
        if (!anchors.isEmpty()) {
            throw new SprnnException("--anchor: only with the default chart (no --x, --y or --where)");
        }
        if ((logX || logY) && x == null) {
            throw new SprnnException("--log-x, --log-y: only with --x (lines)");
        }
        List<Rows> rows = rows();
        String[] what = new String[1];
        int n = drawn(tmp -> {
            if (ablation()) {
                if (x != null || !filters.isEmpty() || metric != FigureChart.Metric.US_PER_STEP) {
                    throw new SprnnException("--x, --y, --where: not for ablation rows, whose chart is fixed");
                }
                what[0] = "the ablation's variants, floors and baselines";
                return FigureChart.ablation(rows, title, tmp);
            } else if (x != null) {
                what[0] = "a line per engine against " + x;
                return FigureChart.lines(rows, x, metric, baselines, filters, logX, logY, title, tmp);
            }
            what[0] = "a bar per engine and configuration";
            return FigureChart.bars(rows, metric, baselines, filters, title, tmp);
        });
        out().printf("%d rows from %d file(s) -> %s (%s)%n", n, files.size(), out, what[0]);
        return 0;
    }
}
