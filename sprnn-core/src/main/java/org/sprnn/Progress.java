package org.sprnn;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress line with the time left, for the commands that take more than a few seconds ({@code bench grid},
 * {@code kernel-check --full}, {@code selftest}): on a terminal one line redrawn in place at each step, elsewhere (a log,
 * a pipe) one line at most every {@link #QUIET_NANOS} and at the end, so logs stay short. The estimate is the mean time
 * per step so far times the steps left. Thread-safe.
 */
public final class Progress {
    /** Between two lines written to a log or pipe: 15 s. */
    static final long QUIET_NANOS = 15_000_000_000L;

    private final String what;
    private final int total;
    private final PrintStream to;
    private final boolean terminal;
    private final long start;
    private long lastLine;
    private int done;

    private Progress(String what, int total, PrintStream to, boolean terminal, long start) {
        this.what = what;
        this.total = total;
        this.to = to;
        this.terminal = terminal;
        this.start = start;
        this.lastLine = start;
    }

    /**
     * A progress line to {@code to}, redrawn in place where the process has a terminal.
     *
     * @param what  the command, first on the line (e.g. {@code "bench grid"})
     * @param total the steps expected (at least 1)
     * @param to    where the line goes, usually standard error
     * @return the progress, at step 0
     */
    public static Progress of(String what, int total, PrintStream to) {
        var console = System.console();
        return new Progress(what, Math.max(1, total), to, console != null && console.isTerminal(), System.nanoTime());
    }

    /** For tests: never a terminal, clock given. */
    static Progress forLog(String what, int total, PrintStream to, long startNanos) {
        return new Progress(what, Math.max(1, total), to, false, startNanos);
    }

    /**
     * One more step done.
     *
     * @param detail what the step was, shown at the end of the line (may be empty)
     */
    public void step(String detail) {
        step(detail, System.nanoTime());
    }

    synchronized void step(String detail, long now) {
        done = Math.min(total, done + 1);
        boolean last = done == total;
        if (!terminal && !last && now - lastLine < QUIET_NANOS) {
            return;
        }
        lastLine = now;
        String line = line(detail, now);
        if (terminal) {
            to.print("\r" + line + "\033[K" + (last ? "\n" : ""));
        } else {
            to.println(line);
        }
        to.flush();
    }

    /** The line at {@code now}: e.g. {@code bench grid: 12/96 (12%), 34 s, about 3 min 58 s left - lstm H 2304}. */
    synchronized String line(String detail, long now) {
        double elapsed = (now - start) / 1e9;
        String left = done == 0 ? "" : ", about " + duration(elapsed / done * (total - done)) + " left";
        return String.format(Locale.ROOT, "%s: %d/%d (%d%%), %s%s%s", what, done, total, 100 * done / total, duration(elapsed),
                done == total ? "" : left, detail == null || detail.isEmpty() ? "" : " - " + detail);
    }

    /** {@code 7 s}, {@code 3 min 58 s}, {@code 1 h 02 min}. */
    static String duration(double seconds) {
        long s = Math.round(Math.max(0, seconds));
        if (s < 60) {
            return s + " s";
        }
        if (s < 3600) {
            return (s / 60) + " min " + (s % 60) + " s";
        }
        return String.format(Locale.ROOT, "%d h %02d min", s / 3600, (s % 3600) / 60);
    }
}
