// CudaRnnShapePlan.java — everything a cuda-gemm/cuda-spmm engine makes for one (T, B): the input and
// initial-state buffers, a pinned staging buffer for the run's copies, each layer's plan
// (CudaRnnLayerPlan: buffers, tuned products), the compiled cell-update kernel, and the CUDA graphs that
// replay the sequence. A run through it only uploads, replays and downloads; the graphs are captured on
// first use, and the recurrent-only graphs only when timed.
package org.sprnn.engine.cuda;

import java.util.ArrayList;
import java.util.List;
import org.sprnn.Precision;
import org.sprnn.engine.DeviceTimes;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.internal.cuda.CudaEvent;
import org.sprnn.internal.cuda.CudaGraph;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.internal.cuda.Transfers;
import org.sprnn.model.Tensor;

/** Everything that depends on (T, B): buffers, plans, kernel, graphs; closes them all, in reverse order. */
final class CudaRnnShapePlan implements AutoCloseable {
    final CudaRnnDevice device;
    final int steps, batch;
    private final Resources res = new Resources();
    final DeviceBuffer x;        // [T][B][I] elem: layer 0's input
    final DeviceBuffer h0f;      // [L][B][H] fp32
    final DeviceBuffer h0e;      // [L][B][H] elem (GEMM operand at t=0; = h0f for fp32)
    final DeviceBuffer h0hb;     // [L][H][B] elem (SpMM operand at t=0), cuda-spmm only
    final DeviceBuffer c0;       // [L][B][H] fp32, LSTM only
    private final Transfers copies; // through a pinned staging buffer, one copy at a time
    private final List<CudaRnnLayerPlan> lb = new ArrayList<>();
    final CudaModule.CudaKernel cellUpdate; // null for the fused relu path
    final CellUpdateSpec spec;
    /** How the shape was planned: the precision and layer 0's tuned product. */
    final String details;
    private CudaGraph graphFull, graphProjection, graphRecurrent;

    /** Allocates, tunes and compiles for (T, B); on failure closes what was made and rethrows. */
    CudaRnnShapePlan(CudaRnnDevice device, int steps, int batch) {
        this.device = device;
        this.steps = steps;
        this.batch = batch;
        CudaRnnDevice d = device;
        Precision elem = d.elem;
        int layers = d.layers;
        try {
            long bh = (long) batch * d.hidden;
            x = alloc((long) steps * batch * d.weights(0).inputSize() * elem.bytes(), "input x");
            h0f = alloc(layers * bh * 4, "h0 fp32");
            h0e = elem == Precision.FP32 ? h0f : d.kind == CudaRnnEngine.Kind.GEMM ? alloc(layers * bh * elem.bytes(), "h0 operand") : null;
            h0hb = d.kind == CudaRnnEngine.Kind.SPMM ? alloc(layers * bh * elem.bytes(), "h0 operand [H][B]") : null;
            c0 = d.model.cell().hasCellState() ? alloc(layers * bh * 4, "c0") : null;
            long stagingBytes = Math.max(x.bytes(), Math.max((long) steps * bh * 4, layers * bh * 4));
            copies = Transfers.staged(d.stream,
                    res.add(d.ctx.allocatePinned(stagingBytes, "host staging (T=" + steps + ", B=" + batch + ")")));
            StringBuilder info = new StringBuilder(elem.id());
            for (int k = 0; k < layers; k++) {
                // layer 0's tuning picks the SpMM output precision; the other layers (same shape) follow it
                CudaRnnLayerPlan l = new CudaRnnLayerPlan(this, k, k == 0 ? null : lb.get(0).productType);
                lb.add(l);
                if (k == 0) {
                    info.append(", ").append(l.tuning);
                }
            }
            if (!d.fusedRelu) {
                spec = new CellUpdateSpec(d.model.cell(), d.hidden, batch, d.kind == CudaRnnEngine.Kind.SPMM,
                        lb.get(0).productType, elem, elem != Precision.FP32, d.kind == CudaRnnEngine.Kind.SPMM);
                byte[] cubin = d.compiler.compile(CellUpdateSpec.SOURCE, spec.kernelName(), spec.defines(), d.ctx.info().arch());
                CudaModule module = res.add(d.ctx.loadModule(cubin, spec.kernelName()));
                cellUpdate = module.kernel(CellUpdateSpec.SYMBOL);
            } else {
                spec = null;
                cellUpdate = null;
            }
            details = info.toString();
        } catch (RuntimeException | Error e) {
            res.closeAfter(e);
            throw e;
        }
    }

    /** A device buffer owned by this plan, its name tagged with the shape. */
    DeviceBuffer alloc(long bytes, String what) {
        return res.add(device.ctx.allocate(bytes, what + " (T=" + steps + ", B=" + batch + ")"));
    }

    /** Takes ownership of {@code resource} (a layer's product plan) and returns it. */
    <T extends AutoCloseable> T own(T resource) {
        return res.add(resource);
    }

    /** Layer {@code k}'s plan. */
    CudaRnnLayerPlan layer(int k) {
        return lb.get(k);
    }

    /** Runs the whole sequence on {@code input} and returns outputs and final states. */
    RnnOutput run(Tensor input, Tensor h0, Tensor c0t) {
        uploadInputs(input, h0, c0t);
        poisonOutputs();
        graph().launch(device.stream);
        device.stream.synchronize();
        return download();
    }

    // ---- graphs ----------------------------------------------------------------------------------------

    /** The whole sequence: every layer's input projection and recurrence. */
    CudaGraph graph() {
        if (graphFull == null) {
            graphFull = capture(true, true);
        }
        return graphFull;
    }

    /** Layer 0's input projection alone. */
    private CudaGraph projectionGraph() {
        if (graphProjection == null) {
            graphProjection = res.add(device.stream.capture(() -> lb.get(0).enqueue(true, false)));
        }
        return graphProjection;
    }

    /** The sequence without layer 0's input projection. */
    private CudaGraph recurrentGraph() {
        if (graphRecurrent == null) {
            graphRecurrent = capture(false, true);
        }
        return graphRecurrent;
    }

    private CudaGraph capture(boolean projection0, boolean rest) {
        return res.add(device.stream.capture(() -> {
            for (CudaRnnLayerPlan l : lb) {
                l.enqueue(l.k > 0 || projection0, rest);
            }
        }));
    }

    /**
     * Times graph replays with CUDA events after {@code warmup} untimed replays, rotating through
     * {@code inputSets} (uploaded once; copied into the input buffer before each replay, untimed).
     * The full graph and the recurrent part alone are timed in alternation.
     */
    DeviceTimes timeReplays(List<Tensor> inputSets, Tensor h0, Tensor c0t, int warmup, int reps) {
        CudaStream stream = device.stream;
        try (Resources sets = new Resources(); CudaEvent start = device.ctx.createEvent(); CudaEvent end = device.ctx.createEvent()) {
            List<DeviceBuffer> copiesOfSets = new ArrayList<>();
            for (Tensor in : inputSets) {
                RunInputs.check(device.model, in, h0, c0t);
                if (in.dim(0) != steps || in.dim(1) != batch) {
                    throw new IllegalArgumentException("input sets differ in shape: " + in.shapeString());
                }
                uploadInputs(in, h0, c0t);
                DeviceBuffer copy = sets.add(device.ctx.allocate(x.bytes(), "benchmark input set"));
                copiesOfSets.add(copy);
                copy.copyFrom(x, stream);
                stream.synchronize();
            }
            CudaGraph full = graph(), proj = projectionGraph(), rec = recurrentGraph();
            double[] fullUs = new double[reps], recUs = new double[reps];
            for (int i = -warmup; i < reps; i++) {
                DeviceBuffer set = copiesOfSets.get(Math.floorMod(i, copiesOfSets.size()));
                x.copyFrom(set, stream);
                start.record(stream);
                full.launch(stream);
                end.record(stream);
                end.synchronize();
                float fullMs = end.millisSince(start);
                x.copyFrom(set, stream);
                proj.launch(stream);
                start.record(stream);
                rec.launch(stream);
                end.record(stream);
                end.synchronize();
                if (i >= 0) {
                    fullUs[i] = fullMs * 1000.0;
                    recUs[i] = end.millisSince(start) * 1000.0;
                }
            }
            stream.synchronize();
            return new DeviceTimes(steps, fullUs, recUs, details);
        }
    }

    // ---- host ↔ device ---------------------------------------------------------------------------------

    private void uploadInputs(Tensor input, Tensor h0, Tensor c0t) {
        Precision elem = device.elem;
        int layers = device.layers, hidden = device.hidden;
        long bh = (long) batch * hidden;
        double[] xv = input.data();
        copies.upload(x, 0, (long) xv.length * elem.bytes(), s -> CudaPrecision.putAll(elem, s, xv));
        double[] hv = h0 == null ? new double[(int) (layers * bh)] : h0.data();
        copies.upload(h0f, 0, hv.length * 4L, s -> CudaPrecision.putAll(Precision.FP32, s, hv));
        if (h0e != null && h0e != h0f) {
            copies.upload(h0e, 0, hv.length * (long) elem.bytes(), s -> CudaPrecision.putAll(elem, s, hv));
        }
        if (h0hb != null) {
            double[] t = new double[hv.length]; // [L][H][B]
            for (int k = 0; k < layers; k++) {
                for (int b = 0; b < batch; b++) {
                    for (int j = 0; j < hidden; j++) {
                        t[(int) (k * bh + (long) j * batch + b)] = hv[(int) (k * bh + (long) b * hidden + j)];
                    }
                }
            }
            copies.upload(h0hb, 0, t.length * (long) elem.bytes(), s -> CudaPrecision.putAll(elem, s, t));
        }
        if (c0 != null) {
            double[] cv = c0t == null ? new double[(int) (layers * bh)] : c0t.data();
            copies.upload(c0, 0, cv.length * 4L, s -> CudaPrecision.putAll(Precision.FP32, s, cv));
        }
    }

    /** Fills every buffer a replay must overwrite with NaN (0xFF bytes), so unwritten elements show. */
    private void poisonOutputs() {
        CudaStream stream = device.stream;
        for (CudaRnnLayerPlan l : lb) {
            l.hSeq.fill((byte) 0xFF, stream);
            if (l.hSeq32 != null && l.hSeq32 != l.hSeq) {
                l.hSeq32.fill((byte) 0xFF, stream);
            }
            if (l.cState != null) {
                l.cState.fill((byte) 0xFF, stream);
            }
            if (l.product != null) {
                l.product.fill((byte) 0xFF, stream);
            }
        }
    }

    private RnnOutput download() {
        int layers = device.layers, hidden = device.hidden;
        long bh = (long) batch * hidden;
        Precision outType = device.fusedRelu ? device.elem : Precision.FP32;
        CudaRnnLayerPlan last = lb.get(layers - 1);
        double[] out = new double[(int) (steps * bh)];
        copies.download(last.output(), 0, (long) steps * bh * outType.bytes(), s -> {
            CudaPrecision.getAll(outType, s, out);
            return out;
        });
        double[] hN = new double[(int) (layers * bh)];
        double[] cN = device.model.cell().hasCellState() ? new double[hN.length] : null;
        double[] one = new double[(int) bh];
        for (int k = 0; k < layers; k++) {
            CudaRnnLayerPlan l = lb.get(k);
            copies.download(l.output(), (steps - 1) * bh * outType.bytes(), bh * outType.bytes(), s -> {
                CudaPrecision.getAll(outType, s, one);
                return one;
            });
            System.arraycopy(one, 0, hN, (int) (k * bh), (int) bh);
            if (cN != null) {
                copies.download(l.cState, 0, bh * 4, s -> {
                    CudaPrecision.getAll(Precision.FP32, s, one);
                    return one;
                });
                System.arraycopy(one, 0, cN, (int) (k * bh), (int) bh);
            }
        }
        return new RnnOutput(new Tensor(new int[] {steps, batch, hidden}, out),
                new Tensor(new int[] {layers, batch, hidden}, hN),
                cN == null ? null : new Tensor(new int[] {layers, batch, hidden}, cN));
    }

    /** Frees every buffer, plan, module and graph of this shape, the last made first; idempotent. */
    @Override
    public void close() {
        res.close();
    }
}
