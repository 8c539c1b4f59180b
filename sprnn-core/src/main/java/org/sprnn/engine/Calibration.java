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
    /** The inverse-distance weights' power: the nearest measured shapes dominate. */
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
     * The factor an engine's analytic term is multiplied by at a shape: exp of the inverse-distance-weighted mean of
     * log(measured / analytic) over the engine's measured shapes; at a measured shape the (geometric mean of the)
     * measured ratio there, 1 where the engine has no rows.
     *
     * @param densityMatters false for the engines whose work does not depend on W_hh's density (dense kernels): the
     *                       density is then left out of the distance, so their rows at every density count alike
     */
    double correction(String engine, CostModel.Analytic analytic, int gates, int hidden, int batch, double density,
                      boolean densityMatters) {
        double sumW = 0;
        double sumWLog = 0;
        int exact = 0;
        double exactLog = 0;
        for (Row r : rows) {
            if (!r.engine().equals(engine)) {
                continue;
            }
            double logRatio = Math.log(r.micros() / analytic.at(r.gates(), r.hidden(), r.batch(), r.density()));
            double d = distance(r, gates, hidden, batch, densityMatters ? density : r.density());
            if (d < 1e-6) {
                exact++;
                exactLog += logRatio;
                continue;
            }
            double w = Math.pow(d, -POWER);
            sumW += w;
            sumWLog += w * logRatio;
        }
        if (exact > 0) {
            return Math.exp(exactLog / exact);
        }
        return sumW == 0 ? 1 : Math.exp(sumWLog / sumW);
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
