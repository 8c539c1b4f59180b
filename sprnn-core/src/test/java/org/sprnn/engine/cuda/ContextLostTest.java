package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.CudaException;

/** Which CUDA errors the sparse persistent engine reports as a lost context (every later call would fail the same). */
class ContextLostTest {

    @Test
    void kernelFaultsLoseTheContextOtherErrorsDoNot() {
        for (int code : new int[] {700, 702, 714, 715, 716, 717, 718, 719}) {
            assertThat(SparsePersistentEngine.contextLost(new CudaException("cuStreamSynchronize", code, "fault " + code)))
                    .as("CUresult %d", code).isTrue();
        }
        for (int code : new int[] {1, 2, 98, 201, 400, 701, 720, 999}) {
            assertThat(SparsePersistentEngine.contextLost(new CudaException("cuMemAlloc_v2", code, "error " + code)))
                    .as("CUresult %d", code).isFalse();
        }
        assertThat(SparsePersistentEngine.contextLost(new SprnnException("not a CUDA error"))).isFalse();
        assertThat(SparsePersistentEngine.contextLost(new CudaException("a message without a code"))).isFalse();
    }
}
