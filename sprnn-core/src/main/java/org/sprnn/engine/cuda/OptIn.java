package org.sprnn.engine.cuda;

import java.util.List;
import org.sprnn.SprnnException;

/** The persistent engines' opt-in modes: a system property, else an environment variable, else the default. */
final class OptIn {
    private OptIn() {
    }

    /**
     * The mode set by {@code property} (else {@code env}, else {@code fallback}), stripped.
     *
     * @param property the system property
     * @param env      the environment variable
     * @param fallback the default
     * @param values   the modes allowed
     * @return one of {@code values}
     * @throws SprnnException naming the property and the variable, the value (escaped) and the modes allowed
     */
    static String mode(String property, String env, String fallback, List<String> values) {
        String v = System.getProperty(property);
        if (v == null) {
            v = System.getenv(env);
        }
        if (v == null || v.isBlank()) {
            v = fallback;
        }
        if (!values.contains(v.strip())) {
            throw new SprnnException(property + " (or " + env + ") is " + org.sprnn.io.Untrusted.quote(v) + ": use "
                    + String.join(" or ", values));
        }
        return v.strip();
    }
}
