package org.sprnn.sparse;

import java.util.Locale;
import org.sprnn.SprnnException;

/**
 * Where balanced dealing's warps sit among the CTAs' warp positions (grid layouts; a cluster's CTAs hold contiguous
 * units already). The time a step's arithmetic takes is set by the busiest of each SM's four warp schedulers (warp
 * {@code j} of a CTA issues on scheduler {@code j % 4}), the timestamped exchange's by how the units a CTA publishes lie
 * in h; the placements trade one against the other. Only {@link PackedLayer#pack}'s balanced grid layouts take it: a
 * cluster's CTAs, the grid barrier's contiguous CTAs where they cost no slot, and the shared-tail layouts
 * ({@link PackedLayer#packTail}, {@link PackedLayer#packCtaTail}) place their warps themselves.
 */
public enum WarpPlacement {
    /**
     * In the order the dealing filled them (the longest first; with one unit a warp and rows of equal length, unit
     * {@code w} in warp {@code w}, the empty warps in the last CTAs). The default: the placement every measured
     * figure before session 19 used.
     */
    DEALT("dealt"),
    /**
     * Every warp scheduler of every SM issuing about the same slots ({@link PackedLayer#spread}): the longest warp first
     * to the scheduler with the fewest slots. Measured slower (H100, session 19): relu 2304 / 30% per row 2.55 against
     * 2.11 µs a step, 1152 / 10% 1.94 against 1.23 — a CTA's units then lie all over h, and every CTA polls.
     */
    SPREAD("spread"),
    /**
     * With one unit a warp: CTA {@code c} holds the units {@code c x W .. c x W + W - 1} as dealing in index order
     * would (each CTA's units contiguous in h, the empty warps in the last CTAs), its rows placed over its four
     * schedulers longest first to the least busy ({@link PackedLayer#spread} within the CTA). Rows of equal length get
     * the {@link #DEALT} layout; rows as magnitude pruning leaves them keep the contiguity per-row pruning has, where
     * dealing by length scatters them. With more units a warp the same as {@link #DEALT}. Not yet measured on a GPU.
     */
    CTA("cta");

    private final String id;

    WarpPlacement(String id) {
        this.id = id;
    }

    /** The name in options and environment variables. */
    public String id() {
        return id;
    }

    /**
     * Parses {@link #id()}.
     *
     * @throws SprnnException naming the value (escaped) and the choices
     */
    public static WarpPlacement parse(String s) {
        for (WarpPlacement p : values()) {
            if (p.id.equals(s == null ? null : s.strip().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new SprnnException("warp placement " + org.sprnn.io.Untrusted.quote(String.valueOf(s)) + ": use dealt, spread or cta");
    }
}
