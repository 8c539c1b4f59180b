// CudaRnnLayerPlan.java — one layer of a cuda-gemm/cuda-spmm engine planned for one (T, B): its buffers,
// the input-projection GEMM, and the recurrent product (cuBLASLt GEMM or cuSPARSE SpMM) with its algorithm
// chosen by timing the candidates in a CUDA graph (autotuning). enqueue() queues the layer's whole
// sequence on the stream; CudaRnnShapePlan captures that into the graphs it replays.
package org.sprnn.engine.cuda;

import java.util.List;
import java.util.Map;
import org.sprnn.Precision;
import org.sprnn.internal.cuda.CublasLt;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.GemmPlan;
import org.sprnn.internal.cuda.SpmmPlan;

/** One layer's per-shape buffers and product plans; its shape plan owns and closes them. */
final class CudaRnnLayerPlan {
    private static final int TUNING_REPS = 20;

    private final CudaRnnShapePlan shape;
    private final CudaRnnDevice d;
    final int k;
    final DeviceBuffer xproj;    // fused: [T][B][H] elem (W_ih x + b_ih + b_hh); else [T][B][G*H] fp32 (W_ih x)
    final DeviceBuffer hSeq;     // [T][B][H] elem: h_t in operand precision (GEMM operand, next layer's input)
    final DeviceBuffer hSeq32;   // [T][B][H] fp32 (= hSeq for fp32), null on the fused path
    final DeviceBuffer product;  // W_hh·h: [B][G*H] fp32 (GEMM) or [G*H][B] fp32 (SpMM); null when fused
    final DeviceBuffer operandHb;// [H][B] elem: h_{t-1} for the SpMM, cuda-spmm only
    final DeviceBuffer cState;   // [B][H] fp32, LSTM only
    final GemmPlan projection, recurrentGemm;
    final SpmmPlan recurrentSpmm;
    final Precision productType; // precision of W_hh·h in `product`: fp32, or elem when the SpMM is faster so
    final String tuning;

    /**
     * Allocates layer {@code k}'s buffers and tunes its products.
     *
     * @param fixedProductType the SpMM output precision to use, or {@code null} to time fp32 and elem and
     *                         keep the faster (layer 0 chooses; the other layers, of the same shape, follow it)
     */
    CudaRnnLayerPlan(CudaRnnShapePlan shape, int k, Precision fixedProductType) {
        this.shape = shape;
        this.d = shape.device;
        this.k = k;
        Precision elem = d.elem;
        boolean fusedRelu = d.fusedRelu;
        int hidden = d.hidden, batch = shape.batch;
        CudaStream stream = d.stream;
        CudaRnnDevice.LayerWeights w = d.weights(k);
        int gh = d.gates * hidden;
        long tb = (long) shape.steps * batch;
        xproj = fusedRelu ? shape.alloc(tb * hidden * elem.bytes(), "xproj") : shape.alloc(tb * gh * 4, "xproj");
        hSeq = shape.alloc(tb * hidden * elem.bytes(), "h sequence");
        hSeq32 = fusedRelu ? null : elem == Precision.FP32 ? hSeq : shape.alloc(tb * hidden * 4, "h sequence fp32");
        product = fusedRelu ? null : shape.alloc((long) batch * gh * 4, "W_hh h");
        operandHb = d.kind == CudaRnnEngine.Kind.SPMM ? shape.alloc((long) hidden * batch * elem.bytes(), "h operand [H][B]") : null;
        cState = d.model.cell().hasCellState() ? shape.alloc((long) batch * hidden * 4, "c state") : null;
        int cd = fusedRelu ? CudaPrecision.cudaType(elem) : CublasLt.CUDA_R_32F;
        projection = shape.own(new GemmPlan(d.ctx, d.lt, new GemmPlan.Spec(gh, (int) tb, w.inputSize(), true, w.inputSize(),
                w.inputSize(), gh, CudaPrecision.cudaType(elem), cd, fusedRelu ? CublasLt.EPILOGUE_BIAS : CublasLt.EPILOGUE_DEFAULT, 0f, 256),
                fusedRelu ? w.biasSum().ptr() : 0L, d.workspace, 1));
        if (d.kind == CudaRnnEngine.Kind.GEMM) {
            recurrentGemm = shape.own(new GemmPlan(d.ctx, d.lt, new GemmPlan.Spec(gh, batch, hidden, true, hidden, hidden, gh,
                    CudaPrecision.cudaType(elem), cd, fusedRelu ? CublasLt.EPILOGUE_RELU : CublasLt.EPILOGUE_DEFAULT,
                    fusedRelu ? 1f : 0f, GemmPlan.alignmentOf((long) batch * hidden * elem.bytes())), 0L, d.workspace, 16));
            recurrentSpmm = null;
            productType = Precision.FP32;
            long c = fusedRelu ? xproj.ptr() : product.ptr();
            long dst = fusedRelu ? hSeq.ptr() : product.ptr();
            double us = recurrentGemm.selectFastest(stream, w.wHh().ptr(), hSeq.ptr(), c, dst, TUNING_REPS);
            tuning = String.format("cuBLASLt %s: fastest of %d algorithms timed in a CUDA graph, %.2f µs per product",
                    fusedRelu ? "GEMM + ReLU epilogue" : "GEMM", recurrentGemm.candidateCount(), us);
        } else {
            recurrentGemm = null;
            List<Precision> outputs = fixedProductType != null ? List.of(fixedProductType)
                    : elem == Precision.FP32 ? List.of(Precision.FP32) : List.of(Precision.FP32, elem);
            SpmmPlan best = null;
            Precision bestType = null;
            double bestUs = Double.MAX_VALUE;
            StringBuilder sb = new StringBuilder();
            RuntimeException lastError = null;
            for (Precision out : outputs) {
                SpmmPlan cand = new SpmmPlan(d.ctx, d.sp, gh, batch, hidden, w.nnz(), w.csrOffsets().ptr(),
                        w.csrColumns().ptr(), w.csrValues().ptr(), CudaPrecision.cudaType(elem), CudaPrecision.cudaType(out), operandHb.ptr(),
                        product.ptr());
                Map<String, Double> times;
                try {
                    times = cand.selectFastest(stream, operandHb.ptr(), product.ptr(), TUNING_REPS);
                } catch (RuntimeException e) {
                    cand.close();
                    lastError = e;
                    continue;
                }
                sb.append(sb.length() == 0 ? "" : ";").append(" ").append(out.id()).append(" out:");
                times.forEach((n, t) -> sb.append(String.format(" %s %.2f", n, t)));
                double us = times.get(cand.algorithm());
                if (us < bestUs) {
                    if (best != null) {
                        best.close();
                    }
                    best = cand;
                    bestType = out;
                    bestUs = us;
                } else {
                    cand.close();
                }
            }
            if (best == null) {
                throw lastError;
            }
            recurrentSpmm = shape.own(best);
            productType = bestType;
            tuning = String.format("cuSPARSE SpMM %s, %s output, %.2f µs per product (timed in a CUDA graph, µs:%s)",
                    best.algorithm(), bestType.id(), bestUs, sb);
        }
        stream.synchronize();
    }

    /** Layer input, {@code [T][B][I]} elem. */
    long input() {
        return k == 0 ? shape.x.ptr() : shape.layer(k - 1).hSeq.ptr();
    }

    /** Queues this layer's work on the stream (inside a capture). */
    void enqueue(boolean withProjection, boolean withRecurrence) {
        CudaRnnDevice.LayerWeights w = d.weights(k);
        Precision elem = d.elem;
        CudaStream stream = d.stream;
        int steps = shape.steps, batch = shape.batch;
        int gh = d.gates * d.hidden;
        long bh = (long) batch * d.hidden;
        if (withProjection) {
            projection.run(stream, w.wIh().ptr(), input(), xproj.ptr(), xproj.ptr());
        }
        if (!withRecurrence) {
            return;
        }
        if (operandHb != null) {
            operandHb.copyFrom(shape.h0hb.ptr(k * bh * elem.bytes()), 0, bh * elem.bytes(), stream);
        }
        if (cState != null) {
            cState.copyFrom(shape.c0.ptr(k * bh * 4), 0, bh * 4, stream);
        }
        for (int t = 0; t < steps; t++) {
            long prevElem = t == 0 ? shape.h0e == null ? 0 : shape.h0e.ptr(k * bh * elem.bytes()) : hSeq.ptr((t - 1) * bh * elem.bytes());
            if (d.fusedRelu) {
                recurrentGemm.run(stream, w.wHh().ptr(), prevElem, xproj.ptr(t * bh * elem.bytes()),
                        hSeq.ptr(t * bh * elem.bytes()));
                continue;
            }
            if (recurrentGemm != null) {
                recurrentGemm.run(stream, w.wHh().ptr(), prevElem, product.ptr(), product.ptr());
            } else {
                recurrentSpmm.run(operandHb.ptr(), product.ptr());
            }
            long prev32 = t == 0 ? shape.h0f.ptr(k * bh * 4) : hSeq32.ptr((t - 1) * bh * 4);
            shape.cellUpdate.launch(stream, shape.spec.grid(), CellUpdateSpec.BLOCK, 0,
                    xproj.ptr((long) t * batch * gh * 4), product, w.bIh(), w.bHh(), prev32,
                    cState, hSeq32.ptr(t * bh * 4),
                    elem != Precision.FP32 ? (Object) hSeq.ptr(t * bh * elem.bytes()) : null,
                    operandHb);
        }
    }

    /** The buffer holding h_t in fp32 (or elem on the fused path). */
    DeviceBuffer output() {
        return d.fusedRelu ? hSeq : hSeq32;
    }
}
