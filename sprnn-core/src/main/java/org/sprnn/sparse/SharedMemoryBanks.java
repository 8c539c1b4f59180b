package org.sprnn.sparse;

import org.sprnn.SprnnException;

/**
 * How one warp-wide load of activations from shared memory splits into wavefronts, for the kernel's
 * activation layout {@code act[column][paddedBatch]} (fp16, batch innermost, row stride
 * {@code rowBytes = 2 * paddedBatch}).
 *
 * <p>Hardware model (32 banks of 4 bytes, 128 bytes per wavefront): a load of {@code access} bytes per lane is
 * served in lane groups of {@code 128 / unit} lanes, {@code unit = clamp(access, 4, 16)} (whole warp for
 * 4-byte words, half-warps for 8 bytes, quarter-warps for 16 bytes). Inside a group, the address chunk
 * {@code column * rowBytes / unit} occupies bank slot {@code chunk % (128 / unit)}; lanes reading the same
 * chunk share it (broadcast); a group costs as many wavefronts as the largest number of distinct chunks
 * that fall into one slot. The same formula is {@code sprnn_bank_slot} in {@code sparse_persistent_rnn.cuh}.
 *
 * @param rowBytes bytes per activation column, {@code 2 * paddedBatch} (a power of two, at least 4)
 * @param accessBytes bytes one lane loads per access: {@code min(rowBytes, 16)} with wide loads, 2 without
 */
public record SharedMemoryBanks(int rowBytes, int accessBytes) {
    /** Zero columns kept above {@code H} so padding can pick one in any bank slot (see {@link BankAwareOrder}). */
    public static final int ZERO_COLUMNS = 32;

    public SharedMemoryBanks {
        if (rowBytes < 4 || Integer.bitCount(rowBytes) != 1) {
            throw new SprnnException("bank model: rowBytes " + rowBytes + " must be a power of two >= 4");
        }
        if (accessBytes < 1 || accessBytes > 16 || Integer.bitCount(accessBytes) != 1 || accessBytes > rowBytes) {
            throw new SprnnException("bank model: accessBytes " + accessBytes + " must be a power of two in [1, min(16, rowBytes)]");
        }
    }

    /** The model for batch {@code batch}, padded as the kernel pads it, with or without wide loads. */
    public static SharedMemoryBanks forBatch(int batch, boolean wideLoads) {
        int rowBytes = 2 * paddedBatch(batch);
        return new SharedMemoryBanks(rowBytes, wideLoads ? Math.min(rowBytes, 16) : 2);
    }

    /** The batch the kernel stores per activation column: the next power of two, at least 2. */
    public static int paddedBatch(int batch) {
        if (batch < 1) {
            throw new SprnnException("batch " + batch + " must be >= 1");
        }
        if (batch > 1 << 16) { // far beyond any on-chip batch; the doubling below would overflow past 2^30
            throw new SprnnException("batch " + batch + " is too large to pad to a power of two");
        }
        int p = 2;
        while (p < batch) {
            p <<= 1;
        }
        return p;
    }

    /** Bytes of one bank-conflict unit: 4, 8 or 16. */
    public int unit() {
        return Math.max(4, Math.min(accessBytes, 16));
    }

    /** Lanes served together (one group of wavefronts): 32, 16 or 8. */
    public int groupLanes() {
        return 128 / unit();
    }

    /** Number of bank slots a group spreads over (equal to {@link #groupLanes()}). */
    public int slots() {
        return 128 / unit();
    }

    /** The address chunk lanes reading {@code column} touch on the first access; equal chunks broadcast. */
    public long chunk(int column) {
        return (long) column * rowBytes / unit();
    }

    /** The bank slot of {@code column}: {@code (column * rowBytes / unit) % (128 / unit)}. */
    public int slot(int column) {
        return (int) (chunk(column) % slots());
    }

    /**
     * Wavefronts one warp-wide load costs, given the column each of the 32 lanes reads (negative: lane
     * inactive).
     */
    public int wavefronts(int[] laneColumns) {
        if (laneColumns.length != 32) {
            throw new SprnnException("bank model: a warp load has 32 lanes, got " + laneColumns.length);
        }
        int g = groupLanes();
        int total = 0;
        long[] seen = new long[g];
        int[] perSlot = new int[slots()];
        for (int base = 0; base < 32; base += g) {
            java.util.Arrays.fill(perSlot, 0);
            int n = 0;
            int worst = 0;
            for (int i = base; i < base + g; i++) {
                int c = laneColumns[i];
                if (c < 0) {
                    continue;
                }
                long ch = chunk(c);
                boolean dup = false;
                for (int k = 0; k < n; k++) {
                    if (seen[k] == ch) {
                        dup = true;
                        break;
                    }
                }
                if (!dup) {
                    seen[n++] = ch;
                    int s = (int) (ch % slots());
                    worst = Math.max(worst, ++perSlot[s]);
                }
            }
            total += worst;
        }
        return total;
    }
}
