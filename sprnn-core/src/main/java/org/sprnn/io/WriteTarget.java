package org.sprnn.io;

// A path AtomicFiles is asked to write, resolved and checked: its directory must exist and the path must
// be a regular file or nothing, because the final rename replaces whatever is there (a FIFO, a symbolic
// link, `--output /dev/null` as root). Also the one place that turns an IOException into the few words a
// refusal shows.

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import org.sprnn.SprnnException;

/**
 * One target: as given (for messages), absolute, its directory, and its real location (the directory
 * with links resolved, for finding the same file named twice).
 */
record WriteTarget(Path given, Path abs, Path dir, Path real) {
        static WriteTarget of(Path given) {
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
            return new WriteTarget(given, abs, dir, real);
        }

        String name() {
            return abs.getFileName().toString();
        }

    /** Refuses this target if it exists and is not a regular file. */
    void check() {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(abs, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return; // a new file
        } catch (IOException e) {
            throw new SprnnException(given + ": cannot write: " + describe(e), e);
        }
        if (a.isRegularFile()) {
            return;
        }
        if (a.isDirectory()) {
            throw new SprnnException(given + ": cannot write: it is a directory");
        }
        throw new SprnnException(given + ": cannot write: it is " + kindOf(abs, a)
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

    /** An I/O failure in the few words a refusal shows. */
    static String describe(IOException e) {
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
