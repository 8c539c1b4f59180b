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

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

    /** The longest file name most file systems take (NAME_MAX), in bytes. */
    private static final int NAME_MAX = 255;

    /** Bytes of a temporary file's name besides the target's name: ".", ".sprnn-", pid (19), "-", random (13), ".tmp". */
    private static final int TEMP_NAME_OVERHEAD = 1 + 7 + 19 + 1 + 13 + 4;

    /** How long the shutdown hook waits for renames under way, so that a batch is not cut between two renames. */
    private static final Duration COMMIT_WAIT = Duration.ofSeconds(2);

    private static final long PID = ProcessHandle.current().pid();

    /** Temporary files of this process that exist or are about to, until renamed or deleted. */
    private static final Set<Path> IN_FLIGHT = ConcurrentHashMap.newKeySet();

    /** Batches between their first and last rename. */
    private static final AtomicInteger COMMITTING = new AtomicInteger();

    /** Set by the shutdown hook: no write starts a rename or keeps a new temporary file after it. */
    private static volatile boolean shuttingDown;

    private AtomicFiles() {
    }

    /** Writes the content of a file to an open channel. */
    @FunctionalInterface
    public interface ChannelWriter {
        /** Writes everything; the channel is positioned at 0 and closed by the caller. */
        void write(FileChannel channel) throws IOException;
    }

    /**
     * Writes {@code target} atomically. On any failure (an exception from {@code writer}, a full disk) the
     * temporary file is deleted and {@code target} is left as it was.
     *
     * @throws SprnnException naming the path if the directory is missing or unwritable, the target exists
     *                        but is not a regular file, or writing fails; a SprnnException thrown by
     *                        {@code writer} passes through unchanged
     */
    public static void write(Path target, ChannelWriter writer) {
        batch().add(target, writer).write();
    }

    /** A new, empty batch of files to write as one unit. */
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

        /** Adds a file; {@code writer} runs only when the batch is written. */
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
            List<Target> ts = resolve();
            if (ts.isEmpty()) {
                return;
            }
            ShutdownHook.install();
            List<Path> temps = new ArrayList<>(ts.size());
            boolean done = false;
            try {
                for (int i = 0; i < ts.size(); i++) {
                    Target t = ts.get(i);
                    removeStaleTemps(t);
                    Path tmp = createTemp(t);
                    temps.add(tmp);
                    writeTemp(t, tmp, writers.get(i));
                }
                commit(ts, temps);
                done = true;
            } finally {
                if (!done) {
                    for (Path tmp : temps) {
                        deleteQuietly(tmp);
                        IN_FLIGHT.remove(tmp);
                    }
                }
            }
        }

        private List<Target> resolve() {
            List<Target> ts = new ArrayList<>(targets.size());
            Map<Path, Path> seen = new HashMap<>(); // real path of the target → the name it was given as
            for (Path given : targets) {
                Target t = Target.of(given);
                checkTarget(t);
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

    /**
     * One target: as given (for messages), absolute, its directory, and its real location (the directory
     * with links resolved, for finding the same file named twice).
     */
    private record Target(Path given, Path abs, Path dir, Path real) {
        static Target of(Path given) {
            Path abs = given.toAbsolutePath();
            Path dir = abs.getParent();
            if (dir == null || abs.getFileName() == null) {
                throw new SprnnException(given + ": cannot write: not a file name");
            }
            if (!Files.isDirectory(dir)) {
                throw new SprnnException(given + ": cannot write: directory " + dir + " does not exist");
            }
            Path real;
            try {
                real = dir.toRealPath().resolve(abs.getFileName());
            } catch (IOException e) {
                throw new SprnnException(given + ": cannot write: directory " + dir + ": " + describe(e), e);
            }
            return new Target(given, abs, dir, real);
        }

        String name() {
            return abs.getFileName().toString();
        }
    }

    /** Refuses a target that exists and is not a regular file. */
    private static void checkTarget(Target t) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(t.abs(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return; // a new file
        } catch (IOException e) {
            throw new SprnnException(t.given() + ": cannot write: " + describe(e), e);
        }
        if (a.isRegularFile()) {
            return;
        }
        if (a.isDirectory()) {
            throw new SprnnException(t.given() + ": cannot write: it is a directory");
        }
        throw new SprnnException(t.given() + ": cannot write: it is " + kindOf(t.abs(), a)
                + ", not a regular file (sprnn replaces only regular files)");
    }

    /** What a path that is neither a regular file nor a directory is, in words. */
    private static String kindOf(Path p, BasicFileAttributes a) {
        if (a.isSymbolicLink()) {
            return "a symbolic link";
        }
        try {
            int type = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000; // S_IFMT
            switch (type) {
                case 0010000: return "a named pipe (FIFO)";
                case 0020000: return "a character device";
                case 0060000: return "a block device";
                case 0140000: return "a socket";
                default: break;
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            // no unix view: say what we know
        }
        return "a special file";
    }

    /** The start of every temporary file's name for this target: ".NAME.sprnn-", NAME cut so that names fit NAME_MAX. */
    private static String tempPrefix(String name) {
        String cut = name;
        while (cut.getBytes(StandardCharsets.UTF_8).length > NAME_MAX - TEMP_NAME_OVERHEAD) {
            cut = cut.substring(0, cut.offsetByCodePoints(cut.length(), -1));
        }
        return "." + cut + ".sprnn-";
    }

    /** Matches the names {@link #createTemp} gives for a target, capturing the writer's pid. */
    private static Pattern tempPattern(String name) {
        return Pattern.compile(Pattern.quote(tempPrefix(name)) + "([0-9]{1,19})-[0-9a-z]{1,13}\\.tmp");
    }

    /** Creates the temporary file (registered as in flight before it exists) and widens its permissions. */
    private static Path createTemp(Target t) {
        String prefix = tempPrefix(t.name()) + PID + "-";
        while (true) {
            Path tmp = t.dir().resolve(prefix + Long.toUnsignedString(ThreadLocalRandom.current().nextLong(), 36) + ".tmp");
            IN_FLIGHT.add(tmp);
            try {
                Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                IN_FLIGHT.remove(tmp);
                continue;
            } catch (AccessDeniedException e) {
                IN_FLIGHT.remove(tmp);
                throw new SprnnException(t.given() + ": cannot write: directory " + t.dir() + " is not writable", e);
            } catch (IOException e) {
                IN_FLIGHT.remove(tmp);
                throw new SprnnException(t.given() + ": cannot write: " + describe(e), e);
            }
            if (shuttingDown) { // the hook may have run before the file existed: delete it here (the caller does)
                throw new SprnnException(t.given() + ": not written: the JVM is shutting down");
            }
            setPermissions(tmp, t.abs());
            return tmp;
        }
    }

    private static void writeTemp(Target t, Path tmp, ChannelWriter writer) {
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            writer.write(ch);
            pauseForTests();
            ch.force(true);
        } catch (IOException e) {
            throw new SprnnException(t.given() + ": cannot write: " + describe(e), e);
        }
    }

    /** Renames every temporary file over its target, unless the JVM is shutting down. */
    private static void commit(List<Target> ts, List<Path> temps) {
        COMMITTING.incrementAndGet();
        try {
            if (shuttingDown) {
                throw new SprnnException(ts.get(0).given() + ": not written: the JVM is shutting down");
            }
            for (Target t : ts) {
                checkTarget(t); // again: the path may have changed while the files were written
            }
            for (int i = 0; i < ts.size(); i++) {
                Target t = ts.get(i);
                try {
                    try {
                        Files.move(temps.get(i), t.abs(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(temps.get(i), t.abs(), StandardCopyOption.REPLACE_EXISTING);
                    }
                } catch (IOException e) {
                    String replaced = i == 0 ? "" : " (already replaced: "
                            + String.join(", ", ts.subList(0, i).stream().map(x -> x.given().toString()).toList()) + ")";
                    throw new SprnnException(t.given() + ": cannot write: " + describe(e) + replaced, e);
                }
                IN_FLIGHT.remove(temps.get(i));
            }
        } finally {
            COMMITTING.decrementAndGet();
        }
    }

    /**
     * Deletes the temporary files of this target left by writers that are gone: the pid in the name is
     * not a running process (or is this one, which is not writing it) and the file has not changed for
     * {@link #STALE_SECONDS}. Only regular files whose names match exactly are touched; best effort.
     */
    private static void removeStaleTemps(Target t) {
        Pattern pattern = tempPattern(t.name());
        String prefix = tempPrefix(t.name());
        FileTime cutoff = FileTime.fromMillis(System.currentTimeMillis() - STALE_SECONDS * 1000L);
        DirectoryStream.Filter<Path> filter = p -> p.getFileName().toString().startsWith(prefix);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(t.dir(), filter)) {
            for (Path p : entries) {
                Matcher m = pattern.matcher(p.getFileName().toString());
                if (!m.matches() || writerRunning(m.group(1), p)) {
                    continue;
                }
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isRegularFile() && a.lastModifiedTime().compareTo(cutoff) < 0) {
                    deleteQuietly(p);
                }
            }
        } catch (IOException | DirectoryIteratorException | SecurityException e) {
            // leftovers stay until a later write; the write itself goes on
        }
    }

    /** Whether the process that named a temporary file may still be writing it. */
    private static boolean writerRunning(String pidDigits, Path tmp) {
        long pid;
        try {
            pid = Long.parseLong(pidDigits);
        } catch (NumberFormatException e) {
            return true; // not a pid sprnn wrote: leave the file alone
        }
        if (pid == PID) {
            return IN_FLIGHT.contains(tmp);
        }
        // a live pid that was reused by another program keeps the file: never delete what may be in use
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException | RuntimeException ignored) {
            // the failure being reported matters more; a later write removes the leftover
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

    /**
     * Deletes the temporary files in flight when the JVM shuts down (SIGTERM, SIGINT, SIGHUP, System.exit).
     * It takes no lock a writer holds: writers go on writing into deleted files and fail at their rename.
     * Renames under way are given {@link #COMMIT_WAIT} to finish, so that a batch is not cut between two.
     */
    private static final class ShutdownHook {
        static {
            try {
                Runtime.getRuntime().addShutdownHook(new Thread(ShutdownHook::run, "sprnn-atomic-files-cleanup"));
            } catch (IllegalStateException e) {
                // written from another shutdown hook: no cleanup on this shutdown; a later write removes leftovers
            }
        }

        private ShutdownHook() {
        }

        /** Installs the hook (once, when this class initialises). */
        static void install() {
            // the static initializer does the work
        }

        private static void run() {
            shuttingDown = true;
            long deadline = System.nanoTime() + COMMIT_WAIT.toNanos();
            while (COMMITTING.get() > 0 && System.nanoTime() < deadline) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    break;
                }
            }
            for (Path tmp : IN_FLIGHT) {
                deleteQuietly(tmp);
            }
        }
    }

    /**
     * The permissions a written file gets: those of the file it replaces (a private rw------- file stays
     * private), else rw-r--r-- like any new file, whatever the temporary file started with (rw-------).
     */
    private static void setPermissions(Path tmp, Path target) {
        try {
            java.util.Set<java.nio.file.attribute.PosixFilePermission> perms;
            try {
                perms = Files.getPosixFilePermissions(target, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException absent) {
                perms = PosixFilePermissions.fromString("rw-r--r--");
            }
            Files.setPosixFilePermissions(tmp, perms);
        } catch (UnsupportedOperationException | IOException ignored) {
            // not a POSIX file system: keep the default
        }
    }

    private static String describe(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
