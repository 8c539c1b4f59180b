package org.sprnn.engine.cuda;

import java.util.Optional;
import org.sprnn.engine.CostModel;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.StepCost;
import org.sprnn.model.RnnModel;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.PlanOptions;

/**
 * Makes {@code cuda-sparse-persistent} ({@link SparsePersistentEngine}) and says why it cannot: no usable GPU,
 * a precision other than fp16/bf16 (weights are 16-bit on-chip), or a layer that does not fit on-chip at the
 * expected batch (the reason carries the capacity numbers from {@link org.sprnn.plan.Plan}).
 *
 * <p>Rank 150 for {@code auto} (ranks 100-199 are this engine's): when every layer fits on-chip it beats the
 * library baselines (300+) at the shapes measured in results/kernel/NOTES.md.
 */
public final class SparsePersistentFactory implements EngineFactory {

    @Override
    public String name() {
        return SparsePersistentEngine.NAME;
    }

    @Override
    public String description() {
        return "the sparse persistent kernel: W_hh packed on-chip (registers + shared memory), one launch per layer and sequence, "
                + "h exchanged by cluster DSMEM, timestamped words or a grid barrier";
    }

    @Override
    public int rank(RnnModel model, EngineOptions options) {
        return 150;
    }

    @Override
    public Optional<String> unavailableReason(RnnModel model, EngineOptions options) {
        Optional<String> gpu = GpuStatus.problem();
        if (gpu.isPresent()) {
            return gpu;
        }
        if (!options.precision().isSixteenBit()) {
            return Optional.of("--precision " + options.precision().id() + ": the on-chip weights are 16-bit; use fp16 or bf16");
        }
        Optional<DeviceLimits> limits = GpuStatus.deviceLimits();
        if (limits.isEmpty()) {
            return Optional.of("no device limits could be read");
        }
        if (!limits.get().cooperativeLaunch()) {
            return Optional.of(limits.get().name() + " does not support cooperative launches (co-residency cannot be guaranteed)");
        }
        return Optional.ofNullable(SparsePersistentEngine.refusal(model, options.batchHint(), limits.get(), planOptions(options)));
    }

    /** The plan options an engine built from {@code options} uses: every optimization on, partition derived. */
    public static PlanOptions planOptions(EngineOptions options) {
        PlanOptions d = PlanOptions.defaults();
        return new PlanOptions(d.exchange(), d.wideLoads(), d.bankAware(), d.balanced(), 0, 0, options.precision());
    }

    @Override
    public Optional<StepCost> predict(RnnModel model, EngineOptions options) {
        return Optional.of(CostModel.sparsePersistent(model, options.batchHint()));
    }

    @Override
    public Engine create(RnnModel model, EngineOptions options) {
        return new SparsePersistentEngine(model, GpuStatus.deviceLimits().orElseThrow(), planOptions(options));
    }
}
