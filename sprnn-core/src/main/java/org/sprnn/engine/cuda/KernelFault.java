// KernelFault.java — the fault record the sparse persistent kernel leaves when a bounded spin gives up, decoded
// into a message. The codes are the kernel header's SPRNN_FAULT_* (sparse_persistent_rnn.cuh), named once here;
// KernelCodesContractTest holds the two together.
package org.sprnn.engine.cuda;

import java.util.Locale;
import java.util.function.IntFunction;
import org.sprnn.SprnnException;

/**
 * Why a launch of the sparse persistent kernel gave up, by the code {@code record_fault} writes to word 0 of the
 * fault record ({@code int32 [4]}: code, CTA, step within the launch, detail).
 */
enum KernelFault {
    /** {@code SPRNN_FAULT_TIMESTAMP_WAIT}: detail = the column whose value did not arrive. */
    TIMESTAMP_WAIT(1, "SPRNN_FAULT_TIMESTAMP_WAIT", 1, detail -> "a timestamped h value (column " + detail + ") did not arrive"),
    /** {@code SPRNN_FAULT_BARRIER_WAIT}: detail = the counter seen. */
    BARRIER_WAIT(2, "SPRNN_FAULT_BARRIER_WAIT", 1, detail -> "the grid barrier did not complete (counter " + detail + ")"),
    /** {@code SPRNN_FAULT_SHARED_MEMORY}: detail = the dynamic shared memory the launch had. */
    SHARED_MEMORY(3, "SPRNN_FAULT_SHARED_MEMORY", 1, detail -> "launched with too little shared memory (" + detail + " B)"),
    /** {@code SPRNN_FAULT_CLUSTER_WAIT}. */
    CLUSTER_WAIT(4, "SPRNN_FAULT_CLUSTER_WAIT", 1, detail -> "the cluster peers' blocks of h did not all arrive"),
    /** {@code SPRNN_FAULT_CLUSTER_EXIT}: the exit barrier waits two spins. */
    CLUSTER_EXIT(5, "SPRNN_FAULT_CLUSTER_EXIT", 2, detail -> "a cluster peer did not reach the exit barrier"),
    /** {@code SPRNN_FAULT_RESIDENT_WAIT}: a resident session kernel's CTA waits the idle time and one spin more. */
    RESIDENT_WAIT(6, "SPRNN_FAULT_RESIDENT_WAIT", 1, detail -> "CTA 0 did not hand on the next step of the resident session "
            + "(after the idle wait, SPRNN_RESIDENT_IDLE_MS)");

    /** {@code SPRNN_FAULT_NONE}: word 0 of a record with no fault. */
    static final int NONE = 0;
    /** Words of the fault record: code, CTA, step within the launch, detail. */
    static final int RECORD_INTS = 4;

    private final int code;
    private final String define;
    private final int spins;
    private final IntFunction<String> describe; // the detail word -> what went wrong

    KernelFault(int code, String define, int spins, IntFunction<String> describe) {
        this.code = code;
        this.define = define;
        this.spins = spins;
        this.describe = describe;
    }

    /** The value of {@link #define()} in the kernel header. */
    int code() {
        return code;
    }

    /** The header's name for this fault. */
    String define() {
        return define;
    }

    /** What went wrong, from the record's detail word. */
    String describe(int detail) {
        return describe.apply(detail);
    }

    /**
     * The fault {@code record} reports, as an exception naming the layer, the step of the sequence and the CTA; null
     * where the record holds none.
     *
     * @param record the fault record read back ({@link #RECORD_INTS} ints)
     * @param firstStep the sequence step the launch began at
     * @param spinTimeoutNs how long one bounded spin of the kernel waited
     */
    static SprnnException exception(int[] record, String engine, int layer, int firstStep, long spinTimeoutNs) {
        if (record[0] == NONE) {
            return null;
        }
        KernelFault f = null;
        for (KernelFault k : values()) {
            if (k.code == record[0]) {
                f = k;
            }
        }
        String kind = f == null ? "fault kind " + record[0] : f.describe(record[3]);
        long waited = spinTimeoutNs * (f == null ? 1 : f.spins);
        return new SprnnException(String.format(Locale.ROOT, "%s: layer %d: kernel gave up at step %d in CTA %d: %s within %s s",
                engine, layer, firstStep + record[2], record[1], kind, formatSeconds(waited)));
    }

    private static String formatSeconds(long ns) {
        return new java.math.BigDecimal(ns).movePointLeft(9).stripTrailingZeros().toPlainString();
    }
}
