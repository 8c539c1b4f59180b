package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;

/** The launches a long sequence is split into. */
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
    void rejectsNonsense() {
        assertThatThrownBy(() -> StepChunks.of(10, 0)).isInstanceOf(SprnnException.class);
        assertThatThrownBy(() -> StepChunks.of(-1, 4)).isInstanceOf(SprnnException.class);
    }
}
