// CudnnShapePlan.java — everything a cuda-cudnn engine makes for one (T, B): the x/y/h/c buffers, the RNN data and state
// descriptors, the sequence lengths cuDNN wants on the device, the workspace, a pinned staging buffer, and the algorithm
// cuDNN accepted for this shape (auto tries the persistent ones first: a trial forward on zeros tells whether cuDNN takes
// the shape, since some refusals only come from cudnnRNNForward). Timing adds a CUDA graph of the forward where cuDNN's
// calls can be captured, and a CUDNN_SKIP_INPUT twin that leaves layer 0's input GEMM out (the recurrent part, as the
// team's reference measurement took it).
package org.sprnn.engine.cuda;

import org.sprnn.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.sprnn.engine.DeviceTimes;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.RunInputs;
import org.sprnn.internal.cuda.CudaEvent;
import org.sprnn.internal.cuda.CudaException;
import org.sprnn.internal.cuda.CudaGraph;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.Cudnn;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.internal.cuda.Transfers;
import org.sprnn.model.Tensor;

/** The buffers, descriptors and chosen algorithm of one (T, B); closes them all, in reverse order. */
final class CudnnShapePlan implements AutoCloseable {
    final CudnnDevice device;
    final List<CudnnAlgorithm> order;
    final int steps, batch;
    private final Resources res = new Resources();
    private final DeviceBuffer x, y, hx, hy, cx, cy, seqLengths;
    private DeviceBuffer workspace; // grown to the largest need of the configs run here; null while none needs one
    private final Cudnn.RnnDataDescriptor xDesc, yDesc;
    private final Cudnn.TensorDescriptor hDesc;
    private final Transfers copies;
    /** The configuration cuDNN accepted for this shape. */
    final CudnnDevice.Config chosen;
    /** What was chosen and why (the algorithms refused before it, with cuDNN's reasons). */
    final String how;
    private CudaGraph graphFull, graphRecurrent;
    private String captureNote;

    /**
     * Allocates for (T, B) and finds the first algorithm of {@code order} that cuDNN accepts.
     *
     * @throws CudnnEngineException where cuDNN refuses (every algorithm of) {@code order} for this shape
     */
    CudnnShapePlan(CudnnDevice device, List<CudnnAlgorithm> order, int steps, int batch) {
        this.device = device;
        this.order = order;
        this.steps = steps;
        this.batch = batch;
        CudnnDevice d = device;
        d.ctx.makeCurrent();
        int el = d.format.elem().bytes();
        boolean lstm = d.model.cell().hasCellState();
        try {
            long bh = (long) batch * d.hidden, states = d.layers * bh;
            x = alloc((long) steps * batch * d.inputSize * el, "input x");
            y = alloc((long) steps * bh * el, "output y");
            hx = alloc(states * el, "hx");
            hy = alloc(states * el, "hy");
            cx = lstm ? alloc(states * el, "cx") : null;
            cy = lstm ? alloc(states * el, "cy") : null;
            seqLengths = alloc(4L * batch, "sequence lengths");
            Transfers.perCall(d.stream).uploadInts(seqLengths, filled(batch, steps));
            xDesc = res.add(d.cudnn.new RnnDataDescriptor(d.format.dataType(), CudnnDevice.LAYOUT, steps, batch, d.inputSize));
            yDesc = res.add(d.cudnn.new RnnDataDescriptor(d.format.dataType(), CudnnDevice.LAYOUT, steps, batch, d.hidden));
            hDesc = res.add(d.cudnn.new TensorDescriptor(d.format.dataType(), d.layers, batch, d.hidden));
            long stagingBytes = Math.max(x.bytes(), Math.max(y.bytes(), hx.bytes()));
            copies = Transfers.staged(d.stream, res.add(d.ctx.allocatePinned(stagingBytes, "host staging (T=" + steps + ", B=" + batch + ")")));
            List<String> refused = new ArrayList<>();
            CudnnDevice.Config c = null;
            for (int i = 0; i < order.size() && c == null; i++) {
                CudnnAlgorithm a = order.get(i);
                try {
                    c = trial(a, false);
                } catch (CudaException e) {
                    if (!e.call().startsWith("cudnn")) {
                        throw e; // a driver failure (out of memory, a fault), not cuDNN's refusal
                    }
                    d.drop(a, false);
                    String why = a.cudnnName() + ": " + e.getMessage();
                    if (i == order.size() - 1) {
                        String failure = refused.isEmpty() ? e.getMessage()
                                : e.getMessage() + " (tried before it: " + String.join("; ", refused) + ")";
                        throw new CudnnEngineException(CudnnEngineException.message(a, e.code(), describe(), failure), a, e.call(), e.code());
                    }
                    refused.add(why);
                }
            }
            chosen = c;
            how = "cuDNN " + d.cudnn.version() + " " + chosen.algorithm.cudnnName() + ", " + d.format.describe()
                    + (refused.isEmpty() ? "" : "; refused first: " + String.join("; ", refused));
        } catch (RuntimeException | Error e) {
            res.closeAfter(e);
            throw e;
        }
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /** The model and run as messages name them, e.g. {@code lstm, hidden 1152, 2 layers, input 48, batch 4, T 256, fp16 data}. */
    String describe() {
        return describe(device, batch, steps);
    }

    static String describe(CudnnDevice d, int batch, int steps) {
        return String.format(Locale.ROOT, "%s, hidden %d, %d layer%s, input %d, batch %d, T %d, %s data", d.model.cell().id(), d.hidden,
                d.layers, d.layers == 1 ? "" : "s", d.inputSize, batch, steps, d.format.id());
    }

    /**
     * Makes {@code algorithm}'s configuration ready for this shape and runs it once on zeros (cuDNN refuses some shapes only
     * in {@code cudnnRNNForward}); returns it, or throws cuDNN's refusal.
     */
    private CudnnDevice.Config trial(CudnnAlgorithm algorithm, boolean skipInput) {
        device.ctx.makeCurrent();
        CudnnDevice.Config c = device.config(algorithm, skipInput);
        c.prepare(batch);
        ensureWorkspace(device.handle.inferenceWorkspaceSize(c.rnn, xDesc));
        CudaStream stream = device.stream;
        x.fill((byte) 0, stream);
        hx.fill((byte) 0, stream);
        if (cx != null) {
            cx.fill((byte) 0, stream);
        }
        forward(c);
        stream.synchronize();
        return c;
    }

    private void ensureWorkspace(long bytes) {
        if (bytes > 0 && (workspace == null || workspace.bytes() < bytes)) {
            DeviceBuffer old = workspace;
            workspace = null;
            if (old != null) {
                device.stream.synchronize();
                old.close(); // also owned by res: closing twice is a no-op
                // graphs captured the old workspace's address: capture again on next use (the old ones stay owned by res)
                graphFull = null;
                graphRecurrent = null;
            }
            workspace = alloc(bytes, "cuDNN workspace");
        }
    }

    private DeviceBuffer alloc(long bytes, String what) {
        return res.add(device.ctx.allocate(bytes, what + " (T=" + steps + ", B=" + batch + ")"));
    }

    /** {@code cudnnRNNForward} of {@code c} on this shape's buffers, queued on the stream. */
    private void forward(CudnnDevice.Config c) {
        device.handle.forward(c.rnn, seqLengths.ptr(), xDesc, x.ptr(), yDesc, y.ptr(), hDesc, hx.ptr(), hy.ptr(), hDesc,
                cx == null ? 0 : cx.ptr(), cy == null ? 0 : cy.ptr(), c.weightBytes, c.weights.ptr(),
                workspace == null ? 0 : workspace.bytes(), workspace == null ? 0 : workspace.ptr());
    }

    /**
     * Runs the whole sequence on {@code input} and returns outputs and final states.
     *
     * @throws CudnnEngineException where cuDNN fails the call
     */
    RnnOutput run(Tensor input, Tensor h0, Tensor c0) {
        device.ctx.makeCurrent();
        uploadInputs(input, h0, c0);
        CudaStream stream = device.stream;
        y.fill((byte) 0xFF, stream); // NaN in fp32, fp16 and bf16: an element cuDNN does not write shows
        hy.fill((byte) 0xFF, stream);
        if (cy != null) {
            cy.fill((byte) 0xFF, stream);
        }
        try {
            forward(chosen);
        } catch (CudaException e) {
            throw wrap(e, chosen.algorithm);
        }
        stream.synchronize();
        return download();
    }

    private RuntimeException wrap(CudaException e, CudnnAlgorithm algorithm) {
        if (!e.call().startsWith("cudnn")) {
            return e;
        }
        return new CudnnEngineException(CudnnEngineException.message(algorithm, e.code(), describe(), e.getMessage()), algorithm,
                e.call(), e.code());
    }

    // ---- timing -----------------------------------------------------------------------------------------

    /**
     * Times the forward with CUDA events after {@code warmup} untimed runs, rotating through {@code inputSets} (uploaded
     * once, copied into x before each run, untimed). The full forward and the recurrent part (a {@code CUDNN_SKIP_INPUT}
     * twin of the same algorithm on the same x, so layer 0's input GEMM is left out; possible where the input size is
     * the hidden size) are timed in alternation; each is one CUDA graph where cuDNN's calls can be captured, else
     * called directly. {@link DeviceTimes#how()} says which.
     */
    DeviceTimes timeReplays(List<Tensor> inputSets, Tensor h0, Tensor c0, int warmup, int reps) {
        device.ctx.makeCurrent();
        CudaStream stream = device.stream;
        List<String> notes = new ArrayList<>();
        CudnnDevice.Config twin = recurrentTwin(notes);
        try (Resources sets = new Resources(); CudaEvent start = device.ctx.createEvent(); CudaEvent end = device.ctx.createEvent()) {
            List<DeviceBuffer> copiesOfSets = new ArrayList<>();
            for (Tensor in : inputSets) {
                RunInputs.check(device.model, in, h0, c0);
                if (in.dim(0) != steps || in.dim(1) != batch) {
                    throw new IllegalArgumentException("input sets differ in shape: " + in.shapeString());
                }
                uploadInputs(in, h0, c0);
                DeviceBuffer copy = sets.add(device.ctx.allocate(x.bytes(), "benchmark input set"));
                copiesOfSets.add(copy);
                copy.copyFrom(x, stream);
                stream.synchronize();
            }
            Runnable full = replay(true, chosen), recurrent = twin == null ? full : replay(false, twin);
            double[] fullUs = new double[reps], recUs = new double[reps];
            for (int i = -warmup; i < reps; i++) {
                DeviceBuffer set = copiesOfSets.get(Math.floorMod(i, copiesOfSets.size()));
                x.copyFrom(set, stream);
                start.record(stream);
                full.run();
                end.record(stream);
                end.synchronize();
                float fullMs = end.millisSince(start);
                float recMs = fullMs;
                if (twin != null) {
                    x.copyFrom(set, stream);
                    start.record(stream);
                    recurrent.run();
                    end.record(stream);
                    end.synchronize();
                    recMs = end.millisSince(start);
                }
                if (i >= 0) {
                    fullUs[i] = fullMs * 1000.0;
                    recUs[i] = recMs * 1000.0;
                }
            }
            stream.synchronize();
            notes.add(captureNote != null ? captureNote : "each forward one CUDA graph replay");
            return new DeviceTimes(steps, fullUs, recUs, how + (notes.isEmpty() ? "" : "; " + String.join("; ", notes)));
        } catch (CudaException e) {
            throw wrap(e, chosen.algorithm);
        }
    }

    /**
     * The SKIP_INPUT twin of the chosen algorithm (layer 0 takes x as its input projection), or {@code null} with the
     * reason in {@code notes} where there is none: then the recurrent time is the full forward's.
     */
    private CudnnDevice.Config recurrentTwin(List<String> notes) {
        if (device.inputSize != device.hidden) {
            notes.add("recurrent = full forward (input size " + device.inputSize + " is not the hidden size, so no CUDNN_SKIP_INPUT twin)");
            return null;
        }
        try {
            CudnnDevice.Config t = trial(chosen.algorithm, true);
            notes.add("recurrent: a CUDNN_SKIP_INPUT twin on the same x (layer 0's input GEMM left out)");
            return t;
        } catch (CudaException e) {
            if (!e.call().startsWith("cudnn")) {
                throw e;
            }
            device.drop(chosen.algorithm, true);
            notes.add("recurrent = full forward (cuDNN refused the CUDNN_SKIP_INPUT twin: " + e.getMessage() + ")");
            return null;
        }
    }

    /** One forward of {@code c} as a graph replay where cuDNN's calls can be captured, else as a direct call. */
    private Runnable replay(boolean full, CudnnDevice.Config c) {
        CudaGraph g = full ? graphFull : graphRecurrent;
        if (g == null && captureNote == null) {
            try {
                g = res.add(device.stream.capture(() -> forward(c)));
            } catch (CudaException e) {
                captureNote = "forwards called directly, not in a CUDA graph (capturing cudnnRNNForward failed: " + e.getMessage() + ")";
                device.stream.synchronize();
            }
            if (full) {
                graphFull = g;
            } else {
                graphRecurrent = g;
            }
        }
        if (g == null) {
            return () -> forward(c);
        }
        CudaGraph graph = g;
        return () -> graph.launch(device.stream);
    }

    // ---- host ↔ device ------------------------------------------------------------------------------------

    private void uploadInputs(Tensor input, Tensor h0, Tensor c0) {
        Precision elem = device.format.elem();
        double[] xv = input.data();
        copies.upload(x, 0, (long) xv.length * elem.bytes(), s -> CudaPrecision.putAll(elem, s, xv));
        int n = (int) (hx.bytes() / elem.bytes());
        double[] hv = h0 == null ? new double[n] : h0.data();
        copies.upload(hx, 0, hx.bytes(), s -> CudaPrecision.putAll(elem, s, hv));
        if (cx != null) {
            double[] cv = c0 == null ? new double[n] : c0.data();
            copies.upload(cx, 0, cx.bytes(), s -> CudaPrecision.putAll(elem, s, cv));
        }
    }

    private RnnOutput download() {
        Precision elem = device.format.elem();
        int layers = device.layers, hidden = device.hidden;
        double[] out = new double[steps * batch * hidden];
        copies.download(y, 0, y.bytes(), s -> {
            CudaPrecision.getAll(elem, s, out);
            return out;
        });
        double[] hN = new double[layers * batch * hidden];
        copies.download(hy, 0, hy.bytes(), s -> {
            CudaPrecision.getAll(elem, s, hN);
            return hN;
        });
        double[] cN = null;
        if (cy != null) {
            double[] c = new double[hN.length];
            copies.download(cy, 0, cy.bytes(), s -> {
                CudaPrecision.getAll(elem, s, c);
                return c;
            });
            cN = c;
        }
        return new RnnOutput(new Tensor(new int[] {steps, batch, hidden}, out), new Tensor(new int[] {layers, batch, hidden}, hN),
                cN == null ? null : new Tensor(new int[] {layers, batch, hidden}, cN));
    }

    /** Frees every buffer, descriptor and graph of this shape, the last made first; idempotent. */
    @Override
    public void close() {
        res.close();
    }
}
