package org.sprnn.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import org.sprnn.SprnnException;

/**
 * How {@link SparsePersistentEngine} splits a sequence into launches of a bounded number of steps. One definition, so
 * the engine and its unit test agree: the launches cover {@code [0, T)} in order without gap or overlap, each at most
 * {@code stepsPerLaunch} long (the timestamped exchange holds a slot per step of one launch, emptied before each).
 */
final class StepChunks {
    private StepChunks() {
    }

    /**
     * Steps {@code [first, first + steps)} of the sequence, run by one launch.
     *
     * @param first first step
     * @param steps steps in this launch ({@code >= 1})
     */
    record Chunk(int first, int steps) {
    }

    /** The launches of a sequence of {@code steps} steps, at most {@code stepsPerLaunch} each (one launch for T = 0). */
    static List<Chunk> of(int steps, int stepsPerLaunch) {
        if (steps < 0 || stepsPerLaunch < 1) {
            throw new SprnnException("step chunks: " + steps + " steps in launches of " + stepsPerLaunch + " out of range");
        }
        List<Chunk> out = new ArrayList<>();
        for (int first = 0; first < steps; first += stepsPerLaunch) {
            out.add(new Chunk(first, Math.min(stepsPerLaunch, steps - first)));
        }
        if (out.isEmpty()) {
            out.add(new Chunk(0, 0));
        }
        return out;
    }

    /** The longest launch's steps. */
    static int longest(List<Chunk> chunks) {
        return chunks.stream().mapToInt(Chunk::steps).max().orElse(0);
    }
}
