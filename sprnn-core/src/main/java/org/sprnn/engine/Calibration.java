package org.sprnn.engine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The measured shapes behind {@link CostModel}: one row per engine and shape ({@code engine,gates,hidden,batch,density,
 * us_per_step}), read once from a resource of this package, and the correction they give an engine's analytic term
 * at any shape. The resource ships inside the jar (it is not user input), but it is read with bounds all the same: at
 * most {@link #MAX_ROWS} rows, every field checked; a table that cannot be read leaves every correction at 1.
 */
final class Calibration {
    /** At most this many rows are read. */
    static final int MAX_ROWS = 100_000;
    /** The inverse-distance weights' power (the fallback where no bracketing corner was measured). */
    private static final double POWER = 3;

    /** One measured shape. */
    record Row(String engine, int gates, int hidden, int batch, double density, double micros) {
    }

    private final List<Row> rows;

    Calibration(List<Row> rows) {
        this.rows = List.copyOf(rows);
    }

    /** The rows, in the resource's order. */
    List<Row> rows() {
        return rows;
    }

    /**
     * Reads a resource of this package; a missing or malformed table gives an empty calibration (corrections of 1).
     *
     * @param resource the file name beside this class
     * @return the table
     */
    static Calibration load(String resource) {
        try (InputStream in = Calibration.class.getResourceAsStream(resource)) {
            if (in == null) {
                return new Calibration(List.of());
            }
            return parse(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)));
        } catch (IOException | RuntimeException e) {
            System.getLogger("org.sprnn").log(System.Logger.Level.WARNING, "the cost model's table " + resource
                    + " could not be read (" + e.getMessage() + "): predictions are the analytic terms alone");
            return new Calibration(List.of());
        }
    }

    /** Parses the CSV: '#' comment lines, one header line, then rows; throws IllegalArgumentException on a bad row. */
    static Calibration parse(BufferedReader reader) throws IOException {
        List<Row> rows = new ArrayList<>();
        boolean header = false;
        String line;
        int n = 0;
        while ((line = reader.readLine()) != null) {
            n++;
            line = line.strip(); // a checkout with CRLF line ends
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            if (!header) {
                if (!line.equals("engine,gates,hidden,batch,density,us_per_step")) {
                    throw new IllegalArgumentException("line " + n + ": not the calibration header");
                }
                header = true;
                continue;
            }
            if (rows.size() >= MAX_ROWS) {
                throw new IllegalArgumentException("more than " + MAX_ROWS + " rows");
            }
            String[] f = line.split(",", -1);
            if (f.length != 6) {
                throw new IllegalArgumentException("line " + n + ": expected 6 fields");
            }
            Row r = new Row(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                    Double.parseDouble(f[4]), Double.parseDouble(f[5]));
            if (r.gates() < 1 || r.hidden() < 1 || r.batch() < 1 || !(r.density() > 0 && r.density() <= 1)
                    || !(r.micros() > 0 && r.micros() < 1e9)) {
                throw new IllegalArgumentException("line " + n + ": a field out of range");
            }
            rows.add(r);
        }
        return new Calibration(rows);
    }

    /**
     * The factor an engine's analytic term is multiplied by at a shape: exp of log(measured / analytic) interpolated
     * multilinearly over the engine's measured grid, in log gates, log hidden, log batch and log density, between the
     * measured values that bracket the query on each axis (clamped at the grid's edges, so beyond it the nearest
     * edge's ratio carries the analytic trend). A corner the engine could not run (capacity) is left out and the
     * others' weights renormalised; where no corner is left, the inverse-distance-weighted mean over every row. The
     * measured ratio itself at a measured shape; 1 where the engine has no rows.
     *
     * @param densityMatters false for the engines whose work does not depend on W_hh's density (dense kernels): the
     *                       density axis is dropped and a corner's ratio is the mean over its rows at every density
     */
    double correction(String engine, CostModel.Analytic analytic, int gates, int hidden, int batch, double density,
                      boolean densityMatters) {
        List<Row> mine = rows.stream().filter(r -> r.engine().equals(engine)).toList();
        if (mine.isEmpty()) {
            return 1;
        }
        double[] gs = axis(mine, Row::gates);
        double[] hs = axis(mine, Row::hidden);
        double[] bs = axis(mine, Row::batch);
        double[] ds = densityMatters ? axis(mine, Row::density) : new double[] {density};
        double[] bg = bracket(gs, gates);
        double[] bh = bracket(hs, hidden);
        double[] bb = bracket(bs, batch);
        double[] bd = bracket(ds, density);
        double sumW = 0;
        double sumWLog = 0;
        for (int corner = 0; corner < 16; corner++) {
            double w = weight(bg, corner & 1) * weight(bh, (corner >> 1) & 1) * weight(bb, (corner >> 2) & 1)
                    * weight(bd, (corner >> 3) & 1);
            if (w == 0) {
                continue;
            }
            double g = value(bg, corner & 1);
            double h = value(bh, (corner >> 1) & 1);
            double b = value(bb, (corner >> 2) & 1);
            double d = value(bd, (corner >> 3) & 1);
            int n = 0;
            double logSum = 0;
            for (Row r : mine) {
                if (r.gates() == g && r.hidden() == h && r.batch() == b && (!densityMatters || r.density() == d)) {
                    logSum += logRatio(r, analytic);
                    n++;
                }
            }
            if (n > 0) {
                sumW += w;
                sumWLog += w * logSum / n;
            }
        }
        if (sumW > 0) {
            return Math.exp(sumWLog / sumW);
        }
        double idwW = 0;
        double idwLog = 0;
        for (Row r : mine) {
            double dist = Math.max(1e-6, distance(r, gates, hidden, batch, densityMatters ? density : r.density()));
            double w = Math.pow(dist, -POWER);
            idwW += w;
            idwLog += w * logRatio(r, analytic);
        }
        return Math.exp(idwLog / idwW);
    }

    /** log(measured / analytic) at a measured shape. */
    private static double logRatio(Row r, CostModel.Analytic analytic) {
        return Math.log(r.micros() / analytic.at(r.gates(), r.hidden(), r.batch(), r.density()));
    }

    /** The distinct values of one field, ascending. */
    private static double[] axis(List<Row> rows, java.util.function.ToDoubleFunction<Row> field) {
        return rows.stream().mapToDouble(field).distinct().sorted().toArray();
    }

    /** {lower value, upper value, the upper one's weight}: log-linear between the values around x, clamped at the ends. */
    static double[] bracket(double[] axis, double x) {
        if (x <= axis[0]) {
            return new double[] {axis[0], axis[0], 0};
        }
        if (x >= axis[axis.length - 1]) {
            return new double[] {axis[axis.length - 1], axis[axis.length - 1], 0};
        }
        int i = 0;
        while (axis[i + 1] < x) {
            i++;
        }
        double t = Math.log(x / axis[i]) / Math.log(axis[i + 1] / axis[i]);
        return new double[] {axis[i], axis[i + 1], t};
    }

    private static double weight(double[] bracket, int upper) {
        return upper == 1 ? bracket[2] : 1 - bracket[2];
    }

    private static double value(double[] bracket, int upper) {
        return upper == 1 ? bracket[1] : bracket[0];
    }

    /**
     * Distance between a measured shape and a query, in units near one grid step each: log2 of hidden, log4 of the
     * batch, log of the density over log 3, log2 of the gate count (rnn 1, GRU 3, LSTM 4).
     */
    static double distance(Row r, int gates, int hidden, int batch, double density) {
        double dh = log2((double) hidden / r.hidden());
        double db = log2((double) batch / r.batch()) / 2;
        double dd = Math.log(density / r.density()) / Math.log(3);
        double dg = log2((double) gates / r.gates());
        return Math.sqrt(dh * dh + db * db + dd * dd + dg * dg);
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }
}
