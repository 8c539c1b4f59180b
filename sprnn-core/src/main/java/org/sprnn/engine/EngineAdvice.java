package org.sprnn.engine;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Every engine for one model, options and machine: feasible or not and why, its predicted and (after a trial)
 * measured cost per timestep, and the one {@code auto} takes with the reason. What {@code sprnn explain} prints.
 *
 * @param rows   one per engine, in the provider's order
 * @param chosen the engine {@code auto} takes, or {@code null} where none can run the model
 * @param reason why that one
 */
public record EngineAdvice(List<Row> rows, String chosen, String reason) {
    /** Copies the rows, which the record then holds unmodifiable. */
    public EngineAdvice {
        rows = List.copyOf(rows);
    }

    /**
     * One engine.
     *
     * @param engine      its name
     * @param unavailable why it cannot run this model here, or {@code null} where it can
     * @param predicted   the cost model's figure, or {@code null} where the engine has none
     * @param measured    a trial's figure (this run's or the tuning cache's), or {@code null}
     * @param rank        its fallback order where no figure decides
     */
    public record Row(String engine, String unavailable, StepCost predicted, StepCost measured, int rank) {
        /**
         * Whether the engine can run the model here.
         *
         * @return {@code true} where {@link #unavailable()} is {@code null}
         */
        public boolean feasible() {
            return unavailable == null;
        }

        /**
         * The figure {@code auto} goes by: the measurement where there is one, else the prediction.
         *
         * @return the measured figure, else the predicted one, else empty
         */
        public Optional<StepCost> cost() {
            return Optional.ofNullable(measured != null ? measured : predicted);
        }
    }

    /**
     * The row of that engine.
     *
     * @param engine the engine's name
     * @return its row, or empty for a name no row has
     */
    public Optional<Row> row(String engine) {
        return rows.stream().filter(r -> r.engine().equals(engine)).findFirst();
    }

    /**
     * A table for people: engine, feasible, predicted and measured µs per step, and why not, then the choice.
     *
     * @return the table, lines ending in newlines
     */
    public String toTable() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-24s %-9s %14s %14s  %s%n", "engine", "feasible", "predicted µs", "measured µs", "notes"));
        for (Row r : rows) {
            String note = r.feasible() ? (r.engine().equals(chosen) ? "<- chosen" : "")
                    : r.unavailable() + (r.predicted() != null ? " (predicted: on an H100, assumed)" : "");
            sb.append(String.format(Locale.ROOT, "%-24s %-9s %14s %14s  %s%n", r.engine(), r.feasible() ? "yes" : "no",
                    figure(r.predicted()), figure(r.measured()), note));
        }
        sb.append(chosen == null ? "no engine can run this model here" : "auto: " + chosen + " (" + reason + ")").append('\n');
        return sb.toString();
    }

    private static String figure(StepCost c) {
        return c == null ? "-" : String.format(Locale.ROOT, "%.2f", c.microsPerStep());
    }
}
