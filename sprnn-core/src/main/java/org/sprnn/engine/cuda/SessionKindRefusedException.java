// SessionKindRefusedException.java — a session kind that cannot serve this model or batch (a resident session of a
// stacked model, or of a layer whose grid-barrier plan does not fit): the kind's stated limit, not a failure.
package org.sprnn.engine.cuda;

import org.sprnn.SprnnException;

/** Thrown by {@link SparsePersistentEngine#openSession} where the asked session kind cannot serve the model or batch. */
public final class SessionKindRefusedException extends SprnnException {
    private static final long serialVersionUID = 1L;

    SessionKindRefusedException(String message) {
        super(message);
    }
}
