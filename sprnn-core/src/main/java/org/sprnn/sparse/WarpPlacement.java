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
     * With one unit a warp: each CTA holds a contiguous range of at most W units in index order (the dealt layout's
     * W a CTA from the first, unless ranges chosen to lower the busiest warp scheduler do so:
     * {@link PackedLayer#contiguousCtas}), its rows placed over its four schedulers longest first to the least busy
     * ({@link PackedLayer#spread} within the CTA). Rows of equal length get the {@link #DEALT} layout wherever no
     * ranges even the schedulers better (relu 2304 and 1152 pruned per row); rows as magnitude pruning leaves them keep
     * the contiguity per-row pruning has, where dealing by length scatters them (busiest scheduler at 2304 / 30% per
     * matrix 111 slots against 120 dealt, 110 per row; 1152 / 10% 12 against 15, 12 per row). With more units a warp
     * the same as {@link #DEALT}. Measured (H100, session 20): 2304 / 30% per matrix 2.19–2.21 µs a step against
     * 2.22–2.24 dealt (per row 2.06–2.09), 1152 / 10% no change; session 21 2.26 / 2.23 against 2.28 / 2.27. Opt-in
     * until its full correctness matrix has run on the H100 (sessions 21, 22 and 23 got no device for it).
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
        WarpPlacement[] all = values();
        String choices = java.util.Arrays.stream(all, 0, all.length - 1).map(WarpPlacement::id)
                .collect(java.util.stream.Collectors.joining(", ")) + " or " + all[all.length - 1].id;
        throw new SprnnException("warp placement " + org.sprnn.io.Untrusted.quote(String.valueOf(s)) + ": use " + choices);
    }
}
