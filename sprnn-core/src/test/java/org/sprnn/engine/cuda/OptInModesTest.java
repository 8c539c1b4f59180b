package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;

/**
 * The persistent engines' opt-in modes as a user sets them (issue 17): {@code sprnn.bidirectional} read when an engine is
 * built, its default, and a bad value refused in one line naming the property; without a GPU (the engines themselves need
 * one: their runs in these modes are checked on the device by scripts/gpu-bidir.sh and gpu-issue17-check.sh).
 */
class OptInModesTest {

    @AfterEach
    void clear() {
        System.clearProperty(SparsePersistentFactory.BIDIRECTIONAL_PROPERTY);
        System.clearProperty(SparsePersistentFactory.ROW_ENDS_PROPERTY);
    }

    @Test
    void theRowEndsModeSetsThePlanOptionsOfTheSparseEngine() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("SPRNN_ROW_ENDS") == null, "SPRNN_ROW_ENDS is set");
        var fp16 = org.sprnn.Precision.FP16;
        var byDefault = SparsePersistentFactory.planOptions(fp16, false);
        assertThat(byDefault.compiledRowEnds()).isTrue();
        assertThat(byDefault.tails()).isEqualTo(SparsePersistentFactory.DEFAULT_ROW_ENDS.equals("tail"));
        System.setProperty(SparsePersistentFactory.ROW_ENDS_PROPERTY, "tail");
        assertThat(SparsePersistentFactory.planOptions(fp16, false).tails()).isTrue();
        System.setProperty(SparsePersistentFactory.ROW_ENDS_PROPERTY, "compiled");
        var compiled = SparsePersistentFactory.planOptions(fp16, false);
        assertThat(compiled.compiledRowEnds()).isTrue();
        assertThat(compiled.tails()).isFalse();
        System.setProperty(SparsePersistentFactory.ROW_ENDS_PROPERTY, "runtime");
        assertThat(SparsePersistentFactory.planOptions(fp16, false).compiledRowEnds()).isFalse();
        System.setProperty(SparsePersistentFactory.ROW_ENDS_PROPERTY, "fast");
        assertThatThrownBy(() -> SparsePersistentFactory.planOptions(fp16, false)).isInstanceOf(SprnnException.class)
                .hasMessage("sprnn.rowEnds (or SPRNN_ROW_ENDS) is 'fast': use tail or compiled or runtime");
    }

    @Test
    void theBidirectionalModeIsSequentialUnlessHalvesAreAskedFor() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("SPRNN_BIDIRECTIONAL") == null, "SPRNN_BIDIRECTIONAL is set");
        assertThat(SparsePersistentFactory.DEFAULT_BIDIRECTIONAL).isEqualTo("sequential");
        assertThat(SparsePersistentFactory.bidirectionalHalves()).isFalse();
        System.setProperty(SparsePersistentFactory.BIDIRECTIONAL_PROPERTY, " halves ");
        assertThat(SparsePersistentFactory.bidirectionalHalves()).isTrue();
        System.setProperty(SparsePersistentFactory.BIDIRECTIONAL_PROPERTY, "sequential");
        assertThat(SparsePersistentFactory.bidirectionalHalves()).isFalse();
        System.setProperty(SparsePersistentFactory.BIDIRECTIONAL_PROPERTY, "both\n");
        assertThatThrownBy(SparsePersistentFactory::bidirectionalHalves).isInstanceOf(SprnnException.class)
                .hasMessage("sprnn.bidirectional (or SPRNN_BIDIRECTIONAL) is 'both\\x0a': use halves or sequential");
    }

    @Test
    void theSessionKindDefaultsToTheHostUntilTheDeviceSessionHasRunOnAGpu() {
        assertThat(SparsePersistentEngine.SESSION_PROPERTY).isEqualTo("sprnn.session");
        assertThat(SparsePersistentEngine.DEFAULT_SESSION).isEqualTo("host");
    }
}
