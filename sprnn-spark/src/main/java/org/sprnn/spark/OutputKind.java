package org.sprnn.spark;

import java.util.Locale;
import org.sprnn.SprnnException;

/** What {@link SprnnTransformer} writes for each row ({@code outputKind}). */
public enum OutputKind {
    /** Every step's output of the sequence, {@code [length][outputSize]} (outputSize = H, or 2H bidirectional). */
    ALL,
    /** The output at the sequence's own last step, {@code [outputSize]}. */
    LAST,
    /** The final hidden states, {@code [layers × directions][H]}, as PyTorch's {@code h_n} for that sequence. */
    STATE;

    /**
     * The kind a parameter value names: {@code all}, {@code last} or {@code state}, in any case.
     *
     * @param value the parameter's value
     * @return the kind
     * @throws SprnnException naming {@code outputKind} and the accepted values otherwise
     */
    public static OutputKind parse(String value) {
        for (OutputKind k : values()) {
            if (k.name().equalsIgnoreCase(value == null ? "" : value.trim())) {
                return k;
            }
        }
        throw new SprnnException("outputKind: expected all, last or state, got " + org.sprnn.io.Untrusted.quote(String.valueOf(value), 40));
    }

    /** The parameter's spelling of this kind. */
    String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
