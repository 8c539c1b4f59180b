package org.sprnn.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import org.sprnn.SprnnException;

/**
 * How {@link SparsePersistentEngine} splits a sequence into launches of a bounded number of steps, and how the step
 * tags of the timestamped exchange advance between launches. One definition, so the engine and its unit test agree:
 * the launches cover {@code [0, T)} in order without gap or overlap, each at most {@code stepsPerLaunch} long, and
 * launch {@code i} tags its words {@code epoch_i .. epoch_i + steps_i - 1} with {@code epoch_{i+1} = epoch_i + steps_i}
 * (skipping 0, the tag of a zeroed buffer), so no tag of an earlier launch can match in a reused slot.
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

    /**
     * The epoch after a launch that used tags {@code epoch .. epoch + steps - 1}: past every tag that launch used;
     * back to 1 once past {@code 2^31}, so that no launch's tags (at most {@code 2^31 + 2^31 - 1}) wrap to 0, the tag
     * of a zeroed slot. A slot is then only ever compared with the tag of the launch before, which differs.
     */
    static int nextEpoch(int epoch, int steps) {
        long next = Integer.toUnsignedLong(epoch) + Math.max(1, steps);
        return next > Integer.MAX_VALUE ? 1 : (int) next;
    }
}
