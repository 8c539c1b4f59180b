package org.sprnn.prune;

import java.util.Locale;
import org.sprnn.SprnnException;

/**
 * How to prune a model by magnitude. Immutable and validated on construction.
 *
 * <p>The modes differ only in where the kept count is applied; within each unit the weights of largest |w| are
 * kept, ties to the lower row-major index:
 * <ul>
 *   <li>{@link Mode#PER_MATRIX}: keep the {@code round(density * rows * cols)} largest |w| of each matrix (at least 1);</li>
 *   <li>{@link Mode#PER_ROW}: keep the {@code round(density * cols)} largest of every row (at least 1), so every row
 *       has the same count;</li>
 *   <li>{@link Mode#BALANCED}: rows in groups of {@code group} consecutive rows (the last group may be shorter), each
 *       group of n rows keeping {@code B = clamp(round(density * n * cols), n, n * cols)} weights; every row keeps
 *       {@code k = B / n} and the {@code B mod n} rows whose (k+1)-th largest |w| is largest (ties to the lower row)
 *       keep one more, so the rows of a group differ by at most one and the kept weights have the largest sum of |w|
 *       any such choice allows;</li>
 *   <li>{@link Mode#BANK_BALANCED}: each row's columns split into {@value #BANKS} banks by {@code col mod 32}; every
 *       bank of every row keeps its {@code k = max(1, round(density * cols / 32))} largest |w| (all of a bank with
 *       {@code k} or fewer columns), so a warp reading one row meets each shared-memory bank equally often.</li>
 * </ul>
 * {@code round} is {@link Math#round(double)} (halves up).
 *
 * @param density             fraction of weights to keep in each pruned matrix, in (0, 1]
 * @param mode                where the kept count is applied (see above)
 * @param includeInputWeights whether W_ih is pruned too; W_hh always is, biases never
 * @param group               rows per group for {@link Mode#BALANCED}, at least 1 (the other modes ignore it);
 *                            {@value #DEFAULT_GROUP} by default, the rows a warp of the persistent kernel shares
 */
public record PruneSpec(double density, Mode mode, boolean includeInputWeights, int group) {

    /** The default {@link #group()}: 32 rows, one warp's worth. */
    public static final int DEFAULT_GROUP = 32;

    /** Shared-memory banks, the column classes of {@link Mode#BANK_BALANCED}. */
    public static final int BANKS = 32;

    /** Where the kept count is applied. */
    public enum Mode {
        /** Keep the largest |w| of each matrix, wherever they are. */
        PER_MATRIX("per-matrix"),
        /** Keep the same number of largest |w| in every row. */
        PER_ROW("per-row"),
        /** Keep the same number (within one) of largest |w| in every row of a group of rows. */
        BALANCED("balanced"),
        /** Keep the same number of largest |w| in every bank (column mod 32) of every row. */
        BANK_BALANCED("bank-balanced");

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
         * Parses {@code per-matrix}, {@code per-row}, {@code balanced} or {@code bank-balanced} (case-insensitive,
         * {@code _} accepted for {@code -}).
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
            throw new SprnnException("--mode: expected per-matrix, per-row, balanced or bank-balanced, got '" + s + "'");
        }

        @Override
        public String toString() {
            return id;
        }
    }

    /**
     * Validates the density, the mode and the group.
     *
     * @throws SprnnException naming {@code --density}, {@code --mode} or {@code --group}
     */
    public PruneSpec {
        if (!(density > 0 && density <= 1)) {
            throw new SprnnException("--density: must be in (0, 1], got " + density);
        }
        if (mode == null) {
            throw new SprnnException("--mode: missing (per-matrix, per-row, balanced or bank-balanced)");
        }
        if (group < 1) {
            throw new SprnnException("--group: rows per group must be at least 1, got " + group);
        }
    }

    /**
     * A spec with the default group of {@value #DEFAULT_GROUP} rows.
     *
     * @param density             fraction of weights to keep, in (0, 1]
     * @param mode                where the kept count is applied
     * @param includeInputWeights whether W_ih is pruned too
     * @throws SprnnException naming {@code --density} or {@code --mode}
     */
    public PruneSpec(double density, Mode mode, boolean includeInputWeights) {
        this(density, mode, includeInputWeights, DEFAULT_GROUP);
    }
}
