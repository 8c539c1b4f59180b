package org.sprnn.sparse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;
import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.model.CellType;

/**
 * One layer's {@code W_hh} packed for the sparse persistent kernel: hidden units dealt to warps, each warp's
 * rows laid out lane x slot in packed words, with everything the kernel reads besides.
 *
 * <p>Dealing: the unit is a hidden unit with its {@code G} gate rows (1 for relu/tanh, 3 GRU, 4 LSTM), so
 * a unit's gates meet in one warp and the cell update needs no exchange. A row of {@code k} nonzeros costs
 * {@code max(1, ceil(k/32))} slots per lane; balanced dealing gives each unit, largest first, to the warp
 * with the fewest slots so far (longest-processing-time first); naive dealing gives warp {@code w} the
 * units {@code [w*H/W, (w+1)*H/W)}. Every warp is padded to {@code slotsPerLane} = the most slots any warp
 * got, with zero words reading zero column {@code H}.
 *
 * <p>Split weights (an option, off by default): each nonzero {@code w} becomes two words of the same column, the
 * 16-bit rounding of {@code w} and that of its residual ({@link Precision#encodeResidual}), adjacent in the
 * row before ordering. The kernel sums value x activation over a row's words, so it computes with
 * {@code hi + lo} (within {@code 2^-22 |w|} for fp16) instead of {@code hi} (within {@code 2^-11 |w|}) and needs no
 * change; a row of {@code k} nonzeros then holds {@code 2k} words and costs {@code max(1, ceil(2k/32))} slots per
 * lane. The two words of a column read the same address (a broadcast where they share a lane group); the
 * bank-aware order is computed on the {@code 2k} words and, as always, kept only where it beats the natural
 * order, which keeps each pair in adjacent lanes.
 *
 * @param cell the cell (gate rows per unit)
 * @param hidden {@code H}
 * @param batch the batch the layout was ordered for
 * @param warps total warps {@code W} over all CTAs
 * @param slotsPerLane {@code S}: words per lane per warp
 * @param unitsPerWarp {@code U}: the most units any warp holds
 * @param words {@code [W][S][32]} packed words ({@link PackedWord}), slot-major within a warp so a slot
 *     column is 32 consecutive words
 * @param rowEnds {@code [W][U*G]} per warp, the slot at which each of its rows ends (ascending), -1 after
 *     the warp's last row
 * @param warpUnits {@code [W][U]} per warp, its hidden units in row order (row {@code i} of the warp is
 *     gate {@code i % G} of unit {@code warpUnits[i / G]}), -1 padded
 * @param stats balance and bank-conflict figures
 * @param splitWeights each nonzero is two words (hi and lo), see the class comment
 * @param dense the dense layout of {@link #packDense}: every row whole, two weights a word, no column index
 * @param tailSlots {@code T > 0} for the layout of {@link #packTail}: each warp's first {@code T} slots a tail its rows
 *     share lane by lane, then every row the same slots; 0 otherwise
 * @param tailRows {@code [W][32]} with a tail, the warp-local row ({@code 0 .. U*G-1}) whose words lane {@code l}'s tail
 *     slots hold, -1 for a lane of padding; with a CTA tail ({@code tailEntries > 0}) {@code [W][K][32]}: for the warp's
 *     row, the tail lanes whose sums its lane {@code l} adds as entry {@code k}, each as global warp x 32 + lane (a lane
 *     of a warp of the same CTA), -1 none; empty without a tail
 * @param tailEntries {@code K > 0} for the layout of {@link #packCtaTail} (one row a warp, a tail the CTA's rows share),
 *     0 otherwise
 */
public record PackedLayer(CellType cell, int hidden, int batch, int warps, int slotsPerLane, int unitsPerWarp,
                          int[] words, int[] rowEnds, int[] warpUnits, Stats stats, boolean splitWeights, boolean dense,
                          int tailSlots, int[] tailRows, int tailEntries) {

    /** A layout without a CTA tail ({@link #tailEntries} 0). */
    public PackedLayer(CellType cell, int hidden, int batch, int warps, int slotsPerLane, int unitsPerWarp,
                       int[] words, int[] rowEnds, int[] warpUnits, Stats stats, boolean splitWeights, boolean dense,
                       int tailSlots, int[] tailRows) {
        this(cell, hidden, batch, warps, slotsPerLane, unitsPerWarp, words, rowEnds, warpUnits, stats, splitWeights, dense,
                tailSlots, tailRows, 0);
    }

    /** A layout without a tail. */
    public PackedLayer(CellType cell, int hidden, int batch, int warps, int slotsPerLane, int unitsPerWarp,
                       int[] words, int[] rowEnds, int[] warpUnits, Stats stats, boolean splitWeights, boolean dense) {
        this(cell, hidden, batch, warps, slotsPerLane, unitsPerWarp, words, rowEnds, warpUnits, stats, splitWeights, dense, 0, new int[0]);
    }

    /** A sparse layout ({@link #pack}). */
    public PackedLayer(CellType cell, int hidden, int batch, int warps, int slotsPerLane, int unitsPerWarp,
                       int[] words, int[] rowEnds, int[] warpUnits, Stats stats, boolean splitWeights) {
        this(cell, hidden, batch, warps, slotsPerLane, unitsPerWarp, words, rowEnds, warpUnits, stats, splitWeights, false);
    }

    /** Weights one dense word holds ({@link PackedWord#packPair}). */
    public static final int DENSE_WEIGHTS_PER_WORD = 2;

    /** Columns one slot of a dense row covers over the warp's 32 lanes: 32 words of two weights. */
    public static final int DENSE_COLUMNS_PER_SLOT = 32 * DENSE_WEIGHTS_PER_WORD;

    /** Slots per lane of one dense row of {@code hidden} weights: {@code ceil(hidden / 64)} (zero weights past hidden). */
    public static int denseRowSlots(int hidden) {
        return (hidden + DENSE_COLUMNS_PER_SLOT - 1) / DENSE_COLUMNS_PER_SLOT;
    }

    /** Slots per lane of each hidden unit in the dense layout: {@code G x denseRowSlots(hidden)}, the same for every unit. */
    public static int[] denseUnitSlots(int hidden, CellType cell) {
        int[] u = new int[hidden];
        Arrays.fill(u, cell.gates() * denseRowSlots(hidden));
        return u;
    }

    /**
     * Packs {@code whh} ({@code [G*H][H]}; absent entries are zeros) densely for {@code SPRNN_DENSE}: units dealt to warps
     * as {@link #pack} deals them (gate rows of a unit in one warp; balanced or naive; per CTA contiguous or not), every
     * warp given {@code U} units (the most any warp got; the others' rows zero words with unit -1), so
     * {@code S = U x G x ceil(H/64)} for every warp and every row ends at a fixed slot. Row {@code r}'s word {@code q}
     * (columns {@code 2q}, {@code 2q + 1}, {@link PackedWord#packPair}) sits in lane {@code q % 32} at slot
     * {@code q / 32} of the row's {@code ceil(H/64)} slots; weights past {@code H} are zero.
     */
    public static PackedLayer packDense(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                        boolean balanced, Precision format) {
        if (ctas < 1 || warps < 1 || warps % ctas != 0) {
            throw new SprnnException("pack dense: warps " + warps + " must be a positive multiple of ctas " + ctas);
        }
        int h = whh.cols();
        int gates = cell.gates();
        if (whh.rows() != gates * h) {
            throw new SprnnException("pack dense: W_hh has " + whh.rows() + " rows, a " + cell.id() + " layer of hidden " + h + " needs " + gates * h);
        }
        int l = denseRowSlots(h);
        List<List<Integer>> dealt = deal(denseUnitSlots(h, cell), batch, ctas, warps, ctaContiguous, balanced, WarpPlacement.DEALT);
        int upw = 1;
        long maxNnz = 0;
        for (List<Integer> units : dealt) {
            upw = Math.max(upw, units.size());
        }
        int slots = upw * gates * l;
        long wordsLong = (long) warps * slots * 32;
        if (wordsLong > Integer.MAX_VALUE - 16) {
            throw new SprnnException("pack dense: " + wordsLong + " words do not fit one array");
        }
        int[] words = new int[(int) wordsLong]; // zero words: +0.0 in both fp16 and bf16
        int[] rowEnds = new int[warps * upw * gates];
        int[] warpUnits = new int[warps * upw];
        Arrays.fill(warpUnits, -1);
        float[] row = new float[l * DENSE_COLUMNS_PER_SLOT];
        for (int w = 0; w < warps; w++) {
            List<Integer> units = dealt.get(w);
            long nnz = 0;
            for (int i = 0; i < upw * gates; i++) {
                rowEnds[w * upw * gates + i] = (i + 1) * l - 1;
            }
            for (int i = 0; i < units.size(); i++) {
                int u = units.get(i);
                warpUnits[w * upw + i] = u;
                for (int g = 0; g < gates; g++) {
                    int r = g * h + u;
                    Arrays.fill(row, 0f);
                    int[] cols = whh.rowColumns(r);
                    float[] vals = whh.rowValues(r);
                    for (int n = 0; n < cols.length; n++) {
                        row[cols[n]] = vals[n];
                    }
                    nnz += cols.length;
                    int j0 = (i * gates + g) * l;
                    for (int q = 0; q < l * 32; q++) {
                        words[(w * slots + j0 + q / 32) * 32 + q % 32] = PackedWord.packPair(row[2 * q], row[2 * q + 1], format);
                    }
                }
            }
            maxNnz = Math.max(maxNnz, nnz);
        }
        // every load of a dense row is 32 lanes x 2 columns x the padded batch, contiguous: the fewest wavefronts its bytes allow
        long loads = (long) warps * upw * gates * l;
        int perLoad = Math.max(1, 32 * 2 * 2 * SharedMemoryBanks.paddedBatch(batch) / 128);
        Stats stats = new Stats(whh.nnz(), maxNnz, whh.nnz() / (double) warps, slots, loads, loads * perLoad, perLoad,
                loads * perLoad, perLoad, loads * perLoad);
        return new PackedLayer(cell, h, batch, warps, slots, upw, words, rowEnds, warpUnits, stats, false, true);
    }

    /**
     * The weights a dense layout holds, {@code [G*H][H]} row-major as float32 (each rounded to {@code format}): the
     * inverse of {@link #packDense} (for its tests). Throws if a weight past {@code H} or of a padding row is not zero,
     * or a row is held twice or not at all.
     */
    public float[] unpackDense(Precision format) {
        if (!dense) {
            throw new SprnnException("unpackDense: not a dense layout");
        }
        int h = hidden;
        int gates = cell.gates();
        int l = denseRowSlots(h);
        float[] out = new float[gates * h * h];
        boolean[] seen = new boolean[gates * h];
        for (int w = 0; w < warps; w++) {
            for (int i = 0; i < unitsPerWarp * gates; i++) {
                int u = warpUnits[w * unitsPerWarp + i / gates];
                int r = u < 0 ? -1 : (i % gates) * h + u;
                if (r >= 0) {
                    if (seen[r]) {
                        throw new SprnnException("unpackDense: row " + r + " held twice");
                    }
                    seen[r] = true;
                }
                for (int q = 0; q < l * 32; q++) {
                    int word = words[(w * slotsPerLane + i * l + q / 32) * 32 + q % 32];
                    for (int e = 0; e < 2; e++) {
                        int c = 2 * q + e;
                        float v = e == 0 ? PackedWord.pairLo(word, format) : PackedWord.pairHi(word, format);
                        if (r >= 0 && c < h) {
                            out[r * h + c] = v;
                        } else if ((e == 0 ? (word & 0xFFFF) : (word >>> 16)) != 0) {
                            throw new SprnnException("unpackDense: nonzero padding at warp " + w + " row " + i + " column " + c);
                        }
                    }
                }
            }
        }
        for (int r = 0; r < seen.length; r++) {
            if (!seen[r]) {
                throw new SprnnException("unpackDense: row " + r + " missing");
            }
        }
        return out;
    }

    /**
     * What the layout costs.
     *
     * @param nonzeros real nonzeros (with split weights, half the words that hold them)
     * @param maxNonzerosPerWarp most real nonzeros in one warp
     * @param meanNonzerosPerWarp mean over warps
     * @param meanSlotsPerWarp mean slots (per lane) used over warps; {@code slotsPerLane} is the max
     * @param loads warp loads per step of all rows (slot columns holding a row)
     * @param wavefrontsNatural total wavefronts of those loads in natural order
     * @param worstNatural worst wavefronts of one load in natural order
     * @param wavefronts total wavefronts in the layout's order
     * @param worst worst wavefronts of one load in the layout's order
     * @param lowerBound sum over rows of the per-row lower bound ({@link BankAwareOrder#lowerBound}; with split
     *     weights, of the row's {@code 2k} words taken as distinct columns, which the layout can beat where the two
     *     words of a column share a lane group)
     */
    public record Stats(long nonzeros, long maxNonzerosPerWarp, double meanNonzerosPerWarp, double meanSlotsPerWarp,
                        long loads, long wavefrontsNatural, int worstNatural, long wavefronts, int worst, long lowerBound) {
        /** Max over mean nonzeros per warp (1.0 = perfect balance). */
        public double imbalance() {
            return meanNonzerosPerWarp == 0 ? 1.0 : maxNonzerosPerWarp / meanNonzerosPerWarp;
        }
    }

    /**
     * Packs {@code whh} ({@code [G*H][H]}, PyTorch row order).
     *
     * @param warps total warps over all CTAs
     * @param balanced balanced (LPT) dealing, else naive contiguous split
     * @param bankAware order each row with {@link BankAwareOrder}, else natural order
     * @param wideLoads whether the kernel loads a column's batch in one access (changes the bank model)
     */
    public static PackedLayer pack(CsrMatrix whh, CellType cell, int batch, int warps, boolean balanced,
                                   boolean bankAware, boolean wideLoads, Precision format) {
        return pack(whh, cell, batch, 1, warps, false, balanced, bankAware, wideLoads, format);
    }

    /**
     * Packs {@code whh} for {@code ctas} CTAs of {@code warps / ctas} warps. With {@code ctaContiguous}, each CTA
     * owns one contiguous range of hidden units (split where the running slot count crosses an even share,
     * at multiples of {@code max(1, 16 / rowBytes)} units so a CTA's block of {@code h_t} is 16-byte aligned
     * in shared memory); units are then dealt to that CTA's warps (balanced or naive). The cluster exchange
     * pushes each CTA's block with 16-byte stores.
     */
    public static PackedLayer pack(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                   boolean balanced, boolean bankAware, boolean wideLoads, Precision format) {
        return pack(whh, cell, batch, ctas, warps, ctaContiguous, balanced, bankAware, wideLoads, format, false);
    }

    /** As {@link #pack(CsrMatrix, CellType, int, int, int, boolean, boolean, boolean, boolean, Precision)}, with split weights or not. */
    public static PackedLayer pack(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                   boolean balanced, boolean bankAware, boolean wideLoads, Precision format,
                                   boolean splitWeights) {
        return pack(whh, cell, batch, ctas, warps, ctaContiguous, balanced, bankAware, wideLoads, format, splitWeights,
                WarpPlacement.DEALT);
    }

    /**
     * As {@link #pack(CsrMatrix, CellType, int, int, int, boolean, boolean, boolean, boolean, Precision, boolean)}; with
     * {@code placement} where balanced warps sit among the CTAs' positions ({@link WarpPlacement}).
     */
    public static PackedLayer pack(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                   boolean balanced, boolean bankAware, boolean wideLoads, Precision format,
                                   boolean splitWeights, WarpPlacement placement) {
        if (ctas < 1 || warps % ctas != 0) {
            throw new SprnnException("pack: warps " + warps + " must be a multiple of ctas " + ctas);
        }
        int h = whh.cols();
        int gates = cell.gates();
        if (whh.rows() != gates * h) {
            throw new SprnnException("pack: W_hh has " + whh.rows() + " rows, a " + cell.id() + " layer of hidden " + h + " needs " + gates * h);
        }
        if (h + SharedMemoryBanks.ZERO_COLUMNS - 1 > PackedWord.MAX_COLUMN) {
            throw new SprnnException("pack: hidden " + h + " too large for 16-bit column indices (max " + (PackedWord.MAX_COLUMN - SharedMemoryBanks.ZERO_COLUMNS + 1) + ")");
        }
        if (warps < 1) {
            throw new SprnnException("pack: warps " + warps + " must be >= 1");
        }
        SharedMemoryBanks banks = SharedMemoryBanks.forBatch(batch, wideLoads);
        int[] unitSlots = unitSlots(whh, cell, splitWeights);
        long[] unitNnz = new long[h];
        for (int u = 0; u < h; u++) {
            for (int g = 0; g < gates; g++) {
                unitNnz[u] += whh.rowNnz(g * h + u);
            }
        }
        List<List<Integer>> dealt = deal(unitSlots, batch, ctas, warps, ctaContiguous, balanced, placement);
        int slots = 1;
        int upw = 1;
        long maxNnz = 0;
        long sumSlots = 0;
        for (List<Integer> units : dealt) {
            int s = 0;
            long n = 0;
            for (int u : units) {
                s += unitSlots[u];
                n += unitNnz[u];
            }
            slots = Math.max(slots, s);
            upw = Math.max(upw, units.size());
            maxNnz = Math.max(maxNnz, n);
            sumSlots += s;
        }
        int[] words = new int[warps * slots * 32];
        int[] rowEnds = new int[warps * upw * gates];
        int[] warpUnits = new int[warps * upw];
        Arrays.fill(rowEnds, -1);
        Arrays.fill(warpUnits, -1);
        int padWord = PackedWord.pack(0f, h, format);
        Arrays.fill(words, padWord);
        RowPlacer placer = new RowPlacer(words, h, banks, bankAware, format);
        for (int w = 0; w < warps; w++) {
            int j0 = 0;
            int row = 0;
            List<Integer> units = dealt.get(w);
            for (int i = 0; i < units.size(); i++) {
                int u = units.get(i);
                warpUnits[w * upw + i] = u;
                for (int g = 0; g < gates; g++) {
                    int r = g * h + u;
                    RowWords rw = RowWords.of(whh, r, splitWeights, format);
                    j0 += placer.place(rw.cols(), rw.vals(), (w * slots + j0) * 32);
                    rowEnds[w * upw * gates + row++] = j0 - 1;
                }
            }
        }
        Stats stats = placer.stats(whh.nnz(), maxNnz, whh.nnz() / (double) warps, sumSlots / (double) warps);
        return new PackedLayer(cell, h, batch, warps, slots, upw, words, rowEnds, warpUnits, stats, splitWeights);
    }


    /**
     * The most tail lanes' sums one lane of a row adds in {@link #packCtaTail} ({@code K}; the kernel's
     * {@code SPRNN_CTA_TAIL_ENTRIES} and {@code KernelSpec.MAX_TAIL_ENTRIES} allow as many): rows of up to 256 tail lanes.
     */
    public static final int MAX_TAIL_ENTRIES = 8;

    /**
     * The widest padded batch {@link #packCtaTail} lays out: the kernel's adding of {@code K} entries of {@code PB} sums
     * spilled registers at padded batch 16 (ptxas, sm_90, nvcc 13.0, 20 warps with 22-24 register slots) and none at 2,
     * 4 and 8.
     */
    public static final int MAX_CTA_TAIL_PADDED_BATCH = 8;

    /** The widest tail {@link #packTail} considers, in slots. */
    public static final int MAX_TAIL_SLOTS = 16;

    /**
     * Packs {@code whh} for rows as pruning leaves them (unequal lengths) with every row end at a compile-time slot
     * ({@code SPRNN_ROW_SLOTS} with {@code SPRNN_TAIL_SLOTS}): every warp holds up to {@code U} units
     * ({@code U*G > 1} rows), each row {@code B} slots of its own (its first {@code min(n, 32B)} words, bank-aware
     * ordered as usual) after a tail of {@code T} slots that the warp's rows share lane by lane: a row of {@code n > 32B}
     * words takes {@code ceil((n - 32B) / T)} lanes of it, {@code T} words a lane ({@link #tailRows}), at most 32 lanes a
     * warp. So {@code S = T + U*G*B} for every warp; the kernel starts each row's sums from its tail lanes' (a select),
     * no run-time row-end test. Units go to CTAs as {@link #pack} sends them ({@code ctaContiguous}: contiguous ranges of
     * equal count, aligned), then to warps, most tail lanes first, each to the warp with the fewest tail lanes so far
     * that holds fewer than {@code U}. {@code B} and {@code T} are the pair of least {@code S} for which that dealing
     * fits (ties: the smaller tail); {@code T} is 0 where every row fits {@code B} slots (rows padded to equal length).
     *
     * @return the layout, or null where a warp would hold one row ({@code U*G < 2}) or no tail of at most
     *     {@link #MAX_TAIL_SLOTS} fits
     */
    public static PackedLayer packTail(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                       boolean bankAware, boolean wideLoads, Precision format, boolean splitWeights) {
        if (ctas < 1 || warps < 1 || warps % ctas != 0) {
            throw new SprnnException("pack tail: warps " + warps + " must be a positive multiple of ctas " + ctas);
        }
        int h = whh.cols();
        int gates = cell.gates();
        if (whh.rows() != gates * h) {
            throw new SprnnException("pack tail: W_hh has " + whh.rows() + " rows, a " + cell.id() + " layer of hidden " + h + " needs " + gates * h);
        }
        if (h + SharedMemoryBanks.ZERO_COLUMNS - 1 > PackedWord.MAX_COLUMN) {
            throw new SprnnException("pack tail: hidden " + h + " too large for 16-bit column indices");
        }
        TailShape shape = tailShape(whh, cell, batch, ctas, warps, ctaContiguous, splitWeights);
        if (shape == null) {
            return null;
        }
        int upw = shape.upw(), rows = upw * gates, poolWarps = shape.poolWarps();
        int[] rowWords = shape.rowWords();
        List<int[]> pools = shape.pools();
        int b = shape.rowSlots(), t = shape.tailSlots(), slots = rows * b + t;
        List<List<Integer>> dealt = dealTail(pools, poolWarps, upw, rowWords, h, gates, b, t);
        long wordsLong = (long) warps * slots * 32;
        if (wordsLong > Integer.MAX_VALUE - 16) {
            throw new SprnnException("pack tail: " + wordsLong + " words do not fit one array");
        }
        SharedMemoryBanks banks = SharedMemoryBanks.forBatch(batch, wideLoads);
        int[] words = new int[(int) wordsLong];
        Arrays.fill(words, PackedWord.pack(0f, h, format));
        int[] rowEnds = new int[warps * rows];
        int[] warpUnits = new int[warps * upw];
        int[] tailRows = new int[warps * 32];
        Arrays.fill(warpUnits, -1);
        Arrays.fill(tailRows, -1);
        long maxNnz = 0;
        RowPlacer placer = new RowPlacer(words, h, banks, bankAware, format);
        for (int w = 0; w < warps; w++) {
            for (int k = 0; k < rows; k++) {
                rowEnds[w * rows + k] = t + (k + 1) * b - 1;
            }
            List<Integer> units = dealt.get(w);
            // pass 1: each row's words (split where asked), its tail lanes, and its words by bank slot
            int[][] rowCols = new int[rows][];
            float[][] rowVals = new float[rows][];
            int[] tailLeft = new int[rows];
            List<List<List<Integer>>> buckets = new ArrayList<>(); // [row][bank slot] -> word indices not yet placed
            boolean[][] inTail = new boolean[rows][];
            int lane0 = 0;
            long nnz = 0;
            for (int k = 0; k < rows; k++) {
                buckets.add(null);
            }
            for (int i = 0; i < units.size(); i++) {
                int u = units.get(i);
                warpUnits[w * upw + i] = u;
                for (int gate = 0; gate < gates; gate++) {
                    int k = i * gates + gate;
                    int r = gate * h + u;
                    nnz += whh.rowNnz(r);
                    RowWords rw = RowWords.of(whh, r, splitWeights, format);
                    int[] cols = rw.cols();
                    float[] vals = rw.vals();
                    rowCols[k] = cols;
                    rowVals[k] = vals;
                    inTail[k] = new boolean[cols.length];
                    int nr = Math.max(0, cols.length - 32 * b);
                    tailLeft[k] = nr;
                    int rowLanes = nr == 0 ? 0 : (nr + t - 1) / t;
                    for (int lane = lane0; lane < lane0 + rowLanes; lane++) {
                        tailRows[w * 32 + lane] = k; // padding cells of the lane too (zero weights)
                    }
                    lane0 += rowLanes;
                    buckets.set(k, wordsByBankSlot(cols, banks));
                }
            }
            if (lane0 > 32) {
                throw new SprnnException("pack tail: warp " + w + " needs " + lane0 + " tail lanes"); // dealTail checked it
            }
            maxNnz = Math.max(maxNnz, nnz);
            // pass 2, the tail (see fillTail)
            fillTail(words, slots, t, w, 1, Arrays.copyOfRange(tailRows, w * 32, w * 32 + 32), buckets, tailLeft, inTail, rowCols,
                    rowVals, banks, format, placer, h);
            for (int k = 0; k < rows; k++) {
                if (tailLeft[k] != 0) {
                    throw new SprnnException("pack tail: warp " + w + " row " + k + " has " + tailLeft[k] + " tail words left"); // lanes x T hold them
                }
            }
            // pass 3: each row's other words in its own b slots, bank-aware ordered (or natural)
            for (int k = 0; k < rows; k++) {
                if (rowCols[k] == null) {
                    continue; // a row of no unit: padding (the array's fill)
                }
                placer.placeExcept(rowCols[k], rowVals[k], inTail[k], (w * slots + t + k * b) * 32);
            }
        }
        Stats stats = placer.stats(whh.nnz(), maxNnz, whh.nnz() / (double) warps, slots);
        return new PackedLayer(cell, h, batch, warps, slots, upw, words, rowEnds, warpUnits, stats, splitWeights, false, t, tailRows);
    }

    /**
     * A row's word indices by the bank slot of their column, for {@link #fillTail}: each list in descending index order,
     * so that taking from its end yields ascending columns within a bank slot.
     */
    private static List<List<Integer>> wordsByBankSlot(int[] cols, SharedMemoryBanks banks) {
        List<List<Integer>> bySlot = new ArrayList<>(banks.slots());
        for (int x = 0; x < banks.slots(); x++) {
            bySlot.add(new ArrayList<>());
        }
        for (int q = cols.length - 1; q >= 0; q--) {
            bySlot.get(banks.slot(cols[q])).add(q);
        }
        return bySlot;
    }

    /**
     * Fills the tail cells of warps {@code firstWarp .. firstWarp + nWarps - 1} ({@code t} slots each, {@code slots} a
     * warp), one load (slot) and lane group at a time: the group's lanes whose rows ({@code cellRow[warp x 32 + lane]},
     * an index into the row arrays, -1 none) have tail words left each take one of their row's words in a bank slot the
     * group has not used yet in this load where they can, else the least used (levels of use); the most constrained lanes
     * (fewest bank slots left to their row) first, each row's fullest bank slot first, so that the rows keep words in many
     * bank slots for the loads after and their own slots' words spread over the bank slots. Any word of a row may go to its
     * tail ({@code inTail} marks those taken; {@code tailLeft} counts down). Each tail load as laid out goes to
     * {@code placer}'s figures (padding lanes read zero column {@code hidden}: one broadcast).
     */
    private static void fillTail(int[] words, int slots, int t, int firstWarp, int nWarps, int[] cellRow,
                                 List<List<List<Integer>>> buckets, int[] tailLeft, boolean[][] inTail, int[][] rowCols,
                                 float[][] rowVals, SharedMemoryBanks banks, Precision format, RowPlacer placer, int hidden) {
        int g = banks.groupLanes();
        int[] col = new int[32]; // the load's columns
        int[] used = new int[banks.slots()];
        int[] options = new int[32];
        for (int cw = 0; cw < nWarps; cw++) {
            int w = firstWarp + cw;
            for (int slot = 0; slot < t; slot++) {
                Arrays.fill(col, hidden);
                for (int base0 = 0; base0 < 32; base0 += g) {
                    Arrays.fill(used, 0);
                    List<Integer> pending = new ArrayList<>();
                    for (int lane = base0; lane < base0 + g; lane++) {
                        int k = cellRow[cw * 32 + lane];
                        options[lane] = 0;
                        if (k >= 0) {
                            pending.add(lane);
                            for (List<Integer> bucket : buckets.get(k)) {
                                options[lane] += bucket.isEmpty() ? 0 : 1;
                            }
                        }
                    }
                    pending.sort(java.util.Comparator.comparingInt(lane -> options[lane]));
                    for (int level = 0; !pending.isEmpty(); level++) {
                        for (java.util.Iterator<Integer> it = pending.iterator(); it.hasNext(); ) {
                            int lane = it.next();
                            int k = cellRow[cw * 32 + lane];
                            if (tailLeft[k] == 0) {
                                it.remove();
                                continue;
                            }
                            List<List<Integer>> bySlot = buckets.get(k);
                            int pick = -1;
                            for (int x = 0; x < bySlot.size(); x++) {
                                if (used[x] == level && !bySlot.get(x).isEmpty() && (pick < 0 || bySlot.get(x).size() > bySlot.get(pick).size())) {
                                    pick = x;
                                }
                            }
                            if (pick < 0) {
                                continue; // at a later level
                            }
                            int q = bySlot.get(pick).remove(bySlot.get(pick).size() - 1);
                            used[pick]++;
                            tailLeft[k]--;
                            inTail[k][q] = true;
                            words[(w * slots + slot) * 32 + lane] = PackedWord.pack(rowVals[k][q], rowCols[k][q], format);
                            col[lane] = rowCols[k][q];
                            it.remove();
                        }
                    }
                }
                placer.load(banks.wavefronts(col));
            }
        }
    }

    /** {@link #packTail}'s choice: the pools (units per CTA, or all), warps a pool, units a warp, words a row, B and T. */
    private record TailShape(List<int[]> pools, int poolWarps, int upw, int[] rowWords, int rowSlots, int tailSlots) {
    }

    /**
     * The slots per lane {@link #packTail} would give ({@code T + U*G*B}), without packing (for choosing a partition);
     * 0 where it gives no layout.
     */
    public static int tailSlotsPerLane(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                       boolean splitWeights) {
        if (ctas < 1 || warps < 1 || warps % ctas != 0 || whh.rows() != cell.gates() * whh.cols()) {
            return 0;
        }
        TailShape s = tailShape(whh, cell, batch, ctas, warps, ctaContiguous, splitWeights);
        return s == null ? 0 : s.upw() * cell.gates() * s.rowSlots() + s.tailSlots();
    }

    private static TailShape tailShape(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                       boolean splitWeights) {
        int h = whh.cols();
        int gates = cell.gates();
        int wpn = splitWeights ? 2 : 1;
        int[] rowWords = new int[gates * h];
        int maxWords = 0;
        for (int r = 0; r < rowWords.length; r++) {
            rowWords[r] = wpn * whh.rowNnz(r);
            maxWords = Math.max(maxWords, rowWords[r]);
        }
        // the pools: each CTA's units and warps (contiguous ranges), or all units over all warps
        List<int[]> pools = new ArrayList<>();
        int poolWarps;
        if (ctaContiguous) {
            poolWarps = warps / ctas;
            pools.addAll(contiguousPools(h, batch, ctas, warps));
        } else {
            poolWarps = warps;
            int[] all = new int[h];
            for (int u = 0; u < h; u++) {
                all[u] = u;
            }
            pools.add(all);
        }
        int upw = 1;
        for (int[] pool : pools) {
            upw = Math.max(upw, (pool.length + poolWarps - 1) / poolWarps);
        }
        int rows = upw * gates;
        if (rows < 2) {
            return null;
        }
        int bestB = -1, bestT = -1;
        long bestS = Long.MAX_VALUE;
        // the least B whose slots and the widest tail could hold the fullest pool's words at all
        long fullest = 0;
        for (int[] pool : pools) {
            long words = 0;
            for (int u : pool) {
                for (int g = 0; g < gates; g++) {
                    words += rowWords[g * h + u];
                }
            }
            fullest = Math.max(fullest, words);
        }
        long perWarp = (fullest + poolWarps - 1) / poolWarps;
        // ... and whose slots leave the longest row at most 32 lanes of the widest tail
        int bFrom = (int) Math.max(1, Math.max(((perWarp + 31) / 32 - MAX_TAIL_SLOTS) / rows,
                ((long) maxWords - 32L * MAX_TAIL_SLOTS + 31) / 32));
        for (int b = bFrom; b <= BankAwareOrder.slotColumns(maxWords); b++) {
            if ((long) rows * b > bestS) {
                break;
            }
            // the least tail that fits (a wider one never needs more lanes), by bisection within what would match the
            // best: of equal S the narrower tail (its loads mix rows, so they conflict in the banks more than a row's own)
            int hi = (int) Math.min(MAX_TAIL_SLOTS, Math.min(bestS - (long) rows * b, bestT < 0 ? MAX_TAIL_SLOTS : bestS - (long) rows * b));
            if (bestB >= 0 && (long) rows * b + hi == bestS && hi >= bestT) {
                hi = bestT - 1;
            }
            if (hi < 0 || assignTail(pools, poolWarps, upw, rowWords, h, gates, b, hi) == null) {
                continue;
            }
            int lo = -1; // fails (or below 0)
            while (hi - lo > 1) {
                int mid = (lo + hi) >>> 1;
                if (assignTail(pools, poolWarps, upw, rowWords, h, gates, b, mid) != null) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            bestB = b;
            bestT = hi;
            bestS = (long) rows * b + hi;
        }
        return bestB < 0 ? null : new TailShape(pools, poolWarps, upw, rowWords, bestB, bestT);
    }

    /**
     * Each CTA's units when CTAs hold contiguous ranges ({@link #pack}'s {@code ctaContiguous} split of equal counts,
     * aligned), ascending.
     */
    private static List<int[]> contiguousPools(int h, int batch, int ctas, int warps) {
        int[] ones = new int[h];
        Arrays.fill(ones, 1);
        List<List<Integer>> naive = deal(ones, batch, ctas, warps, true, false, WarpPlacement.DEALT);
        int perCta = warps / ctas;
        List<int[]> pools = new ArrayList<>(ctas);
        for (int c = 0; c < ctas; c++) {
            List<Integer> units = new ArrayList<>();
            for (int w = c * perCta; w < (c + 1) * perCta; w++) {
                units.addAll(naive.get(w));
            }
            pools.add(units.stream().mapToInt(Integer::intValue).toArray());
        }
        return pools;
    }

    /**
     * {@link #packTail}'s dealing for rows of {@code b} slots and a tail of {@code t}: per pool, units by tail lanes
     * needed (most first) to the warp with the fewest tail lanes so far among those with fewer than {@code upw} units;
     * null where a warp would need more than 32 tail lanes (or a row has words beyond its slots and no tail).
     */
    private static List<List<Integer>> dealTail(List<int[]> pools, int poolWarps, int upw, int[] rowWords, int h, int gates, int b, int t) {
        int[] warpOf = assignTail(pools, poolWarps, upw, rowWords, h, gates, b, t);
        if (warpOf == null) {
            return null;
        }
        List<List<Integer>> out = new ArrayList<>(pools.size() * poolWarps);
        for (int w = 0; w < pools.size() * poolWarps; w++) {
            out.add(new ArrayList<>());
        }
        for (int u = 0; u < h; u++) { // ascending unit within each warp
            out.get(warpOf[u]).add(u);
        }
        return out;
    }

    /**
     * {@link #dealTail} as each unit's warp (pool {@code p}'s warps are {@code p * poolWarps ..}), or null. Units by
     * tail lanes needed, most first (ties: the pool's order), by a counting sort; warps in a heap keyed by tail lanes
     * used, then units held, then index.
     */
    private static int[] assignTail(List<int[]> pools, int poolWarps, int upw, int[] rowWords, int h, int gates, int b, int t) {
        int[] warpOf = new int[h];
        long[] heap = new long[poolWarps];
        for (int p = 0; p < pools.size(); p++) {
            int[] pool = pools.get(p);
            int[] need = new int[pool.length];
            int[] count = new int[34];
            long total = 0;
            for (int i = 0; i < pool.length; i++) {
                for (int g = 0; g < gates; g++) {
                    int over = rowWords[g * h + pool[i]] - 32 * b;
                    if (over > 0) {
                        if (t == 0) {
                            return null;
                        }
                        need[i] += (over + t - 1) / t;
                    }
                }
                if (need[i] > 32) {
                    return null;
                }
                count[need[i]]++;
                total += need[i];
            }
            if (total > 32L * poolWarps) {
                return null;
            }
            int[] start = new int[34]; // counting sort, most lanes first, stable
            for (int n = 31; n >= 0; n--) {
                start[n] = start[n + 1] + count[n + 1];
            }
            int[] order = new int[pool.length];
            for (int i = 0; i < pool.length; i++) {
                order[start[need[i]]++] = i;
            }
            int size = poolWarps;
            for (int w = 0; w < poolWarps; w++) {
                heap[w] = w; // lanes 0, units 0: key = lanes << 40 | units << 20 | warp
            }
            for (int i : order) {
                if (size == 0) {
                    return null;
                }
                long top = heap[0];
                int w = (int) (top & 0xFFFFF), units = (int) ((top >>> 20) & 0xFFFFF), lanes = (int) (top >>> 40);
                if (lanes + need[i] > 32) {
                    return null;
                }
                warpOf[pool[i]] = p * poolWarps + w;
                lanes += need[i];
                units++;
                if (units < upw) {
                    heap[0] = (long) lanes << 40 | (long) units << 20 | w;
                } else {
                    heap[0] = heap[--size];
                }
                siftDown(heap, size);
            }
        }
        return warpOf;
    }

    /** Restores the min-heap {@code heap[0..size)} after its root changed. */
    private static void siftDown(long[] heap, int size) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < size && heap[l] < heap[m]) {
                m = l;
            }
            if (r < size && heap[r] < heap[m]) {
                m = r;
            }
            if (m == i) {
                return;
            }
            long x = heap[i];
            heap[i] = heap[m];
            heap[m] = x;
            i = m;
        }
    }

    /**
     * Packs {@code whh} for warps of one row ({@code G = 1}, at most one unit a warp) whose rows are of unequal length,
     * with a tail the CTA's rows share ({@code SPRNN_CTA_TAIL}): each warp's first {@code T} slots hold, lane by lane,
     * {@code T} words of one row of its CTA (any warp's), then its own row's other words in {@code B} slots, bank-aware
     * ordered as usual; {@code S = T + B}. A row of {@code n > 32B} words takes {@code ceil((n - 32B) / T)} tail lanes of
     * its CTA, at most {@code 32K}, and the kernel's lane {@code l} of the row's warp adds the sums of its tail lanes
     * {@code l, l + 32, ..} ({@link #tailRows}) after one CTA barrier. So the longest row no longer sets every warp's
     * slots: a CTA's rows share their excess over {@code B} among all its lanes. Units go to CTAs as contiguous ranges
     * ({@code ctaContiguous}, as {@link #packTail} sends them) or, longest first, each to the CTA with the fewest words so
     * far among those with a free warp; within a CTA to its warps in ascending unit order. {@code (B, T)} is the pair of
     * least {@code S}, then fewest entries {@code K}, then narrowest tail, for which every CTA's tail lanes suffice.
     *
     * @return the layout, or null where the cell has gates, a warp would hold more than one unit, the padded batch is
     *     above {@link #MAX_CTA_TAIL_PADDED_BATCH}, or no such layout takes fewer slots than the longest row's
     */
    public static PackedLayer packCtaTail(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                          boolean bankAware, boolean wideLoads, Precision format, boolean splitWeights) {
        if (ctas < 1 || warps < 1 || warps % ctas != 0) {
            throw new SprnnException("pack cta tail: warps " + warps + " must be a positive multiple of ctas " + ctas);
        }
        int h = whh.cols();
        if (whh.rows() != cell.gates() * h) {
            throw new SprnnException("pack cta tail: W_hh has " + whh.rows() + " rows, a " + cell.id() + " layer of hidden " + h + " needs " + cell.gates() * h);
        }
        if (h + SharedMemoryBanks.ZERO_COLUMNS - 1 > PackedWord.MAX_COLUMN) {
            throw new SprnnException("pack cta tail: hidden " + h + " too large for 16-bit column indices");
        }
        CtaTailShape shape = ctaTailShape(whh, cell, batch, ctas, warps, ctaContiguous, splitWeights);
        if (shape == null) {
            return null;
        }
        int perCta = warps / ctas, b = shape.rowSlots(), t = shape.tailSlots(), k = shape.entries(), slots = b + t;
        long wordsLong = (long) warps * slots * 32;
        if (wordsLong > Integer.MAX_VALUE - 16) {
            throw new SprnnException("pack cta tail: " + wordsLong + " words do not fit one array");
        }
        SharedMemoryBanks banks = SharedMemoryBanks.forBatch(batch, wideLoads);
        int[] words = new int[(int) wordsLong];
        Arrays.fill(words, PackedWord.pack(0f, h, format));
        int[] rowEnds = new int[warps];
        int[] warpUnits = new int[warps];
        int[] entries = new int[warps * k * 32];
        Arrays.fill(rowEnds, -1);
        Arrays.fill(warpUnits, -1);
        Arrays.fill(entries, -1);
        RowPlacer placer = new RowPlacer(words, h, banks, bankAware, format);
        long maxNnz = 0;
        for (int c = 0; c < ctas; c++) {
            int[] pool = shape.pools().get(c);
            // pass 1: each row's words (split where asked), its tail lanes (rows with the most first, in the CTA's lane
            // order warp x 32 + lane) and its words by bank slot
            Integer[] byLanes = new Integer[pool.length];
            int[] lanes = new int[pool.length];
            for (int i = 0; i < pool.length; i++) {
                byLanes[i] = i;
                int over = shape.rowWords()[pool[i]] - 32 * b;
                lanes[i] = over > 0 ? (over + t - 1) / t : 0;
            }
            Arrays.sort(byLanes, (x, y) -> lanes[y] != lanes[x] ? lanes[y] - lanes[x] : x - y);
            int[][] rowCols = new int[pool.length][];
            float[][] rowVals = new float[pool.length][];
            boolean[][] inTail = new boolean[pool.length][];
            int[] tailLeft = new int[pool.length];
            List<List<List<Integer>>> buckets = new ArrayList<>(pool.length);
            int[] cellRow = new int[perCta * 32];
            Arrays.fill(cellRow, -1);
            int next = 0;
            for (int i = 0; i < pool.length; i++) {
                int u = pool[i];
                RowWords rw = RowWords.of(whh, u, splitWeights, format);
                rowCols[i] = rw.cols();
                rowVals[i] = rw.vals();
                inTail[i] = new boolean[rowCols[i].length];
                tailLeft[i] = Math.max(0, rowCols[i].length - 32 * b);
                maxNnz = Math.max(maxNnz, whh.rowNnz(u));
                buckets.add(wordsByBankSlot(rowCols[i], banks));
            }
            for (int i : byLanes) {
                int w = c * perCta + i;
                warpUnits[w] = pool[i];
                rowEnds[w] = slots - 1;
                for (int e = 0; e < lanes[i]; e++) {
                    cellRow[next + e] = i;
                    entries[(w * k + e / 32) * 32 + e % 32] = (c * perCta) * 32 + next + e;
                }
                next += lanes[i];
            }
            if (next > 32 * perCta) {
                throw new SprnnException("pack cta tail: CTA " + c + " needs " + next + " tail lanes"); // ctaTailShape checked it
            }
            // pass 2: the tail, bank slot by bank slot (fillTail); pass 3: each row's other words in its own slots
            fillTail(words, slots, t, c * perCta, perCta, cellRow, buckets, tailLeft, inTail, rowCols, rowVals, banks, format, placer, h);
            for (int i = 0; i < pool.length; i++) {
                if (tailLeft[i] != 0) {
                    throw new SprnnException("pack cta tail: CTA " + c + " row " + i + " has " + tailLeft[i] + " tail words left");
                }
                placer.placeExcept(rowCols[i], rowVals[i], inTail[i], ((c * perCta + i) * slots + t) * 32);
            }
        }
        Stats stats = placer.stats(whh.nnz(), maxNnz, whh.nnz() / (double) warps, slots);
        return new PackedLayer(cell, h, batch, warps, slots, 1, words, rowEnds, warpUnits, stats, splitWeights, false, t, entries, k);
    }

    /** {@link #packCtaTail}'s choice: each CTA's units (ascending), words a row, B, T and the entries K. */
    private record CtaTailShape(List<int[]> pools, int[] rowWords, int rowSlots, int tailSlots, int entries) {
    }

    /**
     * The slots per lane {@link #packCtaTail} would give ({@code T + B}), without packing (for choosing a partition); 0
     * where it gives no layout.
     */
    public static int ctaTailSlotsPerLane(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                          boolean splitWeights) {
        if (ctas < 1 || warps < 1 || warps % ctas != 0 || whh.rows() != cell.gates() * whh.cols()) {
            return 0;
        }
        CtaTailShape s = ctaTailShape(whh, cell, batch, ctas, warps, ctaContiguous, splitWeights);
        return s == null ? 0 : s.rowSlots() + s.tailSlots();
    }

    private static CtaTailShape ctaTailShape(CsrMatrix whh, CellType cell, int batch, int ctas, int warps, boolean ctaContiguous,
                                             boolean splitWeights) {
        int h = whh.cols();
        int perCta = warps / ctas;
        if (cell.gates() != 1 || h > warps || SharedMemoryBanks.paddedBatch(batch) > MAX_CTA_TAIL_PADDED_BATCH) {
            return null;
        }
        int wpn = splitWeights ? 2 : 1;
        int[] rowWords = new int[h];
        int maxWords = 0;
        for (int u = 0; u < h; u++) {
            rowWords[u] = wpn * whh.rowNnz(u);
            maxWords = Math.max(maxWords, rowWords[u]);
        }
        int general = Math.max(1, BankAwareOrder.slotColumns(maxWords));
        // the pools: contiguous ranges (as packTail's), or the longest rows first each to the CTA of fewest words
        List<int[]> pools = new ArrayList<>(ctas);
        if (ctaContiguous) {
            for (int[] pool : contiguousPools(h, batch, ctas, warps)) {
                if (pool.length > perCta) {
                    return null;
                }
                pools.add(pool);
            }
        } else {
            Integer[] order = new Integer[h];
            for (int u = 0; u < h; u++) {
                order[u] = u;
            }
            Arrays.sort(order, (x, y) -> rowWords[y] != rowWords[x] ? rowWords[y] - rowWords[x] : x - y);
            long[] load = new long[ctas];
            int[] count = new int[ctas];
            PriorityQueue<Integer> q = new PriorityQueue<>((x, y) -> load[x] != load[y] ? Long.compare(load[x], load[y]) : x - y);
            List<List<Integer>> dealt = new ArrayList<>(ctas);
            for (int c = 0; c < ctas; c++) {
                q.add(c);
                dealt.add(new ArrayList<>());
            }
            for (int u : order) {
                int c = q.poll();
                dealt.get(c).add(u);
                load[c] += rowWords[u];
                if (++count[c] < perCta) {
                    q.add(c);
                }
            }
            for (List<Integer> units : dealt) {
                pools.add(units.stream().mapToInt(Integer::intValue).sorted().toArray());
            }
        }
        long fullest = 0;
        for (int[] pool : pools) {
            long words = 0;
            for (int u : pool) {
                words += rowWords[u];
            }
            fullest = Math.max(fullest, words);
        }
        // the least S a CTA's words allow, and one whose own slots and widest tail could hold the longest row at all
        long from = Math.max(2, Math.max((fullest + 32L * perCta - 1) / (32L * perCta),
                (maxWords - 32L * MAX_TAIL_SLOTS * MAX_TAIL_ENTRIES + 31) / 32 + 1));
        for (long s = from; s < general; s++) {
            int bestT = -1, bestK = Integer.MAX_VALUE;
            for (int t = 1; t <= Math.min(MAX_TAIL_SLOTS, s - 1); t++) {
                int k = ctaTailEntries(pools, rowWords, perCta, (int) (s - t), t);
                if (k > 0 && k < bestK) {
                    bestK = k;
                    bestT = t;
                }
            }
            if (bestT > 0) {
                return new CtaTailShape(pools, rowWords, (int) (s - bestT), bestT, bestK);
            }
        }
        return null;
    }

    /**
     * The entries {@code K} a lane adds where every pool's rows of {@code b} own slots share a tail of {@code t} slots: the
     * most tail lanes a row needs over 32, rounded up (at least 1); 0 where a pool's tail lanes do not suffice or a row
     * needs more than {@link KernelLimits#MAX_TAIL_ENTRIES} x 32.
     */
    private static int ctaTailEntries(List<int[]> pools, int[] rowWords, int perCta, int b, int t) {
        int most = 0;
        for (int[] pool : pools) {
            long total = 0;
            for (int u : pool) {
                int over = rowWords[u] - 32 * b;
                if (over > 0) {
                    int lanes = (over + t - 1) / t;
                    most = Math.max(most, lanes);
                    total += lanes;
                }
            }
            if (total > 32L * perCta || most > 32 * MAX_TAIL_ENTRIES) {
                return 0;
            }
        }
        return Math.max(1, (most + 31) / 32);
    }

    /**
     * The weights a sparse layout holds, {@code [G*H][H]} row-major as float32 (each as packed, rounded to
     * {@code format}; split weights summed): the inverse of {@link #pack} and {@link #packTail} (for their tests). A
     * word's row is the warp's row whose slots hold it ({@link #rowEnds}), or in a tail slot its lane's
     * {@link #tailRows}. Throws where a word of no unit, or past {@code H}, is not zero.
     */
    public float[] unpack(Precision format) {
        if (dense) {
            throw new SprnnException("unpack: a dense layout (unpackDense)");
        }
        int h = hidden;
        int gates = cell.gates();
        int rows = unitsPerWarp * gates;
        float[] out = new float[gates * h * h];
        int[] cellOwner = null; // with a CTA tail: the warp whose row each tail lane (warp x 32 + lane) adds to
        if (tailEntries > 0) {
            cellOwner = new int[warps * 32];
            Arrays.fill(cellOwner, -1);
            for (int i = 0; i < tailRows.length; i++) {
                int c = tailRows[i];
                if (c >= 0) {
                    if (cellOwner[c] >= 0) {
                        throw new SprnnException("unpack: tail lane " + c + " is added to two rows");
                    }
                    cellOwner[c] = i / (tailEntries * 32);
                }
            }
        }
        for (int w = 0; w < warps; w++) {
            for (int j = 0; j < slotsPerLane; j++) {
                for (int lane = 0; lane < 32; lane++) {
                    int word = words[(w * slotsPerLane + j) * 32 + lane];
                    float v = PackedWord.value(word, format);
                    int k;
                    int uw = w; // the warp whose units row k indexes
                    if (j < tailSlots && cellOwner != null) {
                        uw = cellOwner[w * 32 + lane];
                        k = uw >= 0 ? 0 : -1;
                    } else if (j < tailSlots) {
                        k = tailRows[w * 32 + lane];
                    } else {
                        k = 0;
                        while (k < rows && rowEnds[w * rows + k] >= 0 && rowEnds[w * rows + k] < j) {
                            k++;
                        }
                        if (k < rows && rowEnds[w * rows + k] < 0) {
                            k = rows;
                        }
                    }
                    int u = k >= 0 && k < rows ? warpUnits[uw * unitsPerWarp + k / gates] : -1;
                    int c = PackedWord.column(word);
                    if (u < 0 || c >= h) {
                        if (v != 0f) {
                            throw new SprnnException("unpack: warp " + w + " slot " + j + " lane " + lane + " holds " + v
                                    + " in column " + c + " of no row");
                        }
                        continue;
                    }
                    out[((k % gates) * h + u) * h + c] += v;
                }
            }
        }
        return out;
    }

    /**
     * Lays rows out in a layout's words, each in its bank-aware order (or the natural one), and tallies the loads'
     * bank-conflict figures for {@link Stats}.
     */
    private static final class RowPlacer {
        private final int[] words;
        private final int hidden;
        private final SharedMemoryBanks banks;
        private final boolean bankAware;
        private final Precision format;
        private long loads, wavefrontsNatural, wavefronts, lowerBound;
        private int worstNatural, worst;

        RowPlacer(int[] words, int hidden, SharedMemoryBanks banks, boolean bankAware, Precision format) {
            this.words = words;
            this.hidden = hidden;
            this.banks = banks;
            this.bankAware = bankAware;
            this.format = format;
        }

        /**
         * Places a row's words ({@code cols}, {@code vals}) at {@code words[at..]}, cell {@code q} at {@code at + q}
         * (slot {@code q / 32}, lane {@code q % 32}; padding reads a zero column above H); returns its slot columns.
         */
        int place(int[] cols, float[] vals, int at) {
            int[] nat = BankAwareOrder.natural(cols.length);
            int[] cells = bankAware ? BankAwareOrder.order(cols, hidden, banks) : nat;
            int[] before = BankAwareOrder.wavefronts(nat, cols, hidden, banks);
            int[] after = BankAwareOrder.wavefronts(cells, cols, hidden, banks);
            for (int i = 0; i < before.length; i++) {
                wavefrontsNatural += before[i];
                worstNatural = Math.max(worstNatural, before[i]);
                wavefronts += after[i];
                worst = Math.max(worst, after[i]);
            }
            loads += before.length;
            lowerBound += BankAwareOrder.lowerBound(cols, banks);
            for (int q = 0; q < cells.length; q++) {
                int c = cells[q];
                words[at + q] = c >= 0 ? PackedWord.pack(vals[c], cols[c], format) : PackedWord.pack(0f, hidden + (-1 - c), format);
            }
            return cells.length / 32;
        }

        /** {@link #place} of the row's words not marked in {@code skip} (those a tail holds). */
        int placeExcept(int[] cols, float[] vals, boolean[] skip, int at) {
            int m = 0;
            int[] keptCols = new int[cols.length];
            float[] keptVals = new float[cols.length];
            for (int q = 0; q < cols.length; q++) {
                if (!skip[q]) {
                    keptCols[m] = cols[q];
                    keptVals[m++] = vals[q];
                }
            }
            return place(Arrays.copyOf(keptCols, m), Arrays.copyOf(keptVals, m), at);
        }

        /** A load laid out otherwise (a tail slot): {@code x} wavefronts in either order, and its own bound. */
        void load(int x) {
            loads++;
            wavefrontsNatural += x;
            wavefronts += x;
            lowerBound += x;
            worstNatural = Math.max(worstNatural, x);
            worst = Math.max(worst, x);
        }

        Stats stats(long nonzeros, long maxNonzerosPerWarp, double meanNonzerosPerWarp, double meanSlotsPerWarp) {
            return new Stats(nonzeros, maxNonzerosPerWarp, meanNonzerosPerWarp, meanSlotsPerWarp, loads, wavefrontsNatural,
                    worstNatural, wavefronts, worst, lowerBound);
        }
    }

    /**
     * Row {@code r}'s words: its columns and values, or with split weights each nonzero twice, its 16-bit rounding then
     * its residual's ({@link Precision#encodeResidual}), adjacent.
     */
    private record RowWords(int[] cols, float[] vals) {
        static RowWords of(CsrMatrix whh, int r, boolean splitWeights, Precision format) {
            int[] cols = whh.rowColumns(r);
            float[] vals = whh.rowValues(r);
            if (!splitWeights) {
                return new RowWords(cols, vals);
            }
            int[] both = new int[2 * cols.length];
            float[] parts = new float[2 * cols.length];
            for (int n = 0; n < cols.length; n++) {
                both[2 * n] = both[2 * n + 1] = cols[n];
                parts[2 * n] = format.decode(format.encode(vals[n]));
                parts[2 * n + 1] = format.decode(format.encodeResidual(vals[n]));
            }
            return new RowWords(both, parts);
        }
    }

    /** Whether every warp's rows end at its last slot {@code S - 1}: no warp has a padding tail. */
    public boolean fullWarps() {
        int perWarp = rowEnds.length / warps;
        for (int w = 0; w < warps; w++) {
            int last = -1;
            for (int i = 0; i < perWarp; i++) {
                last = Math.max(last, rowEnds[w * perWarp + i]);
            }
            if (last != slotsPerLane - 1) {
                return false;
            }
        }
        return true;
    }

    /**
     * The slots of every row when all rows are alike: {@code L > 0} if every warp holds {@code U*G} rows (no warp short
     * of units) and its row {@code k} ends at slot {@code (k+1)L - 1}, as when every row of {@code W_hh} has the same
     * number of slots (N nonzeros a row) and the units fill the warps; else 0. The kernel can then compile the row ends
     * in ({@code KernelSpec#rowSlots}).
     */
    public int equalRowSlots() {
        int perWarp = rowEnds.length / warps;
        if (perWarp == 0 || rowEnds[0] < 0) {
            return 0;
        }
        int l = rowEnds[0] + 1;
        for (int w = 0; w < warps; w++) {
            for (int k = 0; k < perWarp; k++) {
                if (rowEnds[w * perWarp + k] != (k + 1) * l - 1) {
                    return 0;
                }
            }
        }
        return l;
    }

    /**
     * The row slots the kernel compiles in ({@code SPRNN_ROW_SLOTS}): with a tail ({@link #packTail}) every row's own
     * {@code (S - T) / (U*G)}, else {@link #equalRowSlots}.
     */
    public int compiledRowSlots() {
        if (tailEntries > 0) {
            return 0; // one row a warp: its end is the warp's last slot
        }
        return tailSlots > 0 ? (slotsPerLane - tailSlots) / (unitsPerWarp * cell.gates()) : equalRowSlots();
    }

    /**
     * The row ends the kernel reads: {@link #rowEnds}, then with a tail {@link #tailRows} ({@code [W][U*G]} then
     * {@code [W][32]}, or with a CTA tail {@code [W][K][32]}).
     */
    public int[] kernelRowEnds() {
        if (tailSlots == 0) {
            return rowEnds;
        }
        int[] out = Arrays.copyOf(rowEnds, rowEnds.length + tailRows.length);
        System.arraycopy(tailRows, 0, out, rowEnds.length, tailRows.length);
        return out;
    }

    /** Slots per lane of each hidden unit, one word per nonzero ({@link #unitSlots(CsrMatrix, CellType, boolean)}). */
    public static int[] unitSlots(CsrMatrix whh, CellType cell) {
        return unitSlots(whh, cell, false);
    }

    /**
     * Slots per lane of each hidden unit: the sum over its gate rows of {@code max(1, ceil(k/32))}, with
     * {@code 2k} words for {@code k} nonzeros when the weights are split.
     */
    public static int[] unitSlots(CsrMatrix whh, CellType cell, boolean splitWeights) {
        int h = whh.cols();
        int wordsPerNonzero = splitWeights ? 2 : 1;
        int[] unitSlots = new int[h];
        for (int u = 0; u < h; u++) {
            for (int g = 0; g < cell.gates(); g++) {
                unitSlots[u] += BankAwareOrder.slotColumns(wordsPerNonzero * whh.rowNnz(g * h + u));
            }
        }
        return unitSlots;
    }

    /**
     * Whether split weights cost {@code whh} no slot: every row of {@code k} nonzeros takes as many slot columns with
     * {@code 2k} words, i.e. no row has more than 16 nonzeros. Then the split layout has the same slots per lane as
     * the plain one for any partition (the same step time up to the extra multiply-adds of one slot's lanes), e.g.
     * hidden 64 up to 25% density, hidden 300 and 1152 at 1%.
     */
    public static boolean splitCostsNoSlots(CsrMatrix whh) {
        for (int r = 0; r < whh.rows(); r++) {
            if (BankAwareOrder.slotColumns(2 * whh.rowNnz(r)) != BankAwareOrder.slotColumns(whh.rowNnz(r))) {
                return false;
            }
        }
        return true;
    }

    /** Words that hold one nonzero: 2 with split weights, else 1. */
    public int wordsPerNonzero() {
        return splitWeights ? 2 : 1;
    }

    /** The slots per lane ({@code S}) a dealing would give, without packing (cheap: for choosing a partition). */
    public static int slotsPerLane(int[] unitSlots, int batch, int ctas, int warps, boolean ctaContiguous, boolean balanced) {
        int s = 1;
        for (List<Integer> units : deal(unitSlots, batch, ctas, warps, ctaContiguous, balanced, WarpPlacement.DEALT)) {
            int x = 0;
            for (int u : units) {
                x += unitSlots[u];
            }
            s = Math.max(s, x);
        }
        return s;
    }

    private static List<List<Integer>> deal(int[] unitSlots, int batch, int ctas, int warps, boolean ctaContiguous, boolean balanced,
                                            WarpPlacement placement) {
        int h = unitSlots.length;
        List<List<Integer>> dealt;
        if (ctaContiguous) {
            int align = Math.max(1, 16 / (2 * SharedMemoryBanks.paddedBatch(batch)));
            int perCta = warps / ctas;
            long total = 0;
            for (int x : unitSlots) {
                total += x;
            }
            dealt = new ArrayList<>(warps);
            int lo = 0;
            long run = 0;
            for (int c = 0; c < ctas; c++) {
                int hi = lo;
                long share = total * (c + 1) / ctas;
                while (hi < h && (c == ctas - 1 || run + unitSlots[hi] <= share || hi == lo || (hi - lo) % align != 0)) {
                    run += unitSlots[hi++];
                }
                int[] sub = Arrays.copyOfRange(unitSlots, lo, hi);
                List<List<Integer>> local = balanced ? dealBalanced(sub, perCta) : dealNaive(hi - lo, perCta);
                for (List<Integer> units : local) {
                    List<Integer> shifted = new ArrayList<>(units.size());
                    for (int u : units) {
                        shifted.add(u + lo);
                    }
                    dealt.add(shifted);
                }
                lo = hi;
            }
        } else if (balanced) {
            dealt = switch (placement) {
                case DEALT -> dealBalanced(unitSlots, warps);
                case SPREAD -> spread(dealBalanced(unitSlots, warps), unitSlots, ctas);
                case CTA -> h <= warps ? contiguousCtas(unitSlots, ctas, warps) : dealBalanced(unitSlots, warps);
            };
        } else {
            dealt = dealNaive(h, warps);
        }
        return dealt;
    }

    /**
     * The sub-partitions ({@code SMSP}s, one warp scheduler each) of an SM: warp {@code j} of a CTA issues on {@code j % 4}.
     */
    static final int SCHEDULERS = 4;

    /**
     * Places balanced warps (their unit lists kept whole) at the CTAs' warp positions so that the slots each warp
     * scheduler issues are even: longest warp first, to the scheduler ({@code CTA c}, warp positions {@code j} with
     * {@code j % 4 == s}) with the fewest slots so far that has a free position, ties to the CTA with the fewest slots,
     * then the lowest index. {@link #dealBalanced} fills warps in index order, which leaves the empty warps (one row a
     * warp over more warps than rows) at the last CTAs and the longest rows together in the first: at relu 2304 / 30%
     * pruned per matrix the 18 longest rows (24 slots) shared one SM, 5 of them one scheduler, where rows pruned per row
     * (22 slots) put 5 x 22 on a scheduler. A step issues every warp's slots through its SM's four schedulers, so the
     * busiest scheduler, not the longest warp, sets the arithmetic's time. Which warps are grouped is unchanged, so
     * {@link #slotsPerLane(int[], int, int, int, boolean, boolean)} is too.
     */
    static List<List<Integer>> spread(List<List<Integer>> warpsDealt, int[] unitSlots, int ctas) {
        int warps = warpsDealt.size();
        int perCta = warps / ctas;
        int schedulers = Math.min(SCHEDULERS, perCta);
        int groups = ctas * schedulers;
        long[] load = new long[warps];
        Integer[] order = new Integer[warps];
        for (int w = 0; w < warps; w++) {
            order[w] = w;
            for (int u : warpsDealt.get(w)) {
                load[w] += unitSlots[u];
            }
        }
        Arrays.sort(order, (a, b) -> load[b] != load[a] ? Long.compare(load[b], load[a]) : a - b);
        long[] groupLoad = new long[groups];
        long[] ctaLoad = new long[ctas];
        int[] filled = new int[groups];
        // a sorted set, not a heap: a placement changes the CTA's load, a key of its other schedulers, which are taken
        // out before and put back after
        java.util.TreeSet<Integer> open = new java.util.TreeSet<>((a, b) -> groupLoad[a] != groupLoad[b]
                ? Long.compare(groupLoad[a], groupLoad[b])
                : ctaLoad[a / schedulers] != ctaLoad[b / schedulers] ? Long.compare(ctaLoad[a / schedulers], ctaLoad[b / schedulers])
                : filled[a] != filled[b] ? filled[a] - filled[b] : a - b);
        for (int g = 0; g < groups; g++) {
            open.add(g);
        }
        List<List<Integer>> out = new ArrayList<>(java.util.Collections.nCopies(warps, (List<Integer>) null));
        List<Integer> siblings = new ArrayList<>(schedulers);
        for (int w : order) {
            int g = open.pollFirst();
            int c = g / schedulers;
            int s = g % schedulers;
            out.set(c * perCta + s + filled[g] * schedulers, warpsDealt.get(w));
            siblings.clear();
            for (int o = c * schedulers; o < (c + 1) * schedulers; o++) {
                if (o != g && open.remove(o)) {
                    siblings.add(o);
                }
            }
            filled[g]++;
            groupLoad[g] += load[w];
            ctaLoad[c] += load[w];
            open.addAll(siblings);
            if (s + filled[g] * schedulers < perCta) { // a free position left on this scheduler
                open.add(g);
            }
        }
        return out;
    }

    /**
     * {@link WarpPlacement#CTA} for one unit a warp ({@code unitSlots.length <= warps}): each CTA a contiguous range of
     * the units in index order, placed over its schedulers by {@link #spread} (one CTA at a time). The ranges are
     * {@code perCta} units each from the first CTA (the dealt layout's), unless ranges of at most {@code perCta} units
     * chosen to lower the busiest scheduler do so: the least bound on a scheduler's slots for which ranges extended
     * greedily, unit by unit while the CTA's busiest scheduler stays within it, cover h in the CTAs there are
     * (binary search over the bound). Rows of equal length keep the dealt layout unless spreading them over more CTAs
     * takes a row off the busiest scheduler (300 rows over 20 CTAs of 18 warps: 16 a CTA, 4 a scheduler, instead of 18
     * and 5); with h = CTAs x W only the fixed ranges cover h, and they are returned without a search.
     */
    static List<List<Integer>> contiguousCtas(int[] unitSlots, int ctas, int warps) {
        int perCta = warps / ctas;
        int h = unitSlots.length;
        int[] fixed = new int[ctas + 1];
        for (int c = 0; c <= ctas; c++) {
            fixed[c] = Math.min(h, c * perCta);
        }
        if ((long) ctas * perCta == h) {
            return placeRanges(unitSlots, fixed, ctas, perCta);
        }
        long fixedBusiest = 0;
        for (int c = 0; c < ctas; c++) {
            fixedBusiest = Math.max(fixedBusiest, ctaBusiest(unitSlots, fixed[c], fixed[c + 1], perCta));
        }
        long lo = 0;
        for (int x : unitSlots) {
            lo = Math.max(lo, x);
        }
        long hi = fixedBusiest; // the fixed ranges meet it; a greedy cover is searched below it only
        int[] best = fixed;
        while (lo < hi) {
            long mid = (lo + hi) >>> 1;
            int[] cover = greedyRanges(unitSlots, ctas, perCta, mid);
            if (cover != null) {
                best = cover;
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return placeRanges(unitSlots, best, ctas, perCta);
    }

    /** CTA {@code c}'s units {@code [starts[c], starts[c + 1])}, placed over its schedulers by {@link #spread}. */
    private static List<List<Integer>> placeRanges(int[] unitSlots, int[] starts, int ctas, int perCta) {
        List<List<Integer>> out = new ArrayList<>(ctas * perCta);
        for (int c = 0; c < ctas; c++) {
            out.addAll(placeRange(unitSlots, starts[c], starts[c + 1], perCta));
        }
        return out;
    }

    /** A CTA of {@code perCta} warps holding the units {@code [lo, hi)}, one a warp, placed over its schedulers by {@link #spread}. */
    private static List<List<Integer>> placeRange(int[] unitSlots, int lo, int hi, int perCta) {
        List<List<Integer>> mine = new ArrayList<>(perCta);
        for (int j = 0; j < perCta; j++) {
            mine.add(lo + j < hi ? new ArrayList<>(List.of(lo + j)) : new ArrayList<>());
        }
        return spread(mine, unitSlots, 1);
    }

    /**
     * CTA {@code c}'s units {@code [starts[c], starts[c + 1])}, each range extended unit by unit while it holds at most
     * {@code perCta} units and its busiest scheduler at most {@code bound} slots; null where they do not cover h.
     */
    private static int[] greedyRanges(int[] unitSlots, int ctas, int perCta, long bound) {
        int h = unitSlots.length;
        int[] starts = new int[ctas + 1];
        int i = 0;
        for (int c = 0; c < ctas; c++) {
            starts[c] = i;
            int j = i;
            while (j < h && j - i < perCta && ctaBusiest(unitSlots, i, j + 1, perCta) <= bound) {
                j++;
            }
            i = j;
        }
        starts[ctas] = i;
        return i == h ? starts : null;
    }

    /** The slots on the busiest scheduler of a CTA of {@code perCta} warps holding the units {@code [lo, hi)}, placed by {@link #spread}. */
    private static long ctaBusiest(int[] unitSlots, int lo, int hi, int perCta) {
        List<List<Integer>> placed = placeRange(unitSlots, lo, hi, perCta);
        int schedulers = Math.min(SCHEDULERS, perCta);
        long[] load = new long[schedulers];
        for (int j = 0; j < perCta; j++) {
            for (int u : placed.get(j)) {
                load[j % schedulers] += unitSlots[u];
            }
        }
        long max = 0;
        for (long x : load) {
            max = Math.max(max, x);
        }
        return max;
    }

    private static List<List<Integer>> dealNaive(int h, int warps) {
        List<List<Integer>> out = new ArrayList<>(warps);
        for (int w = 0; w < warps; w++) {
            List<Integer> units = new ArrayList<>();
            for (int u = (int) ((long) w * h / warps); u < (int) ((long) (w + 1) * h / warps); u++) {
                units.add(u);
            }
            out.add(units);
        }
        return out;
    }

    private static List<List<Integer>> dealBalanced(int[] unitSlots, int warps) {
        Integer[] order = new Integer[unitSlots.length];
        for (int u = 0; u < order.length; u++) {
            order[u] = u;
        }
        Arrays.sort(order, (a, b) -> unitSlots[b] != unitSlots[a] ? unitSlots[b] - unitSlots[a] : a - b);
        long[] load = new long[warps];
        PriorityQueue<Integer> q = new PriorityQueue<>((a, b) -> load[a] != load[b] ? Long.compare(load[a], load[b]) : a - b);
        List<List<Integer>> out = new ArrayList<>(warps);
        for (int w = 0; w < warps; w++) {
            out.add(new ArrayList<>());
            q.add(w);
        }
        for (int u : order) {
            int w = q.poll();
            out.get(w).add(u);
            load[w] += unitSlots[u];
            q.add(w);
        }
        for (List<Integer> units : out) {
            units.sort(null); // row order inside a warp: ascending unit, so neighbouring units publish together
        }
        return out;
    }

    /**
     * Per warp scheduler (CTA {@code c}, its warps {@code j} with {@code j % 4 == s}, index {@code 4c + s}; fewer where a
     * CTA has fewer than 4 warps) the slots its warps run a step: each warp's up to its last row end ({@link #rowEnds}),
     * 0 for an empty warp. What {@link #spread} evens out.
     *
     * @param warpsPerCta warps per CTA (consecutive warps of this layout)
     */
    public long[] schedulerSlots(int warpsPerCta) {
        int ctas = warps / warpsPerCta;
        int schedulers = Math.min(SCHEDULERS, warpsPerCta);
        long[] load = new long[ctas * schedulers];
        int rows = unitsPerWarp * cell.gates();
        for (int w = 0; w < ctas * warpsPerCta; w++) {
            int end = -1;
            for (int i = 0; i < rows; i++) {
                end = Math.max(end, rowEnds[w * rows + i]);
            }
            load[(w / warpsPerCta) * schedulers + (w % warpsPerCta) % schedulers] += end + 1;
        }
        return load;
    }

    /** A one-line summary of balance and bank conflicts (before and after ordering). */
    public String summary() {
        Stats s = stats;
        if (dense) {
            return String.format(java.util.Locale.ROOT,
                    "dense: %d x %d weights a row in %d slots (2 weights a word), %d nonzeros; %d warps x %d slots x 32 lanes "
                            + "(%d units a warp, %.1f%% padding); loads contiguous, %d wavefronts each",
                    cell.gates() * hidden, hidden, denseRowSlots(hidden), s.nonzeros(), warps, slotsPerLane, unitsPerWarp,
                    100.0 * (1 - (double) cell.gates() * hidden * hidden / (2.0 * words.length)), s.worst());
        }
        return String.format(java.util.Locale.ROOT,
                "%d nonzeros%s in %d warps x %d slots x 32 lanes (%.1f%% padding); nonzeros per warp max/mean %d/%.1f (%.3f); "
                        + "wavefronts per warp load natural avg %.3f worst %d -> layout avg %.3f worst %d (bound avg %.3f)",
                s.nonzeros(), splitWeights ? " (split weights: 2 words each)" : "", warps, slotsPerLane,
                100.0 * (1 - wordsPerNonzero() * s.nonzeros() / (double) words.length), s.maxNonzerosPerWarp(),
                s.meanNonzerosPerWarp(), s.imbalance(), s.wavefrontsNatural() / (double) Math.max(1, s.loads()), s.worstNatural(),
                s.wavefronts() / (double) Math.max(1, s.loads()), s.worst(), s.lowerBound() / (double) Math.max(1, s.loads()));
    }

    /**
     * Per CTA, the columns of {@code h} its warps' words read: {@code [ctas][hidden + 1]}, each CTA's
     * count first, then those columns ascending (padding's zero columns excluded). The timestamped
     * exchange polls only these; the kernel harness exports the same array.
     *
     * @param ctas        CTAs, each holding {@code warpsPerCta} consecutive warps of this layout
     * @param warpsPerCta warps per CTA
     */
    public int[] neededColumns(int ctas, int warpsPerCta) {
        int h = hidden;
        int perWarp = slotsPerLane * 32;
        int[] needed = new int[ctas * (h + 1)];
        if (dense) { // every row reads every column
            for (int c = 0; c < ctas; c++) {
                needed[c * (h + 1)] = h;
                for (int col = 0; col < h; col++) {
                    needed[c * (h + 1) + 1 + col] = col;
                }
            }
            return needed;
        }
        for (int c = 0; c < ctas; c++) {
            boolean[] need = new boolean[h];
            int to = Math.min(words.length, (c + 1) * warpsPerCta * perWarp);
            for (int i = c * warpsPerCta * perWarp; i < to; i++) {
                int col = PackedWord.column(words[i]);
                if (col < h) {
                    need[col] = true;
                }
            }
            int n = 0;
            for (int col = 0; col < h; col++) {
                if (need[col]) {
                    needed[c * (h + 1) + 1 + n++] = col;
                }
            }
            needed[c * (h + 1)] = n;
        }
        return needed;
    }
}
