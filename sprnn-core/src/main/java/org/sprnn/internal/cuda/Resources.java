// Resources.java — the one owner of native resources that belong together (an engine's device buffers and
// modules, one run's workspace): written once instead of a hand-made stack in every class that holds
// several, so that every holder closes in reverse order of creation and reports the first failure the same
// way.
package org.sprnn.internal.cuda;

import java.util.ArrayDeque;
import java.util.Deque;
import org.sprnn.SprnnException;

/**
 * Native resources closed together, in reverse order of {@link #add}, by one {@link #close()}.
 *
 * <p>{@code close()} closes every resource even when one fails, then rethrows the first failure (a
 * {@link RuntimeException} as it was, anything else wrapped in a {@link SprnnException}); it is idempotent.
 * Adding to a closed owner closes the resource at once and fails, so nothing is leaked by a late add.
 * Not thread-safe: an owner belongs to one engine or run, which serialises its use.
 */
public final class Resources implements AutoCloseable {
    private final Deque<AutoCloseable> owned = new ArrayDeque<>(); // the last added first
    private boolean closed;

    /**
     * Takes ownership of {@code resource} and returns it.
     *
     * @throws SprnnException if this owner is closed (the resource is closed first)
     */
    public <T extends AutoCloseable> T add(T resource) {
        if (closed) {
            closeQuietly(resource);
            throw new SprnnException("native resources used after close()");
        }
        owned.push(resource);
        return resource;
    }

    /** Whether {@link #close()} has run. */
    public boolean isClosed() {
        return closed;
    }

    /** How many resources are held. */
    public int size() {
        return owned.size();
    }

    /** Closes every resource, the last added first; rethrows the first failure after closing the rest. */
    @Override
    public void close() {
        closed = true;
        RuntimeException first = null;
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            } catch (Exception e) {
                if (first == null) {
                    first = new SprnnException("closing a native resource failed: " + e.getMessage(), e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Closes everything after {@code failure} (a build that threw midway), attaching any failure of the
     * closing to it as suppressed, so that the original error is the one reported:
     * {@code catch (RuntimeException | Error e) { owner.closeAfter(e); throw e; }}.
     */
    public void closeAfter(Throwable failure) {
        try {
            close();
        } catch (RuntimeException closing) {
            failure.addSuppressed(closing);
        }
    }

    private static void closeQuietly(AutoCloseable r) {
        try {
            r.close();
        } catch (Exception ignored) {
            // the caller's misuse is what gets reported
        }
    }
}
