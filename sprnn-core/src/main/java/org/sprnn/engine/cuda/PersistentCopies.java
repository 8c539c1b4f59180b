// PersistentCopies.java — the sparse persistent engine's host <-> device copies, through one confined arena each:
// doubles go up as fp32, int arrays as int32, results come back as float or int arrays.
package org.sprnn.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;

/** Copies between Java arrays and device buffers on one stream; each call returns when its copy is done or queued. */
final class PersistentCopies {
    private PersistentCopies() {
    }

    /** {@code v} as fp32 into the start of {@code b}. */
    static void uploadFloats(DeviceBuffer b, double[] v, CudaStream stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(4L, 4L * v.length), 16);
            for (int i = 0; i < v.length; i++) {
                m.setAtIndex(JAVA_FLOAT, i, (float) v[i]);
            }
            if (v.length > 0) {
                b.upload(m.asSlice(0, 4L * v.length), 0, stream);
            }
        }
    }

    /** {@code v} as int32 into the start of {@code b}. */
    static void uploadInts(DeviceBuffer b, int[] v, CudaStream stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(4L, 4L * v.length), 16);
            MemorySegment.copy(v, 0, m, JAVA_INT, 0, v.length);
            if (v.length > 0) {
                b.upload(m.asSlice(0, 4L * v.length), 0, stream);
            }
        }
    }

    /** The first {@code n} fp32 values of {@code b}. */
    static float[] downloadFloats(DeviceBuffer b, long n, CudaStream stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4L * n, 16);
            b.download(m, 0, stream);
            return m.toArray(JAVA_FLOAT);
        }
    }

    /** The first {@code n} int32 values of {@code b}. */
    static int[] downloadInts(DeviceBuffer b, int n, CudaStream stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(4L * n, 16);
            b.download(m, 0, stream);
            return m.toArray(JAVA_INT);
        }
    }
}
