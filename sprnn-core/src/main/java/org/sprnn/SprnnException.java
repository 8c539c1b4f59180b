package org.sprnn;

/**
 * A problem the user can act on: a malformed file, a wrong shape, an unavailable engine.
 *
 * <p>The message is one line that names the file, tensor or option and what is wrong with it. The CLI
 * prints it alone (exit code 2); a stack trace only with {@code --debug}.
 */
public class SprnnException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SprnnException(String message) {
        super(message);
    }

    public SprnnException(String message, Throwable cause) {
        super(message, cause);
    }
}
