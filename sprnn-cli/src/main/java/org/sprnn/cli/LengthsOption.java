package org.sprnn.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import org.sprnn.SprnnException;
import org.sprnn.engine.SequenceLengths;
import org.sprnn.io.NpyIntegers;

/**
 * {@code --lengths}: per-sequence lengths as a comma-separated list ({@code 17,256,90,3}) or a {@code .npy} file of
 * int32/int64 {@code [B]}. A value that names an existing file, or ends in {@code .npy}, is read as a file.
 */
final class LengthsOption {
    private LengthsOption() {
    }

    /**
     * The lengths {@code value} gives, checked against a batch of {@code batch} sequences of {@code steps} steps.
     *
     * @return the lengths, or null where {@code value} is null
     * @throws SprnnException naming {@code --lengths} (or the file) and the entry at fault
     */
    static SequenceLengths parse(String value, int batch, int steps) {
        if (value == null) {
            return null;
        }
        boolean file = fileOf(value) != null;
        String where = file ? org.sprnn.io.Untrusted.escape(value) : "--lengths";
        try {
            SequenceLengths lengths = file ? fromFile(Path.of(value)) : SequenceLengths.parse(value);
            lengths.check(batch, steps);
            return lengths;
        } catch (SprnnException e) {
            String msg = e.getMessage();
            throw new SprnnException(msg.startsWith(value + ":") ? msg : where + ": " + msg);
        }
    }

    /**
     * The file {@code value} names, as {@link #parse} reads it (one that exists as a regular file, or any name ending in
     * {@code .npy}), or null for a list of lengths (or a value no path can be made of).
     */
    static Path fileOf(String value) {
        if (value == null) {
            return null;
        }
        try {
            Path p = Path.of(value);
            return value.endsWith(".npy") || Files.isRegularFile(p) ? p : null;
        } catch (java.nio.file.InvalidPathException e) {
            return null;
        }
    }

    private static SequenceLengths fromFile(Path file) {
        long[] raw = NpyIntegers.read(file, "lengths", SequenceLengths.MAX_COUNT);
        int[] v = new int[raw.length];
        for (int b = 0; b < raw.length; b++) {
            if (raw[b] < 1 || raw[b] > Integer.MAX_VALUE) {
                throw new SprnnException("lengths[" + b + "] is " + raw[b] + ": every sequence must have 1 to T steps");
            }
            v[b] = (int) raw[b];
        }
        return new SequenceLengths(v);
    }
}
