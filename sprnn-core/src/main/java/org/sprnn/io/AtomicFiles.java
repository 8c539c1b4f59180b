package org.sprnn.io;

// Every file sprnn writes goes through here, so that a failed or interrupted write never leaves a
// partial file under the target name: the bytes go to a temporary file in the same directory (same
// file system, so the final rename is atomic), are forced to disk, and only then renamed over the target.
//
// What else can go wrong, and what this file does about it:
//  - a run that writes several files (output, final states) must write all of them or none: a Batch
//    writes every temporary file first and renames only when all are complete;
//  - the rename replaces whatever the target path was, so a FIFO, a symbolic link, a device
//    (`--output /dev/null` as root) or a socket would be replaced: only a regular file or nothing is;
//  - SIGTERM/SIGINT end the JVM in the middle of a write: a shutdown hook deletes the temporary files
//    in flight; after kill -9 nothing runs, so every write first removes the leftovers of the same
//    target whose writer process is gone (the writer's pid is in the temporary file's name).
//
// This file holds the public API and the write itself (the Batch: check, write temporaries, rename).
// The rest lives beside it, one job a file: WriteTarget (a target resolved and checked), TempFiles
// (temporary-file naming, creation, stale cleanup) and ShutdownCleanup (the shutdown hook).

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.sprnn.SprnnException;

/**
 * Writes files all-or-nothing: each into a temporary file beside its target, renamed over the target
 * once complete. A {@link Batch} does this for several files as one unit: all are written, or none is
 * and every target is left as it was.
 *
 * <p>Targets must be regular files or not exist: a directory, symbolic link, named pipe, device or
 * socket is refused with a one-line {@link SprnnException} (the rename would replace it).
 *
 * <p>Temporary files are named {@code .NAME.sprnn-PID-RANDOM.tmp}, {@code PID} being the writing process.
 * A JVM that ends by SIGTERM, SIGINT or SIGHUP deletes those it was writing (a shutdown hook); one killed
 * outright (SIGKILL, a crash, power loss) leaves them, and the next write of the same target in any
 * process removes every one whose writer is no longer running and that has not changed for 10 seconds
 * (the pause keeps writers of other pid namespaces or hosts sharing the directory safe). Two processes may write the same target at once: each has its own
 * temporary file, and the last rename wins with a complete file.
 *
 * <p>For tests of interruption only: the system property {@code sprnn.test.atomicFilesPauseMillis} makes
 * every write pause that many milliseconds once its content is in the temporary file, before the file
 * is forced and renamed.
 *
 * <p>Once the JVM's shutdown has begun and the hook has run, writes are refused (their temporary files
 * would no longer be cleaned up).
 */
public final class AtomicFiles {
    /** Test hook: pause this many milliseconds with each temporary file written, before it is renamed. */
    static final String PAUSE_PROPERTY = "sprnn.test.atomicFilesPauseMillis";

    /** A leftover temporary file of a dead writer is removed once it is this old (other pid namespaces, hosts). */
    static final int STALE_SECONDS = 10;

    private AtomicFiles() {
    }

    /** Writes the content of a file to an open channel. */
    @FunctionalInterface
    public interface ChannelWriter {
        /**
         * Writes everything; the channel is positioned at 0 and closed by the caller.
         *
         * @param channel the temporary file's channel, open for writing
         * @throws IOException if writing fails (the temporary file is then deleted)
         */
        void write(FileChannel channel) throws IOException;
    }

    /**
     * Writes {@code target} atomically. On any failure (an exception from {@code writer}, a full disk) the
     * temporary file is deleted and {@code target} is left as it was.
     *
     * @param target the file to write or replace
     * @param writer writes the content
     * @throws SprnnException naming the path if the directory is missing or unwritable, the target exists
     *                        but is not a regular file, or writing fails; a SprnnException thrown by
     *                        {@code writer} passes through unchanged
     */
    public static void write(Path target, ChannelWriter writer) {
        batch().add(target, writer).write();
    }

    /**
     * A new, empty batch of files to write as one unit.
     *
     * @return the batch; {@link Batch#write()} writes it
     */
    public static Batch batch() {
        return new Batch();
    }

    /**
     * Files written as one unit: every target is checked, then every temporary file written and forced,
     * and only when all of that succeeded are they renamed over their targets, in the order added. On any
     * failure before the renames every temporary file is deleted and no target changes.
     *
     * <p>The renames themselves are one system call each and are not undone: if one fails after others
     * (the directory changed under the batch), the error names the files already replaced. A batch is
     * used by one thread and written once.
     */
    public static final class Batch {
        private final List<Path> targets = new ArrayList<>();
        private final List<ChannelWriter> writers = new ArrayList<>();
        private boolean written;

        private Batch() {
        }

        /**
         * Adds a file; {@code writer} runs only when the batch is written.
         *
         * @param target the file to write or replace
         * @param writer writes its content
         * @return this batch
         */
        public Batch add(Path target, ChannelWriter writer) {
            targets.add(Objects.requireNonNull(target, "target"));
            writers.add(Objects.requireNonNull(writer, "writer"));
            return this;
        }

        /**
         * Checks every target without writing: its directory exists, it is a regular file or absent, and
         * no file is named twice. {@link #write()} checks again; this lets a caller refuse bad targets
         * before long work.
         *
         * @throws SprnnException naming the first bad target and what is wrong with it
         */
        public void check() {
            resolve();
        }

        /**
         * Writes every file, or none.
         *
         * @throws SprnnException naming the path as {@link AtomicFiles#write}; a SprnnException thrown by
         *                        a writer passes through unchanged
         * @throws IllegalStateException if the batch was written before
         */
        public void write() {
            if (written) {
                throw new IllegalStateException("batch written twice");
            }
            written = true;
            List<WriteTarget> ts = resolve();
            if (ts.isEmpty()) {
                return;
            }
            ShutdownCleanup.install();
            List<Path> temps = new ArrayList<>(ts.size());
            boolean done = false;
            try {
                for (int i = 0; i < ts.size(); i++) {
                    WriteTarget t = ts.get(i);
                    TempFiles.removeStale(t);
                    Path tmp = TempFiles.create(t);
                    temps.add(tmp);
                    writeTemp(t, tmp, writers.get(i));
                }
                commit(ts, temps);
                done = true;
            } finally {
                if (!done) {
                    for (Path tmp : temps) {
                        TempFiles.deleteQuietly(tmp);
                        TempFiles.IN_FLIGHT.remove(tmp);
                    }
                }
            }
        }

        private List<WriteTarget> resolve() {
            List<WriteTarget> ts = new ArrayList<>(targets.size());
            Map<Path, Path> seen = new HashMap<>(); // real path of the target → the name it was given as
            for (Path given : targets) {
                WriteTarget t = WriteTarget.of(given);
                t.check();
                Path earlier = seen.putIfAbsent(t.real(), given);
                if (earlier != null) {
                    throw new SprnnException(given + ": cannot write: the same file is named twice"
                            + (earlier.equals(given) ? "" : " (as " + earlier + " and " + given + ")"));
                }
                ts.add(t);
            }
            return ts;
        }
    }

    private static void writeTemp(WriteTarget t, Path tmp, ChannelWriter writer) {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            writer.write(ch);
            pauseForTests();
            ch.force(true);
        } catch (IOException e) {
            throw new SprnnException(t.given() + ": cannot write: " + WriteTarget.describe(e), e);
        }
    }

    /** Renames every temporary file over its target, unless the JVM is shutting down. */
    private static void commit(List<WriteTarget> ts, List<Path> temps) {
        ShutdownCleanup.COMMITTING.incrementAndGet();
        try {
            if (ShutdownCleanup.shuttingDown()) {
                throw new SprnnException(ts.get(0).given() + ": not written: the JVM is shutting down");
            }
            for (WriteTarget t : ts) {
                t.check(); // again: the path may have changed while the files were written
            }
            for (int i = 0; i < ts.size(); i++) {
                WriteTarget t = ts.get(i);
                try {
                    try {
                        Files.move(temps.get(i), t.abs(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(temps.get(i), t.abs(), StandardCopyOption.REPLACE_EXISTING);
                    }
                } catch (IOException e) {
                    String replaced = i == 0 ? "" : " (already replaced: "
                            + String.join(", ", ts.subList(0, i).stream().map(x -> x.given().toString()).toList()) + ")";
                    throw new SprnnException(t.given() + ": cannot write: " + WriteTarget.describe(e) + replaced, e);
                }
                TempFiles.IN_FLIGHT.remove(temps.get(i));
            }
        } finally {
            ShutdownCleanup.COMMITTING.decrementAndGet();
        }
    }

    private static void pauseForTests() {
        long ms = Long.getLong(PAUSE_PROPERTY, 0L);
        if (ms > 0) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
