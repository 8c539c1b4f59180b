package org.sprnn.prune;

import java.util.Locale;
import org.sprnn.SprnnException;

/**
 * How to prune a model by magnitude. Immutable and validated on construction.
 *
 * @param density             fraction of weights to keep in each pruned matrix, in (0, 1]
 * @param mode                {@link Mode#PER_MATRIX}: keep the {@code round(density * rows * cols)}
 *                            largest |w| of each matrix (at least 1); {@link Mode#PER_ROW}: keep the
 *                            {@code round(density * cols)} largest of every row (at least 1), so every
 *                            row has the same count
 * @param includeInputWeights whether W_ih is pruned too; W_hh always is, biases never
 */
public record PruneSpec(double density, Mode mode, boolean includeInputWeights) {

    /** Where the kept count is applied. */
    public enum Mode {
        /** Keep the largest |w| of each matrix, wherever they are. */
        PER_MATRIX("per-matrix"),
        /** Keep the same number of largest |w| in every row. */
        PER_ROW("per-row");

        private final String id;

        Mode(String id) {
            this.id = id;
        }

        /**
         * The name used by the CLI, e.g. {@code per-row}.
         *
         * @return the id
         */
        public String id() {
            return id;
        }

        /**
         * Parses {@code per-matrix} or {@code per-row} (case-insensitive, {@code _} accepted for {@code -}).
         *
         * @param s the text to parse
         * @return the mode
         * @throws SprnnException naming the value and the accepted ones
         */
        public static Mode parse(String s) {
            if (s != null) {
                String key = s.trim().toLowerCase(Locale.ROOT).replace('_', '-');
                for (Mode m : values()) {
                    if (m.id.equals(key)) {
                        return m;
                    }
                }
            }
            throw new SprnnException("--mode: expected per-matrix or per-row, got '" + s + "'");
        }

        @Override
        public String toString() {
            return id;
        }
    }

    /**
     * Validates the density and the mode.
     *
     * @throws SprnnException naming {@code --density} or {@code --mode}
     */
    public PruneSpec {
        if (!(density > 0 && density <= 1)) {
            throw new SprnnException("--density: must be in (0, 1], got " + density);
        }
        if (mode == null) {
            throw new SprnnException("--mode: missing (per-matrix or per-row)");
        }
    }
}
