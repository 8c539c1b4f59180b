package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;

/** The launches a long sequence is split into, and the step tags of the timestamped exchange across them. */
class StepChunksTest {

    @Test
    void launchesCoverTheSequenceInOrderWithoutGapOrOverlap() {
        for (int per : new int[] {1, 5, 16, 256}) {
            for (int steps : new int[] {1, 4, 5, 6, 15, 16, 17, 100, 255, 256, 257, 600, 1000}) {
                List<StepChunks.Chunk> cs = StepChunks.of(steps, per);
                String what = steps + " steps, " + per + " per launch: " + cs;
                int next = 0;
                for (StepChunks.Chunk c : cs) {
                    assertThat(c.first()).as(what).isEqualTo(next);
                    assertThat(c.steps()).as(what).isBetween(1, per);
                    next += c.steps();
                }
                assertThat(next).as(what).isEqualTo(steps);
                assertThat(cs).as(what).hasSize((steps + per - 1) / per);
                assertThat(StepChunks.longest(cs)).as(what).isEqualTo(Math.min(steps, per));
            }
        }
    }

    @Test
    void theDefaultRunsThePapersSequenceInOneLaunch() {
        assertThat(StepChunks.of(256, SparsePersistentEngine.STEPS_PER_LAUNCH)).containsExactly(new StepChunks.Chunk(0, 256));
        assertThat(StepChunks.of(600, SparsePersistentEngine.STEPS_PER_LAUNCH)).containsExactly(new StepChunks.Chunk(0, 256),
                new StepChunks.Chunk(256, 256), new StepChunks.Chunk(512, 88));
    }

    @Test
    void tagsOfSuccessiveLaunchesNeverRepeatAndNeverAreZero() {
        // the engine's sequence of epochs over many launches of a chunked run: every tag a slot can hold is unique
        int epoch = 1;
        Set<Long> tags = new HashSet<>();
        for (StepChunks.Chunk c : StepChunks.of(1000, 16)) {
            for (int t = 0; t < c.steps(); t++) {
                long tag = Integer.toUnsignedLong(epoch + t);
                assertThat(tag).as("tag of step %d of the launch at %d", t, c.first()).isNotZero();
                assertThat(tags.add(tag)).as("tag %d used twice (launch at %d)", tag, c.first()).isTrue();
            }
            epoch = StepChunks.nextEpoch(epoch, c.steps());
        }
    }

    @Test
    void epochsRestartBeforeTheirTagsCouldWrapToZero() {
        int near = Integer.MAX_VALUE - 10;
        int next = StepChunks.nextEpoch(near, 256);
        assertThat(next).isEqualTo(1);
        // a launch started at the largest epoch still allowed keeps all its tags nonzero in 32 bits
        long last = Integer.toUnsignedLong(Integer.MAX_VALUE) + SparsePersistentEngine.STEPS_PER_LAUNCH - 1;
        assertThat(last & 0xFFFF_FFFFL).isNotZero();
        assertThat(StepChunks.nextEpoch(1, 256)).isEqualTo(257);
        assertThat(StepChunks.nextEpoch(5, 0)).as("an empty launch still moves on").isEqualTo(6);
    }

    @Test
    void rejectsNonsense() {
        assertThatThrownBy(() -> StepChunks.of(10, 0)).isInstanceOf(SprnnException.class);
        assertThatThrownBy(() -> StepChunks.of(-1, 4)).isInstanceOf(SprnnException.class);
    }
}
