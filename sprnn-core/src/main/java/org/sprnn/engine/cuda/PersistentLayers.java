// PersistentLayers.java — what the sparse persistent engine keeps per layer on the device: the input projection's
// weights (uploaded at build), and per batch size the layer's plan, specialised kernel and packed W_hh (made at the
// first run with that batch), plus the cuBLASLt plans of the input projection per (layer, T*B).
package org.sprnn.engine.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.CublasLt;
import org.sprnn.internal.cuda.CudaContext;
import org.sprnn.internal.cuda.CudaDriver;
import org.sprnn.internal.cuda.CudaModule;
import org.sprnn.internal.cuda.CudaStream;
import org.sprnn.internal.cuda.DeviceBuffer;
import org.sprnn.internal.cuda.Transfers;
import org.sprnn.internal.cuda.GemmPlan;
import org.sprnn.internal.cuda.KernelCompiler;
import org.sprnn.internal.cuda.Resources;
import org.sprnn.model.Layer;
import org.sprnn.model.RnnModel;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.CsrMatrix;
import org.sprnn.sparse.PackedLayer;

/**
 * The layers of one {@link SparsePersistentEngine} on the device. Everything made here is owned by the engine's
 * {@link Resources} and lives until the engine closes.
 */
final class PersistentLayers {
    private final String name; // the engine's: cuda-sparse-persistent, or cuda-dense-persistent for dense plan options
    private static final long WORKSPACE_BYTES = 8L << 20;

    /**
     * One layer planned, compiled and uploaded for one batch size.
     *
     * @param plan the plan (fits)
     * @param kernel the specialised kernel
     * @param words {@code [W][S][32]} packed words
     * @param rowEnds {@code [W][U*G]} int32, then with a tail {@code [W][32]} ({@link PackedLayer#kernelRowEnds})
     * @param warpUnits {@code [W][U]} int32
     * @param needed {@code [CTAs][H+1]} int32: count, then the columns each CTA reads
     */
    record LayerKernel(Plan plan, CudaModule.CudaKernel kernel, DeviceBuffer words, DeviceBuffer rowEnds,
                       DeviceBuffer warpUnits, DeviceBuffer needed) {
    }

    /**
     * A resident session's kernel: layer 0's, its dynamic shared memory per CTA, and whether each warp keeps its rows of
     * {@code W_ih} in it ({@code SPRNN_RESIDENT_WIH_SMEM}).
     */
    record ResidentKernel(LayerKernel layer, int sharedBytes, boolean wihShared) {
    }

    /**
     * Whether a resident kernel may keep {@code W_ih} in shared memory where it fits (system property, else the
     * environment variable {@code SPRNN_RESIDENT_WIH_SMEM}; {@code 0} or {@code false} turns it off, to measure both).
     */
    static final String WIH_SMEM_PROPERTY = "sprnn.resident.wihSmem";

    private final RnnModel model;
    private final PlanOptions planOptions;
    private final DeviceLimits limits;
    private final SparsePersistentEngine.Variant variant;
    private final CudaContext ctx;
    private final CudaStream stream;
    private final Resources owned;
    private final CublasLt.Handle lt;
    private final DeviceBuffer workspace; // cuBLASLt workspace
    private final KernelCompiler compiler = new KernelCompiler();
    private final List<CsrMatrix> recurrent = new ArrayList<>(); // per layer, made at the first planning
    private final List<DeviceBuffer> wIh = new ArrayList<>();  // per layer [G*H][I] fp32 row-major
    private final List<DeviceBuffer> bIh = new ArrayList<>();  // per layer [G*H] fp32
    private final List<DeviceBuffer> bHh = new ArrayList<>();  // per layer [G*H] fp32
    private final Map<Integer, List<LayerKernel>> byBatch = new HashMap<>();
    private final Map<Long, GemmPlan> projections = new HashMap<>(); // (layer << 32 | T*B) → input projection plan
    private final Map<Long, CudaModule.CudaKernel> lengthsKernels = new HashMap<>(); // (layer << 32 | batch) → SPRNN_LENGTHS kernel

    private CudaModule.CudaKernel sessionFaults; // made at a lean session's first step

    /**
     * The kernel that ends a lean session's step ({@link PersistentSession}): one CTA copies {@code n} ints of fault
     * records to page-locked host memory the host reads after the step, and zeroes them for the next step, so the step
     * needs no copy of them and no clearing before it. Compiled once per engine.
     */
    synchronized CudaModule.CudaKernel sessionFaultsKernel(int smArch) {
        if (sessionFaults == null) {
            byte[] cubin = compiler.compile("session_faults.cu", "sprnn_session_faults", Map.of(), "sm_" + smArch);
            sessionFaults = owned.add(ctx.loadModule(cubin, "sprnn_session_faults")).kernel("sprnn_session_faults");
        }
        return sessionFaults;
    }

    /** Uploads the input weights of every layer of {@code model}; what it makes goes to {@code owned}. */
    PersistentLayers(RnnModel model, DeviceLimits limits, PlanOptions options, SparsePersistentEngine.Variant variant,
                     CudaContext ctx, CudaStream stream, Resources owned) {
        this.model = model;
        this.planOptions = options;
        this.name = options.dense() ? SparsePersistentEngine.DENSE_NAME : SparsePersistentEngine.NAME;
        this.limits = limits;
        this.variant = variant;
        this.ctx = ctx;
        this.stream = stream;
        this.owned = owned;
        lt = owned.add(CublasLt.get().new Handle(ctx));
        workspace = owned.add(ctx.allocate(WORKSPACE_BYTES, "cuBLASLt workspace"));
        for (Layer layer : model.layers()) {
            wIh.add(uploadFloats(layer.wIh().data(), "W_ih"));
            bIh.add(uploadFloats(layer.bIh().data(), "b_ih"));
            bHh.add(uploadFloats(layer.bHh().data(), "b_hh"));
        }
    }

    /** {@code W_ih} of layer {@code k}: {@code [G*H][I]} fp32 row-major. */
    DeviceBuffer wIh(int k) {
        return wIh.get(k);
    }

    /** {@code b_hh} of layer {@code k}: {@code [G*H]} fp32. */
    DeviceBuffer bHh(int k) {
        return bHh.get(k);
    }

    /** Every layer planned, compiled and uploaded for {@code batch}: made at the first call for that batch. */
    List<LayerKernel> kernels(int batch) {
        List<LayerKernel> ks = byBatch.get(batch);
        if (ks != null) {
            return ks;
        }
        if (recurrent.isEmpty()) {
            for (Layer layer : model.layers()) {
                recurrent.add(CsrMatrix.of(layer.wHh()));
            }
        }
        List<Plan> plans = new ArrayList<>();
        for (int k = 0; k < model.numLayers(); k++) {
            plans.add(Plan.of(recurrent.get(k), model.cell(), batch, limits, planOptions));
        }
        return build(batch, plans);
    }

    /** Uses {@code plans} (one per layer) for {@code batch} unless that batch is built already. */
    void usePlans(int batch, List<Plan> plans) {
        if (plans.size() != model.numLayers()) {
            throw new SprnnException(name + ": " + plans.size() + " plans for " + model.numLayers() + " layers");
        }
        for (Plan p : plans) {
            if (p.spec().batch() != batch || p.spec().hidden() != model.hiddenSize() || p.spec().cell() != model.cell()) {
                throw new SprnnException(name + ": plan " + p.spec().name() + " is not for batch " + batch + " of this model");
            }
        }
        if (!byBatch.containsKey(batch)) {
            build(batch, plans);
        }
    }

    private List<LayerKernel> build(int batch, List<Plan> plans) {
        List<LayerKernel> ks = new ArrayList<>();
        for (int k = 0; k < model.numLayers(); k++) {
            Plan p = plans.get(k);
            if (!p.fits()) {
                throw new SprnnException(name + ": " + SparsePersistentEngine.refusal(k, p, batch));
            }
            KernelSpec s = p.spec();
            CudaModule.CudaKernel kernel = compile(k, s);
            PackedLayer l = p.layout();
            ks.add(new LayerKernel(p, kernel, uploadInts(l.words(), "packed W_hh words"), uploadInts(l.kernelRowEnds(), "row ends"),
                    uploadInts(l.warpUnits(), "warp units"), uploadInts(l.neededColumns(s.ctas(), s.warpsPerCta()), "needed columns")));
        }
        byBatch.put(batch, ks);
        return ks;
    }

    /**
     * Layer {@code k}'s kernel for {@code batch} taking per-sequence lengths ({@link KernelSpec#withLengths()}): the same
     * plan and packed arrays as {@link #kernels}' (built first where needed), compiled at the first run with lengths at
     * that batch and kept until the engine closes.
     */
    CudaModule.CudaKernel lengthsKernel(int batch, int k) {
        long key = ((long) k << 32) | batch;
        CudaModule.CudaKernel kernel = lengthsKernels.get(key);
        if (kernel == null) {
            kernel = compile(k, kernels(batch).get(k).plan().spec().withLengths());
            lengthsKernels.put(key, kernel);
        }
        return kernel;
    }

    private final Map<String, ResidentKernel> residentKernels = new HashMap<>(); // batch, W_ih toggle, trace → layer 0's resident kernel

    /**
     * Layer 0 planned with the grid barrier and compiled as a resident session's kernel
     * ({@link SparsePersistentEngine#RESIDENT_DEFINE}), with its own packed arrays: made at the first resident session
     * of {@code batch}, kept until the engine closes.
     *
     * @throws SprnnException where the model has more than one layer or the layer does not fit so
     */
    synchronized ResidentKernel residentKernel(int batch) {
        boolean traced = ResidentTrace.fileName() != null; // measurement only
        boolean allowed = wihSmemAllowed();
        String key = batch + (allowed ? "" : " global W_ih") + (traced ? " traced" : "");
        ResidentKernel rk = residentKernels.get(key);
        if (rk != null) {
            return rk;
        }
        if (model.numLayers() != 1) {
            throw new SessionKindRefusedException(name + ": a resident session runs one layer (its kernel holds every SM); this model has "
                    + model.numLayers() + " layers: use SPRNN_SESSION=lean");
        }
        kernels(batch); // the CSR matrices
        Plan p = Plan.of(recurrent.get(0), model.cell(), batch, limits, planOptions.withExchange(ExchangeMode.GRID_BARRIER));
        if (!p.fits()) {
            throw new SessionKindRefusedException(name + ": resident session: " + SparsePersistentEngine.refusal(0, p, batch));
        }
        KernelSpec s = p.spec();
        if (s.stageCluster() > 1) {
            throw new SessionKindRefusedException(name + ": a resident session needs the grid barrier without staging clusters; layer 0 at batch "
                    + batch + " stages h in clusters of " + s.stageCluster() + ": use SPRNN_SESSION=lean");
        }
        int inputSize = model.inputSize();
        long room = limits.sharedMemoryPerBlockOptin() - KernelSpec.STATIC_SHARED_BYTES - s.sharedMemoryBytes();
        long withX = residentWihSharedBytes(s, inputSize, true), withoutX = residentWihSharedBytes(s, inputSize, false);
        boolean xShared = allowed && withX > 0 && withX <= room;
        boolean wihShared = xShared || allowed && withoutX > 0 && withoutX <= room;
        // where x_t does not fit beside W_ih: staged in chunks of the float4 columns that do (SPRNN_RESIDENT_X_CHUNK)
        int chunk = wihShared && !xShared ? residentXChunk(room - withoutX, inputSize, batch) : 0;
        Map<String, String> defines = new java.util.LinkedHashMap<>(variant.defines(s)); // an experiment's switches too
        String asked = defines.get("SPRNN_RESIDENT_X_CHUNK");
        if (asked != null && wihShared && !xShared) {
            int c = Integer.parseInt(asked);
            if (c != 0 && (c < 32 || 16L * batch * c > room - withoutX)) {
                throw new SprnnException(SparsePersistentEngine.EXPERIMENT_PROPERTY + ": SPRNN_RESIDENT_X_CHUNK=" + c
                        + " does not fit: 0, or 32 to " + (room - withoutX) / (16L * batch) + " float4 columns here");
            }
            chunk = c;
        }
        int shared = (int) (s.sharedMemoryBytes() + (xShared ? withX : wihShared ? withoutX + 16L * batch * chunk : 0));
        String kernelName = variant.kernelName(s) + "_resident" + (wihShared ? "_wih" + inputSize + (xShared ? "x" : "") : "")
                + (chunk > 0 ? "c" + chunk : "") + (traced ? "_trace" : "");
        defines.put(SparsePersistentEngine.RESIDENT_DEFINE, "1");
        if (wihShared) {
            defines.put("SPRNN_RESIDENT_WIH_SMEM", Integer.toString(inputSize));
            defines.put("SPRNN_RESIDENT_X_SMEM", xShared ? "1" : "0");
            if (chunk > 0) {
                defines.put("SPRNN_RESIDENT_X_CHUNK", Integer.toString(chunk)); // the experiment's, where it asked
            }
        }
        if (traced) {
            defines.put("SPRNN_RESIDENT_TRACE", "1");
        }
        byte[] cubin = compiler.compile(SparsePersistentEngine.SOURCE, kernelName, defines, "sm_" + s.smArch());
        CudaModule.CudaKernel kernel = owned.add(ctx.loadModule(cubin, kernelName)).kernel(KernelSpec.SYMBOL);
        kernel.setMaxDynamicSharedMemory(shared);
        PackedLayer l = p.layout();
        LayerKernel lk = new LayerKernel(p, kernel, uploadInts(l.words(), "packed W_hh words"), uploadInts(l.kernelRowEnds(), "row ends"),
                uploadInts(l.warpUnits(), "warp units"), uploadInts(l.neededColumns(s.ctas(), s.warpsPerCta()), "needed columns"));
        rk = new ResidentKernel(lk, shared, wihShared);
        residentKernels.put(key, rk);
        return rk;
    }

    /**
     * The shared memory a resident kernel of spec {@code s} needs beyond the plan's to keep its warps' rows of
     * {@code W_ih} and x_t there (sparse_persistent_rnn.cu, {@code SPRNN_RESIDENT_WIH_SMEM}: from the plan's bytes
     * rounded up to 16, {@code [warps][units*G][I]}, the projection's sums {@code [warps*units*G][B]} rounded up to 16
     * bytes and, with {@code withX}, {@code [B][I]} fp32); 0 where the input size
     * is no multiple of 4.
     *
     * @param s the resident layer's spec
     * @param inputSize the layer's input size I
     * @param withX whether x_t is staged in shared memory too ({@code SPRNN_RESIDENT_X_SMEM})
     * @return the extra bytes, or 0 where the kernel cannot keep W_ih so
     */
    static long residentWihSharedBytes(KernelSpec s, int inputSize, boolean withX) {
        if (inputSize % 4 != 0) {
            return 0;
        }
        long base = s.sharedMemoryBytes();
        long aligned = (base + 15) / 16 * 16;
        long rows = (long) s.warpsPerCta() * s.unitsPerWarp() * s.cell().gates();
        long sums = (rows * s.batch() + 3) / 4 * 4; // the projection's sums (RES_PROJ_FLOATS)
        return aligned - base + 4L * inputSize * (rows + (withX ? s.batch() : 0)) + 4L * sums;
    }

    /**
     * The float4 columns of x_t a resident kernel stages at a time where W_ih's rows fit in shared memory and x_t does
     * not ({@code SPRNN_RESIDENT_X_CHUNK}): as many as {@code spare} bytes hold for every batch column, at most the whole
     * input; 0 where fewer than 32 fit (x_t is then read from L2 as the projection goes).
     *
     * @param spare the shared memory left beside the plan's and W_ih's, bytes
     * @param inputSize the input size I (a multiple of 4)
     * @param batch the batch B
     * @return the chunk in float4 columns, or 0
     */
    static int residentXChunk(long spare, int inputSize, int batch) {
        long chunk = Math.min(inputSize / 4, spare / (16L * batch));
        return chunk >= 32 ? (int) chunk : 0;
    }

    private static boolean wihSmemAllowed() {
        String v = System.getProperty(WIH_SMEM_PROPERTY, System.getenv("SPRNN_RESIDENT_WIH_SMEM"));
        return v == null || !(v.trim().equals("0") || v.trim().equalsIgnoreCase("false"));
    }

    /** {@code b_ih} of layer {@code k}: {@code [G*H]} fp32. */
    DeviceBuffer bIh(int k) {
        return bIh.get(k);
    }

    /** Compiles and loads layer {@code k}'s kernel of spec {@code s}, its launch attributes set. */
    private CudaModule.CudaKernel compile(int k, KernelSpec s) {
        String kernelName = variant.kernelName(s);
        byte[] cubin = compiler.compile(SparsePersistentEngine.SOURCE, kernelName, variant.defines(s), "sm_" + s.smArch());
        CudaModule module = owned.add(ctx.loadModule(cubin, kernelName));
        CudaModule.CudaKernel kernel = module.kernel(KernelSpec.SYMBOL);
        kernel.setMaxDynamicSharedMemory((int) s.sharedMemoryBytes());
        if (s.exchange() == ExchangeMode.CLUSTER && s.ctas() > 8) {
            kernel.setAttribute(CudaDriver.FUNC_ATTR_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1);
        }
        if (s.stageCluster() > 1) { // the cooperative launch must hold every staging cluster at once
            int resident = kernel.maxActiveClusters(s.ctas(), s.threadsPerCta(), (int) s.sharedMemoryBytes());
            if ((long) resident * s.stageCluster() < s.ctas()) {
                throw new SprnnException(name + ": layer " + k + " stages h in clusters of " + s.stageCluster() + " on " + s.ctas()
                        + " CTAs, but " + ctx.info().name() + " holds only " + resident + " such clusters at once");
            }
        }
        return kernel;
    }

    /** The input projection of layer {@code k} for {@code tb = T*B} columns: built once, kept until the engine closes. */
    GemmPlan projection(int k, int inputSize, int tb) {
        long key = ((long) k << 32) | tb;
        GemmPlan p = projections.get(key);
        if (p == null) {
            int gh = model.cell().gates() * model.hiddenSize();
            p = owned.add(new GemmPlan(ctx, lt, new GemmPlan.Spec(gh, tb, inputSize, true, inputSize, inputSize, gh,
                    CublasLt.CUDA_R_32F, CublasLt.CUDA_R_32F, CublasLt.EPILOGUE_BIAS, 0f, 16), bIh.get(k).ptr(), workspace, 1));
            projections.put(key, p);
        }
        return p;
    }

    /** Input projection plans built so far (one per layer and T*B run). */
    int projectionPlans() {
        return projections.size();
    }

    private DeviceBuffer uploadFloats(double[] v, String what) {
        DeviceBuffer b = owned.add(ctx.allocate(Math.max(16L, 4L * v.length), what));
        Transfers.perCall(stream).uploadFloats(b, v);
        return b;
    }

    private DeviceBuffer uploadInts(int[] v, String what) {
        DeviceBuffer b = owned.add(ctx.allocate(Math.max(16L, 4L * v.length), what));
        Transfers.perCall(stream).uploadInts(b, v);
        return b;
    }
}
