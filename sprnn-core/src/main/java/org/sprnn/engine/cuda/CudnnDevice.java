// CudnnDevice.java — what a cuda-cudnn engine keeps for its whole life: the context, stream and cuDNN handle, and per
// algorithm (and input mode) one RNN descriptor with its weight space, filled once from the model through
// cudnnGetRNNWeightParams. The per-shape part (buffers, data descriptors, workspace, graphs) is CudnnShapePlan's.
package org.sprnn.engine.cuda;

import org.sprnn.Precision;
import java.util.LinkedHashMap;
import java.util.Map;
import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.Cudnn;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.internal.cuda.Transfers;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;

/** The cuDNN side of one engine; closes every descriptor and weight space, then the handle, stream and context. */
final class CudnnDevice implements AutoCloseable {
    /**
     * Sequence-major packed data: with every sequence T long it is {@code [T][B][features]} in memory, the layout every
     * algorithm has taken since cuDNN's first RNN API (padded I/O is off: nothing is padded).
     */
    static final int LAYOUT = Cudnn.RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED;
    static final int AUX_FLAGS = Cudnn.RNN_PADDED_IO_DISABLED;

    final RnnModel model;
    final CudnnDataFormat format;
    final int hidden, layers, inputSize;
    final CudaContext ctx;
    final CudaStream stream;
    final Cudnn cudnn;
    final Cudnn.Handle handle;
    private final Resources owned = new Resources();
    private final Map<String, Config> configs = new LinkedHashMap<>();

    /**
     * Opens the device and a cuDNN handle on a stream of its own.
     *
     * @throws SprnnException (a {@link org.sprnn.internal.cuda.CudaException}) naming the call that failed
     */
    CudnnDevice(RnnModel model, CudnnDataFormat format) {
        this.model = model;
        this.format = format;
        this.hidden = model.hiddenSize();
        this.layers = model.numLayers();
        this.inputSize = model.inputSize();
        this.cudnn = Cudnn.get();
        this.ctx = owned.add(CudaContext.open(CudaContext.selectedOrdinal()));
        try {
            stream = owned.add(ctx.createStream());
            handle = owned.add(cudnn.new Handle(ctx));
            handle.setStream(stream);
        } catch (RuntimeException | Error e) {
            owned.closeAfter(e);
            throw e;
        }
    }

    /**
     * The descriptor and filled weight space of {@code algorithm}, made on first use.
     *
     * @param skipInput {@code CUDNN_SKIP_INPUT}: layer 0 takes its input as the projection itself (no W_ih); only for
     *                  timing the recurrent part, and only where the input size is the hidden size
     * @throws org.sprnn.internal.cuda.CudaException where cuDNN refuses the descriptor
     */
    Config config(CudnnAlgorithm algorithm, boolean skipInput) {
        String key = algorithm.name() + (skipInput ? "/skip-input" : "");
        Config c = configs.get(key);
        if (c == null) {
            c = new Config(algorithm, skipInput);
            configs.put(key, c);
        }
        return c;
    }

    /** Frees {@code algorithm}'s descriptor and weights (after cuDNN refused it); made again if asked for. */
    void drop(CudnnAlgorithm algorithm, boolean skipInput) {
        Config c = configs.remove(algorithm.name() + (skipInput ? "/skip-input" : ""));
        if (c != null) {
            c.close();
        }
    }

    /** One RNN descriptor and its weight space, the model's weights placed where cuDNN says. */
    final class Config implements AutoCloseable {
        final CudnnAlgorithm algorithm;
        final boolean skipInput;
        final Cudnn.RnnDescriptor rnn;
        final long weightBytes;
        final DeviceBuffer weights;
        private final Resources res = new Resources();
        private int builtBatch = -1; // PERSIST_DYNAMIC: the batch cudnnBuildRNNDynamic last prepared

        private Config(CudnnAlgorithm algorithm, boolean skipInput) {
            this.algorithm = algorithm;
            this.skipInput = skipInput;
            try {
                rnn = res.add(handle.rnn(algorithm.code, CudnnWeightLayout.cellMode(model.cell()), Cudnn.RNN_DOUBLE_BIAS,
                        skipInput ? Cudnn.SKIP_INPUT : Cudnn.LINEAR_INPUT, format.dataType(), Cudnn.DATA_FLOAT, format.mathType(),
                        skipInput ? hidden : inputSize, hidden, layers, AUX_FLAGS));
                weightBytes = handle.weightSpaceSize(rnn);
                weights = res.add(ctx.allocate(Math.max(1, weightBytes), "cuDNN weight space (" + algorithm.cudnnName()
                        + (skipInput ? ", SKIP_INPUT" : "") + ")"));
                place();
            } catch (RuntimeException | Error e) {
                res.closeAfter(e);
                throw e;
            }
        }

        /** Prepares the algorithm for {@code batch}: {@code cudnnBuildRNNDynamic} for PERSIST_DYNAMIC (once per batch size). */
        void prepare(int batch) {
            if (algorithm == CudnnAlgorithm.PERSIST_DYNAMIC && builtBatch != batch) {
                builtBatch = -1;
                handle.buildDynamic(rnn, batch);
                builtBatch = batch;
            }
        }

        /**
         * Asks cuDNN where every matrix and bias goes ({@code cudnnGetRNNWeightParams}), then writes the whole weight
         * space in one upload: zeros, and each PyTorch block where cuDNN put it. Biases the model lacks are its zeros.
         */
        private void place() {
            long base = weights.ptr();
            int ids = CudnnWeightLayout.linLayerIds(model.cell());
            Cudnn.WeightParams[][] params = new Cudnn.WeightParams[layers][ids];
            for (int k = 0; k < layers; k++) {
                for (int id = 0; id < ids; id++) {
                    params[k][id] = handle.weightParams(rnn, k, base, weightBytes, id);
                }
            }
            Transfers.perCall(stream).upload(weights, 0, weightBytes, image -> {
                for (int k = 0; k < layers; k++) {
                    Layer layer = model.layers().get(k);
                    for (int id = 0; id < ids; id++) {
                        CudnnWeightLayout.Block b = CudnnWeightLayout.block(model.cell(), hidden, layer.inputSize(), id);
                        Cudnn.WeightParams p = params[k][id];
                        boolean skipped = skipInput && k == 0 && !b.recurrent();
                        if (p.matrix() != 0) {
                            Precision el = CudnnDataFormat.elementOf(p.matrixShape().dataType());
                            CudnnWeightLayout.writeMatrix(image, el, offset(p.matrix(), base, el, b.matrixName(k)),
                                    p.matrixShape().dims(), p.matrixShape().strides(), layer, k, b);
                        } else if (!skipped) {
                            throw new SprnnException("cuDNN reports no matrix for " + b.matrixName(k) + " gate " + b.gate()
                                    + " (layer " + k + ", linLayerID " + id + ") in " + algorithm.cudnnName() + "'s weight space");
                        }
                        if (p.bias() != 0) {
                            Precision el = CudnnDataFormat.elementOf(p.biasShape().dataType());
                            CudnnWeightLayout.writeBias(image, el, offset(p.bias(), base, el, b.biasName(k)),
                                    p.biasShape().dims(), p.biasShape().strides(), layer, k, b);
                        } else {
                            throw new SprnnException("cuDNN reports no bias for " + b.biasName(k) + " gate " + b.gate()
                                    + " (layer " + k + ", linLayerID " + id + ") in double-bias mode");
                        }
                    }
                }
            });
        }

        private long offset(long address, long base, Precision el, String what) {
            long bytes = address - base;
            if (bytes < 0 || bytes >= weightBytes || bytes % el.bytes() != 0) {
                throw new SprnnException("cuDNN places " + what + " at byte " + bytes + " of a weight space of " + weightBytes + " bytes");
            }
            return bytes / el.bytes();
        }

        /** Frees the descriptor and the weight space; idempotent. */
        @Override
        public void close() {
            res.close();
        }
    }

    /** Frees every descriptor and weight space, then the handle, stream and context reference; idempotent. */
    @Override
    public void close() {
        Resources all = new Resources();
        all.add(owned);
        for (Config c : configs.values()) {
            all.add(c);
        }
        configs.clear();
        all.close();
    }
}
