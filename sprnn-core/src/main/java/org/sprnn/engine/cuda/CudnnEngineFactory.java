package org.sprnn.engine.cuda;

import java.util.Optional;
import org.sprnn.Precision;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.internal.cuda.CudaEnvironment;
import org.sprnn.model.RnnModel;

/**
 * Makes {@code cuda-cudnn} ({@link CudnnEngine}) and says why it cannot: no driver, no device, too old a device, cuDNN 9
 * not found (or too old, or its RNN sub-library unusable), bf16 on a device before compute capability 8.0. Whether cuDNN
 * takes the shape is cuDNN's to say when the engine runs ({@link CudnnEngineException}).
 *
 * <p>Rank 400 for {@code auto}: after the GPU engines measured in this repository (150, 300, 320) and before {@code cpu}
 * (500), until cuDNN's numbers from sprnn's own bench are in (then issue 14's {@code auto} ranks by measurement).
 */
public final class CudnnEngineFactory implements EngineFactory {

    @Override
    public String name() {
        return CudnnEngine.NAME;
    }

    @Override
    public String description() {
        return "library contender: cuDNN 9 cudnnRNNForward (--cudnn-algo auto|standard|persist-static|persist-static-small-h|"
                + "persist-dynamic), pruned weights written dense, fp16/bf16/fp32 data with fp32 math";
    }

    @Override
    public int rank(RnnModel model, EngineOptions options) {
        return 400;
    }

    @Override
    public Optional<String> unavailableReason(RnnModel model, EngineOptions options) {
        return Optional.ofNullable(problem(CudaEnvironment.get(), options.precision()));
    }

    /** Why cuda-cudnn cannot run at {@code precision} in {@code env}, or {@code null}: the driver, the device, then cuDNN. */
    static String problem(CudaEnvironment env, Precision precision) {
        CudaEnvironment.Library drv = env.library("CUDA driver");
        if (!drv.ok()) {
            return drv.problem();
        }
        if (env.device() == null) {
            return env.noDevice();
        }
        if (env.device().computeMajor() < 7) {
            return "the GPU " + env.device().name() + " has compute capability " + env.device().computeMajor() + "."
                    + env.device().computeMinor() + "; sprnn's GPU engines need 7.0 or newer";
        }
        CudaEnvironment.Library cudnn = env.library("cuDNN");
        if (!cudnn.ok()) {
            return cudnn.problem();
        }
        if (precision == Precision.BF16 && env.device().computeMajor() < 8) {
            return "--precision bf16 needs compute capability 8.0 or newer; " + env.device().name() + " has "
                    + env.device().computeMajor() + "." + env.device().computeMinor();
        }
        return null;
    }

    @Override
    public Optional<org.sprnn.engine.StepCost> predict(RnnModel model, EngineOptions options) {
        return org.sprnn.engine.CostModel.cudnn(model, options.batchHint(), options.precision(), options.cudnnAlgo());
    }

    /**
     * Lengths and bidirectional models ({@link org.sprnn.engine.ComposedFeatures}: a bidirectional model runs as one
     * engine per layer and direction; lengths as one run per distinct length, {@link org.sprnn.engine.LengthSegments}).
     */
    @Override
    public java.util.Set<org.sprnn.engine.EngineFeature> features() {
        return org.sprnn.engine.ComposedFeatures.FACTORY_FEATURES;
    }

    @Override
    public Engine create(RnnModel model, EngineOptions options) {
        return org.sprnn.engine.ComposedFeatures.create(name(), model, layer -> new CudnnEngine(layer, options.precision(), options.cudnnAlgo()));
    }
}
