// ResidentTrace.java — measurement only: where a resident session's step spends its time, from the kernel's own
// %globaltimer stamps (SPRNN_RESIDENT_TRACE) beside the host's clock, written as CSV when the session closes.
package org.sprnn.engine.cuda;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The trace of one resident session: for each of its first {@link #CAPACITY} steps the host's post and done-seen times
 * ({@link System#nanoTime}) and the kernel's eight stamps (ns of the GPU's global timer; the points are listed at
 * {@code SPRNN_RESIDENT_TRACE} in sparse_persistent_rnn.cu). The two clocks are not related: compare within each.
 * Turned on by the system property {@value #PROPERTY} or the environment variable {@code SPRNN_RESIDENT_TRACE_FILE}
 * (a CSV file, appended to); it compiles a kernel of its own, so a traced session times a slightly different kernel.
 */
final class ResidentTrace {
    static final String PROPERTY = "sprnn.resident.trace";
    static final int POINTS = 8;
    static final int CAPACITY = 200_000;
    private static final AtomicInteger SESSIONS = new AtomicInteger();

    private final Path file;
    private final int session = SESSIONS.incrementAndGet();
    private final int batch, hidden;
    private final long[] post = new long[CAPACITY], done = new long[CAPACITY];
    private final long[] callIn = new long[CAPACITY], callOut = new long[CAPACITY]; // the step call's entry and return
    private final int[] piece = new int[CAPACITY];
    private final long[] stamps = new long[CAPACITY * POINTS];
    private int copied;  // steps whose stamps are copied
    private int recorded; // steps whose host times are recorded

    private ResidentTrace(Path file, int batch, int hidden) {
        this.file = file;
        this.batch = batch;
        this.hidden = hidden;
    }

    /** The trace file asked for, or null (tracing off). */
    static String fileName() {
        String v = System.getProperty(PROPERTY, System.getenv("SPRNN_RESIDENT_TRACE_FILE"));
        return v == null || v.isBlank() ? null : v;
    }

    /** A trace for a new session, or null when tracing is off. */
    static ResidentTrace open(int batch, int hidden) {
        String f = fileName();
        if (f == null) {
            return null;
        }
        try {
            return new ResidentTrace(Path.of(f), batch, hidden);
        } catch (java.nio.file.InvalidPathException e) {
            throw new org.sprnn.SprnnException("SPRNN_RESIDENT_TRACE_FILE (or -D" + PROPERTY + "): not a file name: "
                    + org.sprnn.io.Untrusted.quote(f));
        }
    }

    /** The host's times of a piece of {@code n} steps from {@code first}, posted at {@code postNs} and seen done at {@code doneNs}. */
    void piece(long first, int n, long postNs, long doneNs) {
        for (int s = 0; s < n; s++) {
            long step = first + s;
            if (step < CAPACITY && step == recorded) {
                post[recorded] = postNs;
                done[recorded] = doneNs;
                piece[recorded] = n;
                recorded++;
            }
        }
    }

    /** The entry and return times of the step call that ran steps {@code first .. first + n - 1} (Java's share of a call). */
    void call(long first, int n, long inNs, long outNs) {
        for (long step = first; step < Math.min(first + n, CAPACITY); step++) {
            callIn[(int) step] = inNs;
            callOut[(int) step] = outNs;
        }
    }

    /**
     * Copies the stamps of the steps before {@code upTo} out of the ring at byte {@code offset} of the control buffer
     * ({@code [ring][8]} u64; the kernel wrote them a piece or more ago).
     */
    void collect(MemorySegment control, long offset, int ring, long upTo) {
        long end = Math.min(upTo, CAPACITY);
        for (; copied < end; copied++) {
            long base = offset + (long) (copied % ring) * POINTS * 8;
            for (int i = 0; i < POINTS; i++) {
                stamps[copied * POINTS + i] = control.get(JAVA_LONG, base + 8L * i);
            }
        }
    }

    /** Appends the recorded steps to the file (header first if it is new). */
    void write() {
        StringBuilder b = new StringBuilder(64 + copied * 160);
        int n = Math.min(copied, recorded);
        for (int s = 0; s < n; s++) {
            b.append(session).append(',').append(batch).append(',').append(hidden).append(',').append(s).append(',')
                    .append(piece[s]).append(',').append(post[s]).append(',').append(done[s]);
            for (int i = 0; i < POINTS; i++) {
                b.append(',').append(stamps[s * POINTS + i]);
            }
            b.append(',').append(callIn[s]).append(',').append(callOut[s]).append('\n');
        }
        try {
            if (!Files.exists(file)) {
                Files.writeString(file, "session,batch,hidden,step,piece,host_post,host_done,posted_seen,handed_on,"
                        + "last_cta_go,cta0_projected,last_cta_projected,cta0_stepped,done_fence,done_written,call_in,call_out\n", StandardCharsets.UTF_8);
            }
            Files.writeString(file, b, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new org.sprnn.SprnnException("resident trace " + org.sprnn.io.Untrusted.quote(file.toString()) + ": " + e.getMessage());
        }
    }
}
