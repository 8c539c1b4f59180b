// PersistentWorkspace.java — the device buffers one sequence shape (T, B) needs in the sparse persistent engine:
// allocated at the first run of that shape and reused by later runs of it, instead of 10-13 allocations a run.
package org.sprnn.engine.cuda;

import java.util.List;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;

/**
 * The buffers of runs of {@code steps x batch}; closes them all in reverse order. Their contents carry nothing from
 * one run to the next that a run does not set first ({@link PersistentRun} uploads inputs and clears the exchange,
 * counter and fault record before it launches).
 */
final class PersistentWorkspace implements AutoCloseable {
    final int steps;
    final int batch;
    final DeviceBuffer x;        // [T][B][I] fp32: the sequence
    final DeviceBuffer xproj;    // [T][B][G*H] fp32: W_ih x_t + b_ih of the current layer
    final DeviceBuffer[] seq;    // two [T][B][H] fp32: layer outputs, alternating (the second null for one layer)
    final DeviceBuffer h0s;      // [L][B][H] fp32
    final DeviceBuffer c0s;      // [L][B][H] fp32
    final DeviceBuffer hN;       // [L][B][H] fp32
    final DeviceBuffer cN;       // [L][B][H] fp32
    final DeviceBuffer exchange; // timestamps: fp16 [min(T, steps per launch)][H][PB], emptied per launch; barrier: fp16 [2][pad16(H*PB*2) B]
    final DeviceBuffer counter;  // grid barrier: arrivals (word 0) or one flag word per CTA (u32 [1024])
    final DeviceBuffer fault;    // int32 [4]: KernelFault's record
    final DeviceBuffer[] carry;  // two [2][B][H] fp32 (h then c) between launches of one layer, or null for one launch
    final DeviceBuffer lengths;  // int32 [B]: each sequence's length, for a run with lengths (SPRNN_LENGTHS)
    private final Resources owned = new Resources();

    /**
     * Allocates the buffers for runs of {@code steps x batch} through {@code ks} (every layer's kernel for that batch)
     * in launches of at most {@code launchSteps} steps, {@code launches} of them a layer.
     */
    PersistentWorkspace(CudaContext ctx, int steps, int batch, int inputSize, int hidden, int gates, int layers,
                        List<PersistentLayers.LayerKernel> ks, int launchSteps, int launches) {
        this.steps = steps;
        this.batch = batch;
        long tb = (long) steps * batch;
        try {
            x = alloc(ctx, tb * inputSize * 4, "input sequence");
            xproj = alloc(ctx, tb * gates * hidden * 4, "input projection");
            seq = new DeviceBuffer[] {alloc(ctx, tb * hidden * 4, "layer output"),
                    layers > 1 ? alloc(ctx, tb * hidden * 4, "layer output") : null};
            long state = (long) layers * batch * hidden * 4;
            h0s = alloc(ctx, state, "h0");
            c0s = alloc(ctx, state, "c0");
            hN = alloc(ctx, state, "h_n");
            cN = alloc(ctx, state, "c_n");
            long ex = 16;
            for (PersistentLayers.LayerKernel k : ks) {
                KernelSpec s = k.plan().spec();
                ex = Math.max(ex, s.exchange() == ExchangeMode.TIMESTAMPS ? (long) launchSteps * hidden * s.rowBytes() // a slot per step
                        : 2L * ((hidden * (long) s.rowBytes() + 15) & ~15L)); // two halves, each 16-byte aligned
            }
            exchange = alloc(ctx, ex, "h exchange");
            counter = alloc(ctx, 4096, "grid barrier counter or per-CTA flags");
            fault = alloc(ctx, 4L * KernelFault.RECORD_INTS, "fault record");
            carry = launches > 1 ? new DeviceBuffer[] {alloc(ctx, 2L * batch * hidden * 4, "h/c carry"),
                    alloc(ctx, 2L * batch * hidden * 4, "h/c carry")} : null;
            lengths = alloc(ctx, 4L * batch, "sequence lengths");
        } catch (RuntimeException | Error e) {
            owned.closeAfter(e);
            throw e;
        }
    }

    /** Whether this workspace serves runs of {@code steps x batch}. */
    boolean fits(int steps, int batch) {
        return this.steps == steps && this.batch == batch;
    }

    private DeviceBuffer alloc(CudaContext ctx, long bytes, String what) {
        return owned.add(ctx.allocate(Math.max(16, bytes), what));
    }

    /** Frees every buffer, the last allocated first; idempotent. */
    @Override
    public void close() {
        owned.close();
    }
}
