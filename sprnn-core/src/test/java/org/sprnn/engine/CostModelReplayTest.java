package org.sprnn.engine;

// The cost model's choices replayed on committed `sprnn bench grid` runs (results/suite/session10, and session12's last
// four LSTM 4608 points on fresh seeds): at each point,
// among the engines that were timed there, the one with the least predicted µs per step is auto's choice; it must be
// within 10% of the fastest measured. The calibration runs (run1, run2) are in-sample; the validation runs (a fresh
// seed, and shapes off the calibration grid) are not.

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CostModelReplayTest {
    private static final Path RESULTS = Path.of("..", "results", "suite", "session10");
    private static final Map<String, Integer> GATES = Map.of("rnn_relu", 1, "rnn_tanh", 1, "gru", 3, "lstm", 4);

    @ParameterizedTest
    @ValueSource(strings = {"run1/g/grid/grid.csv", "run2/g/grid/grid.csv", "run3/v1/grid/grid.csv", "run3/v2/grid/grid.csv",
        "run4/v3/grid/grid.csv", "../session12/run1/g1/grid/grid.csv", "../session12/run2/g2/grid/grid.csv",
        "../session12/run3/g3/grid/grid.csv"})
    void autoIsWithinTenPercentOfTheFastestAtEveryPointOfARecordedGrid(String file) throws IOException {
        List<String> misses = replay(RESULTS.resolve(file), 0.10);
        assertThat(misses).as("points where the cost model's pick is more than 10%% slower than the fastest").isEmpty();
    }

    @org.junit.jupiter.api.Test
    void offTheGridTheModelStillPicksWellAtMostPoints() throws IOException {
        // gru (a gate count the grid lacks) and rnn_tanh at hidden 768 and 1536, batch 2 and 8, density 5%: no row of
        // this run is in the calibration. Measured: 7 of 8 within 10%; the miss is rnn_tanh 768 batch 8, where cuDNN
        // (2.05 µs) beats the sparse kernel (2.31): cuDNN switches kernels between the measured batches 4 and 16.
        List<String> misses = replay(RESULTS.resolve("run3/off/grid/grid.csv"), 0.10);
        assertThat(misses).hasSizeLessThanOrEqualTo(1);
        assertThat(replay(RESULTS.resolve("run3/off/grid/grid.csv"), 0.15)).isEmpty();
    }

    /** The points of a grid.csv where the cost model's pick among the timed engines misses the fastest by more than slack. */
    static List<String> replay(Path csv, double slack) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        List<String> header = List.of(lines.get(0).split(","));
        int cell = header.indexOf("cell"), hidden = header.indexOf("hidden"), batch = header.indexOf("batch");
        int density = header.indexOf("density"), engine = header.indexOf("engine"), us = header.indexOf("us_per_step_median");
        Map<String, Map<String, Double>> points = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            if (f[us].isEmpty()) {
                continue;
            }
            String key = f[cell] + " " + f[hidden] + " " + f[batch] + " " + f[density];
            points.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(f[engine], Double.parseDouble(f[us]));
        }
        List<String> misses = new ArrayList<>();
        for (var p : points.entrySet()) {
            String[] k = p.getKey().split(" ");
            int g = GATES.get(k[0]);
            String pick = null;
            double best = Double.POSITIVE_INFINITY;
            for (String e : p.getValue().keySet()) {
                double pred = CostModel.predict(e, g, Integer.parseInt(k[1]), Integer.parseInt(k[2]), Double.parseDouble(k[3]));
                if (pred < best) {
                    best = pred;
                    pick = e;
                }
            }
            double fastest = p.getValue().values().stream().mapToDouble(Double::doubleValue).min().orElseThrow();
            double ratio = p.getValue().get(pick) / fastest;
            if (ratio > 1 + slack) {
                misses.add(String.format(Locale.ROOT, "%s: %s %.2fx %s", p.getKey(), pick, ratio, p.getValue()));
            }
        }
        return misses;
    }
}
