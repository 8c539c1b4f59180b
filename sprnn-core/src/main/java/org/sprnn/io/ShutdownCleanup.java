package org.sprnn.io;

// SIGTERM/SIGINT/SIGHUP end the JVM in the middle of a write: this hook deletes the temporary files in
// flight, so that an interrupted run leaves no .tmp files behind. It also owns the two facts writers and
// the hook share: whether shutdown has begun (no write starts a rename after it) and how many batches
// are renaming (the hook gives them a moment, so that a batch is not cut between two renames).

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Deletes the temporary files in flight when the JVM shuts down (SIGTERM, SIGINT, SIGHUP, System.exit).
 * It takes no lock a writer holds: writers go on writing into deleted files and fail at their rename.
 * Renames under way are given {@link #COMMIT_WAIT} to finish, so that a batch is not cut between two.
 */
final class ShutdownCleanup {
    /** How long the shutdown hook waits for renames under way, so that a batch is not cut between two renames. */
    private static final Duration COMMIT_WAIT = Duration.ofSeconds(2);

    /** Batches between their first and last rename. */
    static final AtomicInteger COMMITTING = new AtomicInteger();

    /** Set by the shutdown hook: no write starts a rename or keeps a new temporary file after it. */
    private static volatile boolean shuttingDown;

    static {
        try {
            Runtime.getRuntime().addShutdownHook(new Thread(ShutdownCleanup::run, "sprnn-atomic-files-cleanup"));
        } catch (IllegalStateException e) {
            // written from another shutdown hook: no cleanup on this shutdown; a later write removes leftovers
        }
    }

    private ShutdownCleanup() {
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
        for (Path tmp : TempFiles.IN_FLIGHT) {
            TempFiles.deleteQuietly(tmp);
        }
    }

    /** Whether the hook has run: no write may start a rename or keep a new temporary file after it. */
    static boolean shuttingDown() {
        return shuttingDown;
    }
}
