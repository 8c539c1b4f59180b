package org.sprnn.engine;

import java.util.Arrays;
import org.sprnn.SprnnException;

/**
 * The length of every sequence of a batch, for a run whose sequences end at different steps, with PyTorch's
 * {@code pack_padded_sequence} semantics: sequence {@code b} is the input's steps {@code 0 .. lengths[b]-1}
 * (the steps after it are padding, never read); its outputs after its last step are zero, and its final
 * states ({@code h_n}, {@code c_n}) are those of its own last step. A bidirectional layer's reverse direction
 * starts at each sequence's own last step.
 *
 * <p>Immutable: the values are copied in and out.
 *
 * @param values one length per batch element, each at least 1
 */
public record SequenceLengths(int[] values) {

    /** The most entries a list of lengths may have (one per batch element): bounds what a hostile file can ask for. */
    public static final int MAX_COUNT = 1 << 20;

    /**
     * Checks that there is at least one length, at most {@link #MAX_COUNT}, each at least 1.
     *
     * @throws SprnnException naming {@code lengths} and the entry at fault
     */
    public SequenceLengths {
        if (values == null || values.length == 0) {
            throw new SprnnException("lengths: empty (expected one length per batch element)");
        }
        if (values.length > MAX_COUNT) {
            throw new SprnnException("lengths: " + values.length + " entries, more than the " + MAX_COUNT + " a batch may have");
        }
        values = values.clone();
        for (int b = 0; b < values.length; b++) {
            if (values[b] < 1) {
                throw new SprnnException("lengths[" + b + "] is " + values[b] + ": every sequence must have at least 1 step");
            }
        }
    }

    /**
     * The lengths given.
     *
     * @param values one length per batch element, each at least 1
     * @return the lengths
     * @throws SprnnException naming {@code lengths} and the entry at fault
     */
    public static SequenceLengths of(int... values) {
        return new SequenceLengths(values);
    }

    /**
     * Parses a comma-separated list such as {@code 17,256,90,3} (spaces around entries allowed).
     *
     * @param text the list
     * @return the lengths
     * @throws SprnnException naming the entry that is not an integer of at least 1
     */
    public static SequenceLengths parse(String text) {
        if (text == null || text.isBlank()) {
            throw new SprnnException("lengths: empty (expected one length per batch element, e.g. 17,256,90,3)");
        }
        String[] parts = text.split(",", -1);
        if (parts.length > MAX_COUNT) {
            throw new SprnnException("lengths: " + parts.length + " entries, more than the " + MAX_COUNT + " a batch may have");
        }
        int[] v = new int[parts.length];
        for (int b = 0; b < parts.length; b++) {
            String p = parts[b].strip();
            try {
                if (!p.matches("-?[0-9]{1,10}")) { // ASCII digits: parseInt takes '+1' and other scripts' digits too
                    throw new NumberFormatException();
                }
                v[b] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                String shown = (p.length() > 20 ? p.substring(0, 20) + "..." : p).replaceAll("[^\\x20-\\x7e]", "?"); // one printable line
                throw new SprnnException("lengths[" + b + "] is '" + shown + "', not an integer (expected e.g. 17,256,90,3)");
            }
        }
        return new SequenceLengths(v);
    }

    /**
     * The lengths (a copy).
     *
     * @return one length per batch element
     */
    @Override
    public int[] values() {
        return values.clone();
    }

    /**
     * The number of sequences (the batch size B these lengths are for).
     *
     * @return the number of lengths
     */
    public int count() {
        return values.length;
    }

    /**
     * Sequence {@code b}'s length.
     *
     * @param b the batch element
     * @return its length
     */
    public int get(int b) {
        return values[b];
    }

    /**
     * The longest length.
     *
     * @return the maximum of the lengths
     */
    public int max() {
        return Arrays.stream(values).max().orElseThrow();
    }

    /**
     * Whether every sequence has {@code steps} steps (then a run with these lengths is a plain run).
     *
     * @param steps the input's steps T
     * @return true if every length is {@code steps}
     */
    public boolean allEqual(int steps) {
        return Arrays.stream(values).allMatch(v -> v == steps);
    }

    /**
     * Checks the lengths against a run's batch and steps: one per batch element, none beyond T.
     *
     * @param batch the batch size B
     * @param steps the input's steps T
     * @throws SprnnException naming {@code lengths}, the entry and the limit
     */
    public void check(int batch, int steps) {
        if (values.length != batch) {
            throw new SprnnException("lengths: " + values.length + " entr" + (values.length == 1 ? "y" : "ies") + " for a batch of "
                    + batch + " (expected one length per batch element)");
        }
        for (int b = 0; b < values.length; b++) {
            if (values[b] > steps) {
                throw new SprnnException("lengths[" + b + "] is " + values[b] + ", more than the input's " + steps + " steps");
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SequenceLengths s && Arrays.equals(values, s.values);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return Arrays.toString(values);
    }
}
