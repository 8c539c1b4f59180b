package org.sprnn.io;

// The temporary files of AtomicFiles: how they are named (.NAME.sprnn-PID-RANDOM.tmp, fitting NAME_MAX),
// created (registered as in flight first, so the shutdown hook can find them) and given the target's
// permissions, and how the leftovers of writers killed outright (kill -9, a crash) are found and removed:
// the writer's pid is in the name, and a file whose writer is gone and that has not changed for
// AtomicFiles.STALE_SECONDS is deleted by the next write of the same target.

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.sprnn.SprnnException;

/** Naming, creation and stale cleanup of the temporary files {@link AtomicFiles} writes into. */
final class TempFiles {
    /** The longest file name most file systems take (NAME_MAX), in bytes. */
    private static final int NAME_MAX = 255;

    /** Bytes of a temporary file's name besides the target's name: ".", ".sprnn-", pid (19), "-", random (13), ".tmp". */
    private static final int TEMP_NAME_OVERHEAD = 1 + 7 + 19 + 1 + 13 + 4;

    private static final long PID = ProcessHandle.current().pid();

    /** Temporary files of this process that exist or are about to, until renamed or deleted. */
    static final Set<Path> IN_FLIGHT = ConcurrentHashMap.newKeySet();

    private TempFiles() {
    }

    /** The start of every temporary file's name for this target: ".NAME.sprnn-", NAME cut so that names fit NAME_MAX. */
    private static String tempPrefix(String name) {
        String cut = name;
        while (cut.getBytes(StandardCharsets.UTF_8).length > NAME_MAX - TEMP_NAME_OVERHEAD) {
            cut = cut.substring(0, cut.offsetByCodePoints(cut.length(), -1));
        }
        return "." + cut + ".sprnn-";
    }

    /** Matches the names {@link #create} gives for a target, capturing the writer's pid. */
    private static Pattern tempPattern(String name) {
        return Pattern.compile(Pattern.quote(tempPrefix(name)) + "([0-9]{1,19})-[0-9a-z]{1,13}\\.tmp");
    }

    /** Creates the temporary file (registered as in flight before it exists) and widens its permissions. */
    static Path create(WriteTarget t) {
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
                throw new SprnnException(t.given() + ": cannot write: " + WriteTarget.describe(e), e);
            }
            if (ShutdownCleanup.shuttingDown()) { // the hook may have run before the file existed: delete it here (the caller does)
                throw new SprnnException(t.given() + ": not written: the JVM is shutting down");
            }
            setPermissions(tmp, t.abs());
            return tmp;
        }
    }

    /**
     * Deletes the temporary files of this target left by writers that are gone: the pid in the name is
     * not a running process (or is this one, which is not writing it) and the file has not changed for
     * {@link AtomicFiles#STALE_SECONDS}. Only regular files whose names match exactly are touched; best effort.
     */
    static void removeStale(WriteTarget t) {
        Pattern pattern = tempPattern(t.name());
        String prefix = tempPrefix(t.name());
        FileTime cutoff = FileTime.fromMillis(System.currentTimeMillis() - AtomicFiles.STALE_SECONDS * 1000L);
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

    static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException | RuntimeException ignored) {
            // the failure being reported matters more; a later write removes the leftover
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
}
