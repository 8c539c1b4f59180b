package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.sprnn.Precision;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.model.CellType;
import org.sprnn.model.RnnModel;
import org.sprnn.model.SyntheticModels;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;

/** {@code cuda-dense-persistent}: registered, ranked below the sparse engine for pruned models, refusing with reasons. */
class DensePersistentFactoryTest {

    @Test
    void isRegisteredAndSaysWhyItCannotRunHere() {
        EngineFactory f = EngineProvider.factory("cuda-dense-persistent");
        assertThat(f.name()).isEqualTo(SparsePersistentEngine.DENSE_NAME);
        RnnModel model = SyntheticModels.random(CellType.GRU, 8, 64, 1, 1.0, 1.0, 3);
        Optional<String> fp32 = f.unavailableReason(model, EngineOptions.builder().engine(f.name()).precision(Precision.FP32).build());
        assertThat(fp32).as("fp32 refused (16-bit on-chip weights) or the GPU missing").isPresent();
        if (GpuStatus.problem().isPresent()) {
            assertThat(f.unavailableReason(model, EngineOptions.builder().engine(f.name()).precision(Precision.FP16).build()))
                    .as("no GPU here: the reason says why").contains(GpuStatus.problem().get());
        }
    }

    @Test
    void ranksBelowTheSparseEngineForPrunedModelsAndAboveItForDenseOnes() {
        EngineFactory dense = EngineProvider.factory("cuda-dense-persistent");
        EngineFactory sparse = EngineProvider.factory("cuda-sparse-persistent");
        EngineOptions o = EngineOptions.builder().engine("auto").precision(Precision.FP16).build();
        RnnModel pruned = SyntheticModels.random(CellType.RNN_RELU, 8, 256, 1, 0.1, 1.0, 3);
        RnnModel full = SyntheticModels.random(CellType.RNN_RELU, 8, 256, 1, 1.0, 1.0, 3);
        assertThat(dense.rank(pruned, o)).isGreaterThan(sparse.rank(pruned, o));
        assertThat(dense.rank(full, o)).isLessThan(sparse.rank(full, o));
    }

    @Test
    void refusesBeyondItsCapacityWithTheNumbers() {
        DeviceLimits h100 = DeviceLimits.h100Sxm();
        PlanOptions options = SparsePersistentFactory.planOptions(Precision.FP16, true);
        int cap = Plan.denseCapacity(CellType.LSTM, 4, h100, options).hidden();
        RnnModel fits = SyntheticModels.random(CellType.LSTM, 8, cap, 2, 1.0, 1.0, 3);
        assertThat(SparsePersistentEngine.refusal(fits, 4, h100, options)).isNull();
        RnnModel big = SyntheticModels.random(CellType.LSTM, 8, cap + 64, 1, 0.1, 1.0, 3);
        String why = SparsePersistentEngine.refusal(big, 4, h100, options);
        assertThat(why).isNotNull().contains("layer 0", "held dense", "capacity", "words per lane");
    }
}
