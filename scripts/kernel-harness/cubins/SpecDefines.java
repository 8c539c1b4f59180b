// SpecDefines — prints the nvcc defines of the kernels the engines compile, for a representative set of layers, as the
// engines derive them: the sparse persistent kernel through Plan.of and the engine's own plan options
// (SparsePersistentFactory#planOptions) and variants (EngineTesting#sparsePersistentKernel), the cell update through
// EngineTesting#cellUpdateKernels. cubin-identity.sh compiles every line at two commits and compares the cubins.
//
// Run (from the repository root, after `mvn -pl sprnn-core compile`):
//   java -cp sprnn-core/target/classes scripts/kernel-harness/cubins/SpecDefines.java > specs.txt
// One line per kernel: NAME SOURCE -DK=V ... (the engine's kernel name; nothing after SOURCE: the source's defaults).
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.sprnn.Precision;
import org.sprnn.engine.cuda.CudaRnnEngine;
import org.sprnn.engine.cuda.EngineTesting;
import org.sprnn.engine.cuda.SparsePersistentEngine;
import org.sprnn.engine.cuda.SparsePersistentFactory;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.CsrMatrix;

public class SpecDefines {
    /** One layer: cell, H, batch, density, weights, dense mode, exchange (null: the planner's choice). */
    record Layer(CellType cell, int hidden, int batch, double density, Precision weights, boolean dense, ExchangeMode exchange) {
    }

    static final SparsePersistentEngine.Variant NORMAL = SparsePersistentEngine.Variant.NORMAL;

    public static void main(String[] args) {
        List<Layer> layers = List.of(
                new Layer(CellType.RNN_RELU, 1152, 4, 0.1, Precision.FP16, false, null),          // the paper's smallest
                new Layer(CellType.RNN_RELU, 1152, 4, 0.1, Precision.FP16, false, ExchangeMode.GRID_BARRIER),
                new Layer(CellType.RNN_RELU, 1152, 4, 0.1, Precision.FP16, false, ExchangeMode.CLUSTER),
                new Layer(CellType.RNN_RELU, 2304, 4, 0.3, Precision.FP16, false, ExchangeMode.TIMESTAMPS),
                new Layer(CellType.RNN_RELU, 5760, 4, 0.1, Precision.FP16, false, null),          // cluster staging
                new Layer(CellType.RNN_RELU, 1152, 1, 0.1, Precision.FP16, false, null),          // PB 2
                new Layer(CellType.RNN_RELU, 1152, 16, 0.1, Precision.FP16, false, ExchangeMode.TIMESTAMPS),
                new Layer(CellType.RNN_TANH, 1152, 4, 0.1, Precision.FP16, false, null),
                new Layer(CellType.GRU, 1152, 4, 0.1, Precision.FP16, false, null),
                new Layer(CellType.GRU, 1152, 4, 0.1, Precision.FP16, false, ExchangeMode.TIMESTAMPS),
                new Layer(CellType.GRU, 1152, 4, 0.1, Precision.FP16, false, ExchangeMode.CLUSTER),       // compiled row ends
                new Layer(CellType.LSTM, 1152, 4, 0.1, Precision.FP16, false, null),
                new Layer(CellType.LSTM, 512, 8, 0.3, Precision.FP16, false, ExchangeMode.GRID_BARRIER),
                new Layer(CellType.RNN_RELU, 1152, 4, 0.1, Precision.BF16, false, null),
                new Layer(CellType.LSTM, 1152, 4, 0.1, Precision.BF16, false, null),
                new Layer(CellType.RNN_RELU, 1024, 4, 1.0, Precision.FP16, true, null),           // SPRNN_DENSE=1
                new Layer(CellType.GRU, 512, 4, 1.0, Precision.BF16, true, null),
                new Layer(CellType.LSTM, 256, 16, 1.0, Precision.FP16, true, null));              // dense, PB 16
        Map<String, String> out = new LinkedHashMap<>(); // name → "SOURCE -D..." (first of equal names kept)
        for (Layer l : layers) {
            PlanOptions o = SparsePersistentFactory.planOptions(l.weights(), l.dense());
            if (l.exchange() != null) {
                o = o.withExchange(l.exchange());
            }
            Plan p = plan(l, o);
            put(out, EngineTesting.sparsePersistentKernel(p.spec(), NORMAL));
            if (l.cell() == CellType.RNN_RELU && l.hidden() == 1152 && l.batch() == 4 && l.weights() == Precision.FP16) {
                // the engine's other kernels: the exchange floor (ablation) and a stalled CTA (the fault-path check)
                put(out, EngineTesting.sparsePersistentKernel(p.spec(), new SparsePersistentEngine.Variant(true, -1, 0,
                        NORMAL.spinTimeoutNs(), NORMAL.stepsPerLaunch())));
                put(out, EngineTesting.sparsePersistentKernel(p.spec(), NORMAL.withStall(0, 5, 10_000_000L)));
            }
        }
        // the ablation's kernels without the optimizations (sprnn bench ablation): naive (scalar loads, natural order,
        // naive split, grid barrier), + wide loads, and all on with the row ends tested at run time
        PlanOptions naive = new PlanOptions(ExchangeMode.GRID_BARRIER, false, false, false, 0, 0, Precision.FP16);
        for (int h : new int[] {1152, 5760}) {
            Layer l = new Layer(CellType.RNN_RELU, h, 4, 0.1, Precision.FP16, false, null);
            for (PlanOptions o : List.of(naive, naive.withSwitches(true, false, false),
                    PlanOptions.defaults().withCompiledRowEnds(false))) {
                put(out, EngineTesting.sparsePersistentKernel(plan(l, o).spec(), NORMAL));
            }
        }
        for (CellType c : CellType.values()) {
            for (CudaRnnEngine.Kind kind : CudaRnnEngine.Kind.values()) {
                for (Precision e : List.of(Precision.FP32, Precision.FP16, Precision.BF16)) {
                    for (EngineTesting.KernelBuild k : EngineTesting.cellUpdateKernels(c, 1152, 4, kind, e)) {
                        put(out, k);
                    }
                }
            }
        }
        out.put("rnn_cell_update_defaults", "rnn_cell_update.cu"); // the source's own defaults (the offline check)
        out.forEach((name, line) -> System.out.println(name + " " + line));
    }

    /** The plan of a synthetic layer of {@code l}'s shape with options {@code o}, for an H100 SXM; throws if it does not fit. */
    static Plan plan(Layer l, PlanOptions o) {
        CsrMatrix w = CsrMatrix.of(SyntheticModels.sparse(l.cell().gates() * l.hidden(), l.hidden(), l.density(),
                new SplittableRandom(1234 + l.hidden())));
        return Plan.of(w, l.cell(), l.batch(), DeviceLimits.h100Sxm(), o).requireFits();
    }

    static void put(Map<String, String> out, EngineTesting.KernelBuild k) {
        List<String> d = new ArrayList<>();
        k.defines().forEach((key, v) -> d.add("-D" + key + "=" + v));
        out.putIfAbsent(k.name(), k.source() + (d.isEmpty() ? "" : " " + String.join(" ", d)));
    }
}
