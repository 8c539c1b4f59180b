package org.sprnn.io;

// Every file sprnn writes goes through here, so that a failed or interrupted write never leaves a
// partial file under the target name: the bytes go to a temporary file in the same directory (same
// file system, so the final rename is atomic), are forced to disk, and only then renamed over the target.

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.sprnn.SprnnException;

/** Writes a file all-or-nothing: a temporary file beside the target, renamed over it on success. */
public final class AtomicFiles {
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
     * @throws SprnnException naming the path if the directory is missing or unwritable, the target is a
     *                        directory, or writing fails; a SprnnException thrown by {@code writer}
     *                        passes through unchanged
     */
    public static void write(Path target, ChannelWriter writer) {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new SprnnException(target + ": cannot write: directory " + dir + " does not exist");
        }
        if (Files.isDirectory(abs)) {
            throw new SprnnException(target + ": cannot write: it is a directory");
        }
        Path tmp;
        try {
            tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
            widenPermissions(tmp);
        } catch (AccessDeniedException e) {
            throw new SprnnException(target + ": cannot write: directory " + dir + " is not writable", e);
        } catch (IOException e) {
            throw new SprnnException(target + ": cannot write: " + describe(e), e);
        }
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writer.write(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
        } catch (IOException e) {
            throw new SprnnException(target + ": cannot write: " + describe(e), e);
        } finally {
            if (!done) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original failure is what the user needs to see
                }
            }
        }
    }

    /** Temporary files start as rw-------; a written file should read like any other (rw-r--r--). */
    private static void widenPermissions(Path tmp) {
        try {
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
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
