// CudaRnnDevice.java — what a cuda-gemm/cuda-spmm engine keeps on the device for its whole life,
// whatever shape it runs: the context, stream, library handles, cuBLASLt workspace, the kernel compiler,
// and every layer's weights in the engine's precision (W_hh dense for cuda-gemm; for cuda-spmm, W_hh's
// CsrMatrix uploaded as it is, values rounded to the precision).
// Built once by CudaRnnEngine; the per-shape plans (CudaRnnShapePlan) read it and own nothing of it.
package org.sprnn.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import org.sprnn.Precision;
import org.sprnn.internal.cuda.CublasLt;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.Cusparse;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.internal.cuda.Transfers;
import org.sprnn.model.CellType;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.sparse.CsrMatrix;

/** The model on the device and the handles that compute with it; closes all of it, in reverse order. */
final class CudaRnnDevice implements AutoCloseable {
    private static final long WORKSPACE_BYTES = 32L << 20; // cuBLASLt workspace, shared by all GEMMs (stream-ordered)

    final RnnModel model;
    final CudaRnnEngine.Kind kind;
    final Precision elem;
    final boolean fusedRelu; // rnn_relu on cuda-gemm: the step is one GEMM with a ReLU epilogue
    final int hidden, gates, layers;
    final CudaContext ctx;
    final CudaStream stream;
    final CublasLt.Handle lt;
    final Cusparse.Handle sp;       // cuda-spmm only, else null
    final DeviceBuffer workspace;
    final KernelCompiler compiler;
    private final List<LayerWeights> weights = new ArrayList<>();
    private final Resources owned = new Resources();

    /** One layer's weights on the device. */
    record LayerWeights(
            DeviceBuffer wIh,        // [G*H][I] elem, row-major (cuBLASLt: op(A)=T of a [I×G*H] column-major)
            DeviceBuffer wHh,        // [G*H][H] elem, row-major (cuda-gemm only)
            DeviceBuffer csrOffsets, // [G*H+1] int32 (cuda-spmm only)
            DeviceBuffer csrColumns, // [nnz] int32, ascending per row (cuda-spmm only)
            DeviceBuffer csrValues,  // [nnz] elem (cuda-spmm only)
            long nnz,
            int inputSize,
            DeviceBuffer bIh,        // [G*H] fp32
            DeviceBuffer bHh,        // [G*H] fp32
            DeviceBuffer biasSum) {  // [G*H] elem, b_ih + b_hh rounded once (fused relu only)
    }

    /**
     * Opens the device and uploads every layer's weights; on failure closes what was made and rethrows.
     *
     * @throws org.sprnn.SprnnException (a {@link org.sprnn.internal.cuda.CudaException}) naming the CUDA call that failed
     */
    CudaRnnDevice(RnnModel model, CudaRnnEngine.Kind kind, Precision elem) {
        this.model = model;
        this.kind = kind;
        this.elem = elem;
        this.fusedRelu = kind == CudaRnnEngine.Kind.GEMM && model.cell() == CellType.RNN_RELU;
        this.hidden = model.hiddenSize();
        this.gates = model.cell().gates();
        this.layers = model.numLayers();
        this.ctx = owned.add(CudaContext.open(CudaContext.selectedOrdinal()));
        try {
            stream = owned.add(ctx.createStream());
            lt = owned.add(CublasLt.get().new Handle(ctx));
            sp = kind == CudaRnnEngine.Kind.SPMM ? owned.add(Cusparse.get().new Handle(ctx)) : null;
            if (sp != null) {
                sp.setStream(stream);
            }
            workspace = owned.add(ctx.allocate(WORKSPACE_BYTES, "cuBLASLt workspace"));
            compiler = new KernelCompiler();
            Transfers copies = Transfers.perCall(stream);
            for (int k = 0; k < layers; k++) {
                weights.add(upload(model.layers().get(k), copies));
            }
        } catch (RuntimeException | Error e) {
            owned.closeAfter(e);
            throw e;
        }
    }

    /** Layer {@code k}'s weights. */
    LayerWeights weights(int k) {
        return weights.get(k);
    }

    private DeviceBuffer buffer(long bytes, String what) {
        return owned.add(ctx.allocate(bytes, what));
    }

    private LayerWeights upload(Layer layer, Transfers copies) {
        int rows = gates * hidden, in = layer.inputSize();
        DeviceBuffer wIh = uploadElems(layer.wIh().data(), "W_ih", copies);
        DeviceBuffer wHh = null, offsets = null, columns = null, values = null;
        long nnz = 0;
        if (kind == CudaRnnEngine.Kind.GEMM) {
            wHh = uploadElems(layer.wHh().data(), "W_hh", copies);
        } else {
            CsrMatrix csr = CsrMatrix.of(layer.wHh());
            float[] w = csr.valuesView();
            nnz = csr.nnz();
            long slots = Math.max(1, nnz); // an all-zero W_hh still gets one-element CSR arrays
            long valueBytes = (long) elem.bytes() * slots;
            offsets = buffer(4L * (rows + 1), "W_hh CSR row offsets");
            copies.uploadInts(offsets, csr.rowPtrView());
            columns = buffer(4L * slots, "W_hh CSR column indices");
            values = buffer(valueBytes, "W_hh CSR values");
            copies.upload(values, 0, valueBytes, val -> {
                for (int p = 0; p < w.length; p++) {
                    CudaPrecision.put(elem, val, p, w[p]);
                }
            });
            copies.uploadInts(columns, nnz == 0 ? new int[1] : csr.colIdxView());
        }
        DeviceBuffer bIh = buffer(4L * rows, "b_ih");
        copies.uploadFloats(bIh, layer.bIh().data());
        DeviceBuffer bHh = buffer(4L * rows, "b_hh");
        copies.uploadFloats(bHh, layer.bHh().data());
        DeviceBuffer biasSum = null;
        if (fusedRelu) {
            double[] s = new double[rows];
            for (int r = 0; r < rows; r++) {
                s[r] = layer.bIh().data()[r] + layer.bHh().data()[r];
            }
            biasSum = uploadElems(s, "b_ih + b_hh", copies);
        }
        return new LayerWeights(wIh, wHh, offsets, columns, values, nnz, in, bIh, bHh, biasSum);
    }

    /** A new buffer holding {@code v} rounded to the engine's precision. */
    private DeviceBuffer uploadElems(double[] v, String what, Transfers copies) {
        long bytes = (long) elem.bytes() * v.length;
        DeviceBuffer b = buffer(bytes, what);
        copies.upload(b, 0, bytes, host -> CudaPrecision.putAll(elem, host, v));
        return b;
    }

    /** Frees every device resource and the context reference, the last made first; idempotent. */
    @Override
    public void close() {
        owned.close();
    }
}
