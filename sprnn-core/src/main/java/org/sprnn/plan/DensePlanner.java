package org.sprnn.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.sprnn.model.CellType;
import org.sprnn.sparse.CsrMatrix;
import org.sprnn.sparse.PackedLayer;

/**
 * Plans the dense mode ({@link PlanOptions#dense}, {@code cuda-dense-persistent}): the same search as the sparse
 * planner (every exchange, one CTA per SM or the largest cluster, the grid barrier's multicast staging in clusters of
 * 8, warp counts by the cost of the critical warp's slots), where every unit costs {@code G x ceil(H/64)} slots, so a
 * plan needs only the shape, not the weights, until it packs ({@link PackedLayer#packDense}, only for a plan that
 * fits: a refused layer may be larger than the host's memory). {@link #capacity} searches the largest hidden size.
 */
final class DensePlanner {
    private DensePlanner() {
    }

    /** Plans a dense layer of {@code hidden} ({@code whh} null: the numbers only, no layout). */
    static Plan of(CsrMatrix whh, CellType cell, int hidden, int batch, DeviceLimits device, PlanOptions options) {
        if (options.exchange() == null) {
            Plan best = null;
            for (ExchangeMode e : ExchangeMode.values()) {
                if (e == ExchangeMode.CLUSTER && (device.maxClusterSize() < 2 || device.computeCapability() < 90)) {
                    continue;
                }
                Plan p = of(whh, cell, hidden, batch, device, options.withExchange(e));
                if (best == null || (p.fits() && (!best.fits() || p.predictedMicrosPerStep() < best.predictedMicrosPerStep()))) {
                    best = p;
                }
            }
            return best;
        }
        ExchangeMode ex = options.exchange();
        int ctas = options.ctas();
        if (ctas == 0) {
            ctas = ex == ExchangeMode.CLUSTER ? Math.min(16, Math.max(1, device.maxClusterSize())) : device.smCount();
        }
        Plan plan = ofCtas(whh, cell, hidden, batch, device, options, ex, ctas, 0);
        int wideCtas = KernelSpec.WIDE_STAGE_CLUSTER * device.clustersOf8();
        if (options.ctas() == 0 && wideCtas >= KernelSpec.WIDE_STAGE_CLUSTER && wideCtas <= device.smCount()
                && KernelSpec.multicastWorthIt(ex, device.computeCapability(), hidden, batch)) {
            Plan wide = ofCtas(whh, cell, hidden, batch, device, options, ex, wideCtas, KernelSpec.WIDE_STAGE_CLUSTER);
            if (wide.fits() && (!plan.fits() || wide.slotCost() <= plan.slotCost())) {
                plan = wide;
            }
        }
        return plan;
    }

    /** On {@code ctas} CTAs: the cheapest warp count that fits, else the cheapest one's refusal. */
    private static Plan ofCtas(CsrMatrix whh, CellType cell, int hidden, int batch, DeviceLimits device, PlanOptions options,
                               ExchangeMode ex, int ctas, int stageCluster) {
        if (options.warpsPerCta() != 0) {
            return ofPartition(whh, cell, hidden, batch, device, options, ex, ctas, options.warpsPerCta(), stageCluster);
        }
        int pb = org.sprnn.sparse.SharedMemoryBanks.paddedBatch(batch);
        List<double[]> scored = new ArrayList<>(); // {cost, warps}
        for (int w = 1; w <= Math.min(32, device.maxThreadsPerBlock() / 32); w++) {
            int regSlots = KernelSpec.denseRegisterSlotsFor(cell, pb, Plan.registersPerThread(device, w), ex);
            int s = slotsPerLane(cell, hidden, batch, ctas, w, contiguous(ex), options.balanced());
            scored.add(new double[] {Math.min(s, regSlots) + Plan.TIER2_SLOT_COST * Math.max(0, s - regSlots), w});
        }
        scored.sort(Comparator.<double[]>comparingLong(c -> Math.round(c[0] * 10)).thenComparingDouble(c -> c[1]));
        Plan closest = null; // refused: the partition short of the fewest words per lane
        for (double[] c : scored) {
            Plan p = ofPartition(null, cell, hidden, batch, device, options, ex, ctas, (int) c[1], stageCluster);
            if (closest == null || shortfall(p) < shortfall(closest)) {
                closest = p;
            }
            if (p.fits()) {
                return whh == null ? p : ofPartition(whh, cell, hidden, batch, device, options, ex, ctas, (int) c[1], stageCluster);
            }
        }
        return closest;
    }

    /** Words per lane a plan needs beyond its tiers' room. */
    private static long shortfall(Plan p) {
        return (long) p.spec().slotsPerLane() - p.registerSlotsAvailable() - p.sharedSlotsAvailable();
    }

    /**
     * {@code S} of a dense partition without packing: {@code U x G x ceil(H/64)}, {@code U} the most units a warp gets;
     * dealt over all warps (balanced or naive) that is {@code ceil(H / warps)}; per CTA contiguous, the dealing's.
     */
    static int slotsPerLane(CellType cell, int hidden, int batch, int ctas, int warps, boolean contiguous, boolean balanced) {
        if (!contiguous) {
            long all = (long) ctas * warps;
            return (int) ((hidden + all - 1) / all) * cell.gates() * PackedLayer.denseRowSlots(hidden);
        }
        return PackedLayer.slotsPerLane(PackedLayer.denseUnitSlots(hidden, cell), batch, ctas, ctas * warps, true, balanced);
    }

    /** The cluster exchange pushes each CTA's contiguous block of h; the grid barrier and timestamps deal units over all warps. */
    private static boolean contiguous(ExchangeMode ex) {
        return ex == ExchangeMode.CLUSTER;
    }

    /** One partition; packs {@code whh} when given and the layer fits. */
    static Plan ofPartition(CsrMatrix whh, CellType cell, int hidden, int batch, DeviceLimits device, PlanOptions options,
                            ExchangeMode ex, int ctas, int warps, int stageCluster) {
        int g = cell.gates();
        int l = PackedLayer.denseRowSlots(hidden);
        boolean contiguous = contiguous(ex);
        int s = slotsPerLane(cell, hidden, batch, ctas, warps, contiguous, options.balanced());
        int upw = s / (g * l);
        int threads = warps * 32;
        int pb = org.sprnn.sparse.SharedMemoryBanks.paddedBatch(batch);
        int regs = Plan.registersPerThread(device, warps);
        int regSlotsAvail = KernelSpec.denseRegisterSlotsFor(cell, pb, regs, ex);
        int regSlots = Math.min(s, regSlotsAvail);
        KernelSpec spec = KernelSpec.builder().cell(cell).hidden(hidden).batch(batch).weights(options.weights()).ctas(ctas)
                .warpsPerCta(warps).slotsPerLane(s).registerSlots(regSlots).unitsPerWarp(upw).wideLoads(true).bankAware(false)
                .exchange(ex).balanced(options.balanced()).smArch(device.computeCapability()).splitWeights(false)
                .stageCluster(stageCluster).uniformSlots(true).rowSlots(upw * g > 1 ? l : 0).dense(true).build();
        long fixed = spec.sharedMemoryBytesWithoutTier2();
        long left = device.sharedMemoryPerBlockOptin() - KernelSpec.STATIC_SHARED_BYTES - fixed;
        int sharedSlotsAvail = (int) Math.max(0, left / (4L * threads));
        long capacityWords = (long) ctas * warps * 32 * (regSlotsAvail + sharedSlotsAvail);
        long neededWords = (long) ctas * warps * 32 * s;
        long weights = (long) g * hidden * hidden;
        String why;
        boolean fits;
        if (ex == ExchangeMode.CLUSTER && (device.computeCapability() < 90 || ctas > device.maxClusterSize())) {
            fits = false;
            why = String.format(Locale.ROOT, "a cluster of %d CTAs needs compute capability 9.0 and clusters of that size; %s has %d.%d and clusters up to %d",
                    ctas, device.name(), device.computeCapability() / 10, device.computeCapability() % 10, device.maxClusterSize());
        } else if (ex != ExchangeMode.CLUSTER && ctas > device.smCount()) {
            fits = false;
            why = String.format(Locale.ROOT, "%d CTAs, one per SM, but %s has %d SMs", ctas, device.name(), device.smCount());
        } else if (left < 0) {
            fits = false;
            why = String.format(Locale.ROOT, "activations and bookkeeping need %d B of shared memory per CTA > %d B",
                    fixed, device.sharedMemoryPerBlockOptin() - KernelSpec.STATIC_SHARED_BYTES);
        } else if (s > regSlotsAvail + sharedSlotsAvail) {
            fits = false;
            why = String.format(Locale.ROOT,
                    "needs %d words per lane (%d units a warp x %d gate rows x %d slots; %d dense weights, 2 a word) but %d registers + %d shared fit per lane (capacity %d words = %d weights on %d CTAs x %d warps)",
                    s, upw, g, l, weights, regSlotsAvail, sharedSlotsAvail, capacityWords, 2 * capacityWords, ctas, warps);
        } else {
            fits = true;
            why = String.format(Locale.ROOT, "%d words per lane = %d in registers + %d in shared memory (room for %d + %d); %d of %d words of capacity used (2 dense weights a word)",
                    s, regSlots, s - regSlots, regSlotsAvail, sharedSlotsAvail, neededWords, capacityWords);
        }
        PackedLayer layout = fits && whh != null
                ? PackedLayer.packDense(whh, cell, batch, ctas, ctas * warps, contiguous, options.balanced(), options.weights())
                : null;
        return new Plan(spec, layout, device, regs, regSlotsAvail, sharedSlotsAvail, fits, why);
    }

    /**
     * The largest hidden size whose dense layer fits on {@code device} at {@code batch} with {@code options}: the plan at
     * that size and the refusal one above it. Fitting grows no size smaller, up to the rounding of rows to 64 columns and
     * of units to warps; the search is a bisection on fits, then a walk up while the next size fits.
     */
    static Plan.DenseCapacity capacity(CellType cell, int batch, DeviceLimits device, PlanOptions options) {
        int lo = 0;
        int hi = 1;
        while (hi < 65_000 && of(null, cell, hi, batch, device, options).fits()) {
            lo = hi;
            hi *= 2;
        }
        hi = Math.min(hi, 65_000);
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (of(null, cell, mid, batch, device, options).fits()) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        while (lo + 1 < 65_000 && of(null, cell, lo + 1, batch, device, options).fits()) {
            lo++;
        }
        Plan at = lo == 0 ? null : of(null, cell, lo, batch, device, options);
        return new Plan.DenseCapacity(cell, batch, lo, at, of(null, cell, lo + 1, batch, device, options));
    }
}
