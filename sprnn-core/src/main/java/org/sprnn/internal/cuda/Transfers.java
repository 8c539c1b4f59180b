// Transfers.java — every copy between Java arrays and device memory goes through here: the engines used to
// carry one hand-written helper per direction and element type (upload floats, upload ints, upload in the
// operand precision, download floats, download ints, ...), each allocating its own host segment. Here the
// host side is either a confined arena per copy (build-time copies of weights) or one pinned staging
// buffer that the caller owns (per-run copies, so a run allocates nothing); the caller only says how to
// write or read the host bytes.
package org.sprnn.internal.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Host ↔ device copies on one stream, each waited for before it returns.
 *
 * <p>{@link #upload} and {@link #download} are the one primitive: the caller fills (or reads) a host
 * segment of the given size, 16-byte aligned; the typed methods ({@link #uploadFloats},
 * {@link #uploadInts}, {@link #downloadFloats}, {@link #downloadInts}) are built on them. A copy of
 * zero bytes touches no device memory. Made with {@link #perCall} (a confined arena per copy: for
 * build-time copies) or {@link #staged} (the caller's pinned buffer: for the copies of every run, which
 * then allocate nothing; one copy at a time, so not for concurrent use).
 */
public final class Transfers {
    private static final long HOST_ALIGNMENT = 16;

    private final CudaStream stream;
    private final PinnedBuffer staging; // null: a confined arena per copy

    private Transfers(CudaStream stream, PinnedBuffer staging) {
        this.stream = stream;
        this.staging = staging;
    }

    /** Copies on {@code stream} through host memory allocated for each copy and freed after it. */
    public static Transfers perCall(CudaStream stream) {
        return new Transfers(stream, null);
    }

    /**
     * Copies on {@code stream} through the first bytes of {@code staging} (page-locked, so the copy
     * engines run at full bus speed); a copy larger than {@code staging} fails.
     */
    public static Transfers staged(CudaStream stream, PinnedBuffer staging) {
        return new Transfers(stream, staging);
    }

    /**
     * Copies {@code bytes} host bytes, written by {@code write} into a segment of exactly that size, to
     * {@code offset} bytes into {@code dst}, and waits for the copy.
     */
    public void upload(DeviceBuffer dst, long offset, long bytes, Consumer<MemorySegment> write) {
        if (staging != null) {
            MemorySegment host = staging.segment().asSlice(0, bytes);
            write.accept(host);
            if (bytes > 0) {
                dst.upload(host, offset, stream);
            }
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(bytes, HOST_ALIGNMENT);
            write.accept(host);
            if (bytes > 0) {
                dst.upload(host, offset, stream);
            }
        }
    }

    /**
     * Copies {@code bytes} bytes from {@code offset} bytes into {@code src} (after the work queued on the
     * stream) to a host segment of exactly that size, and returns what {@code read} makes of it. The
     * segment is valid only inside {@code read}.
     */
    public <T> T download(DeviceBuffer src, long offset, long bytes, Function<MemorySegment, T> read) {
        if (staging != null) {
            MemorySegment host = staging.segment().asSlice(0, bytes);
            if (bytes > 0) {
                src.download(host, offset, stream);
            }
            return read.apply(host);
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(bytes, HOST_ALIGNMENT);
            if (bytes > 0) {
                src.download(host, offset, stream);
            }
            return read.apply(host);
        }
    }

    /** Uploads {@code v} rounded to float32 to the start of {@code dst}. */
    public void uploadFloats(DeviceBuffer dst, double[] v) {
        upload(dst, 0, 4L * v.length, host -> {
            for (int i = 0; i < v.length; i++) {
                host.setAtIndex(JAVA_FLOAT, i, (float) v[i]);
            }
        });
    }

    /** Uploads {@code v} to the start of {@code dst}. */
    public void uploadInts(DeviceBuffer dst, int[] v) {
        upload(dst, 0, 4L * v.length, host -> MemorySegment.copy(v, 0, host, JAVA_INT, 0, v.length));
    }

    /** The first {@code n} float32 values of {@code src}. */
    public float[] downloadFloats(DeviceBuffer src, long n) {
        return download(src, 0, 4L * n, host -> host.toArray(JAVA_FLOAT));
    }

    /** The first {@code n} int32 values of {@code src}. */
    public int[] downloadInts(DeviceBuffer src, long n) {
        return download(src, 0, 4L * n, host -> host.toArray(JAVA_INT));
    }
}
