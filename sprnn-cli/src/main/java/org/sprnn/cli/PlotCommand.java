package org.sprnn.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.sprnn.SprnnException;
import org.sprnn.io.Untrusted;
import org.sprnn.plot.BenchChart;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code sprnn plot}: a bar chart (PNG or SVG) of the rows {@code sprnn bench} and {@code sprnn bench grid} append to
 * their CSV files, on any machine with a full JDK (no GPU needed). The GPU bundle's runtime leaves out
 * {@code java.desktop}, which drawing needs; there the command refuses in one line.
 */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = {"Draws µs per timestep of each engine, grouped by layer (cell, hidden, batch, density), from the CSV "
                + "rows of 'sprnn bench' (recurrent_us_per_step_median) or 'sprnn bench grid' (us_per_step_median); the median "
                + "where a series has several rows for a layer. The format follows the output's name: .png or .svg."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn plot --out results/h100.png results/suite/session9/bench-after/bench.csv",
                "  sprnn plot --out fig.svg --title \"cuDNN on an H100\" results/suite/session9/cudnn-anchors/bench.csv --anchor 1152/4/0.1=2.94",
                "  (an --anchor is [CELL/]HIDDEN/BATCH/DENSITY=US, one rnn_relu layer at T 256 unless a cell is given, as results/anchors)",
                "  sprnn plot --out grid.png results/grid/grid.csv"})
final class PlotCommand extends SprnnCommand {
    @Parameters(arity = "1..*", paramLabel = "ROWS.csv", description = "bench.csv or grid.csv files")
    List<Path> files;

    @Option(names = "--out", required = true, description = "the chart: a .png or .svg file")
    Path out;

    @Option(names = "--title", defaultValue = "µs per timestep", description = "the chart's title (default: ${DEFAULT-VALUE})")
    String title;

    @Option(names = "--anchor", description = "a reference bar, [CELL/]HIDDEN/BATCH/DENSITY=US (e.g. 1152/4/0.1=2.94, results/anchors: rnn_relu, T 256)")
    List<String> anchors = new ArrayList<>();

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
        System.setProperty("java.awt.headless", "true");
        List<BenchChart.Bar> bars = new ArrayList<>();
        try {
            for (Path f : files) {
                if (!Files.isRegularFile(f)) {
                    throw new SprnnException(Untrusted.quote(f.toString()) + ": no such file");
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
            // drawn beside the target, then moved over it: no half-written chart under the name asked for
            Path tmp = out.toAbsolutePath().resolveSibling(out.getFileName() + ".part" + name.substring(name.length() - 4));
            try {
                BenchChart.write(bars, title, tmp);
                Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IllegalArgumentException e) {
            throw new SprnnException(Untrusted.escape(e.getMessage()));
        }
        out().printf("%d rows from %d file(s) -> %s (a bar per engine and layer: the median of its rows)%n", bars.size(),
                files.size(), out);
        return 0;
    }
}
