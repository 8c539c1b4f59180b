package org.sprnn.plan;

import org.sprnn.model.CellType;


/**
 * The dense mode's register tier ({@link KernelSpec#denseRegisterSlotsFor}): for each cell and padded batch, the largest
 * {@code R} that ptxas (sm_90, nvcc 13.0) compiled without spill stores at 128 and at 255 registers a thread (16 and 8
 * warps a CTA; {@code H} 3072, {@code SPRNN_LOAD_AHEAD} the kernel's default). Between the two budgets linear; below
 * 128 the 128-register overhead; batch 32 takes the widest row less 32.
 * Measured offline, not on the GPU: a spill the table misses shows as {@code local > 0} in the engine's
 * kernelResources. The spills each margin below answers: results/kernel/dense-registers/README.md.
 */
final class DenseRegisters {
    private DenseRegisters() {
    }

    /** Padded batches of the table's columns. */
    private static final int[] PB = {2, 4, 8, 16};

    /** {@code [cell kind][padded batch index]} = {R at 128 registers, R at 255}; kind 0 relu/tanh, 1 GRU, 2 LSTM. */
    private static final int[][][] R = {
        {{48, 106}, {45, 102}, {39, 102}, {36, 102}},
        {{43, 103}, {41, 97}, {32, 97}, {30, 94}},
        {{44, 101}, {37, 94}, {30, 94}, {28, 94}},
    };

    /** Registers the grid barrier's staging loop keeps besides (its {@code SPRNN_STAGE_BATCH} 16-byte loads in flight). */
    static final int GRID_BARRIER_EXTRA = 12;

    /** Registers the cluster exchange's pushes keep besides. */
    static final int CLUSTER_EXTRA = 4;

    /** Between the two measured budgets ptxas gives the tier less than the line. */
    static final int BETWEEN_MARGIN = 10;

    /**
     * The table's R was the largest at one layer shape (S 192-288); other shapes of the planner spilled a few registers
     * short of it, so every budget keeps this many slots back.
     */
    static final int MARGIN = 8;

    /** And at padded batches of 16 and more, this many more. */
    static final int WIDE_BATCH_MARGIN = 14;

    static int slots(CellType cell, int paddedBatch, int registers, ExchangeMode exchange) {
        int extra = exchange == ExchangeMode.GRID_BARRIER ? GRID_BARRIER_EXTRA : exchange == ExchangeMode.CLUSTER ? CLUSTER_EXTRA : 0;
        return Math.max(0, slots(cell, paddedBatch, registers) - extra - MARGIN - (paddedBatch >= 16 ? WIDE_BATCH_MARGIN : 0));
    }

    private static int slots(CellType cell, int paddedBatch, int registers) {
        int kind = switch (cell) {
            case RNN_RELU, RNN_TANH -> 0;
            case GRU -> 1;
            case LSTM -> 2;
        };
        int i = 0;
        while (i < PB.length - 1 && PB[i] < paddedBatch) {
            i++;
        }
        int at128 = R[kind][i][0];
        int at255 = R[kind][i][1];
        if (paddedBatch > PB[PB.length - 1]) { // 32: twice the activation registers of 16 again (GRU 1320 / 32 spilled at R 56)
            at128 = Math.max(0, at128 - paddedBatch);
            at255 = Math.max(0, at255 - paddedBatch);
        }
        if (registers >= 255) {
            return at255;
        }
        if (registers >= 128) {
            return Math.max(0, Math.min(at255, at128 + (at255 - at128) * (registers - 128) / (255 - 128)
                    - (registers > 128 ? BETWEEN_MARGIN : 0)));
        }
        return Math.max(0, at128 - (128 - registers));
    }
}
