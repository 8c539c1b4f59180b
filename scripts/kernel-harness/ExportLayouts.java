// ExportLayouts — writes packed layers for the standalone kernel harness (harness.cu) with the library's
// own packer and planner, so the harness tests exactly the layout the engine uploads.
//
// Run (from the repository root, after `mvn -pl sprnn-core compile`):
//   java -cp sprnn-core/target/classes scripts/kernel-harness/ExportLayouts.java OUTDIR \
//        NAME:CELL:H:B:DENSITY:EXCHANGE:WIDE:BANK:BAL[:CTAS:WARPS[:MODS]] ...  (MODS: vary, cta, general, tail, place-cta, place-spread, joined by +)
// e.g. paper:rnn_relu:1152:4:0.1:cluster:1:1:1
// Writes OUTDIR/NAME.bin.gz (layout + W_hh CSR, little-endian, gzip), OUTDIR/NAME.defines (nvcc -D flags) and
// OUTDIR/NAME.plan.txt (Plan.describe()).
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.sprnn.Precision;
import org.sprnn.model.CellType;
import org.sprnn.model.SyntheticModels;
import org.sprnn.model.Tensor;
import org.sprnn.plan.DeviceLimits;
import org.sprnn.plan.ExchangeMode;
import org.sprnn.plan.KernelSpec;
import org.sprnn.plan.Plan;
import org.sprnn.plan.PlanOptions;
import org.sprnn.sparse.CsrMatrix;
import org.sprnn.sparse.PackedLayer;

public class ExportLayouts {
    /** Rows of different lengths, as magnitude pruning leaves them: each row's count drawn from [0.8, 1.2] x d x cols. */
    static Tensor varied(int rows, int cols, double d, SplittableRandom rnd) {
        double[] data = new double[rows * cols];
        double scale = 1.0 / Math.sqrt(cols * d);
        for (int r = 0; r < rows; r++) {
            int k = Math.max(1, Math.min(cols, (int) Math.round(d * cols * (0.8 + 0.4 * rnd.nextDouble()))));
            int placed = 0;
            while (placed < k) {
                int c = rnd.nextInt(cols);
                if (data[r * cols + c] == 0) {
                    data[r * cols + c] = rnd.nextGaussian() * scale;
                    placed += data[r * cols + c] != 0 ? 1 : 0;
                }
            }
        }
        return new Tensor(new int[] {rows, cols}, data);
    }

    /** Appends every int of each array, the arrays in order. */
    static void putInts(ByteBuffer bb, int[]... arrays) {
        for (int[] a : arrays) {
            for (int x : a) {
                bb.putInt(x);
            }
        }
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        for (int a = 1; a < args.length; a++) {
            String[] f = args[a].split(":");
            String name = f[0];
            CellType cell = CellType.parse(f[1]);
            int h = Integer.parseInt(f[2]);
            int batch = Integer.parseInt(f[3]);
            double d = Double.parseDouble(f[4]);
            ExchangeMode ex = switch (f[5]) {
                case "barrier" -> ExchangeMode.GRID_BARRIER;
                case "timestamps" -> ExchangeMode.TIMESTAMPS;
                case "cluster" -> ExchangeMode.CLUSTER;
                default -> throw new IllegalArgumentException(f[5]);
            };
            // optional 12th field, '+'-separated: vary (row lengths drawn from [0.8, 1.2] x d x H instead of all equal),
            // cta (with vary: warps of one row share a tail across their CTA),
            // general (row ends tested at run time even where every row takes the same slots), tail (rows of unequal
            // length laid out with a shared tail, PackedLayer#packTail: the row ends written are then kernelRowEnds)
            // place-dealt / place-cta / place-spread: the warp placement (WarpPlacement; default the engine's)
            java.util.Set<String> mods = java.util.Set.of((f.length > 11 ? f[11] : "").split("\\+"));
            PlanOptions o = new PlanOptions(ex, f[6].equals("1"), f[7].equals("1"), f[8].equals("1"),
                    f.length > 9 ? Integer.parseInt(f[9]) : 0, f.length > 10 ? Integer.parseInt(f[10]) : 0, Precision.FP16)
                    .withCompiledRowEnds(!mods.contains("general"))
                    .withPlacement(mods.contains("place-spread") ? org.sprnn.sparse.WarpPlacement.SPREAD
                            : mods.contains("place-cta") ? org.sprnn.sparse.WarpPlacement.CTA
                            : mods.contains("place-dealt") ? org.sprnn.sparse.WarpPlacement.DEALT : PlanOptions.defaults().placement())
                    // rows of unequal length with a shared tail only where asked (modifier tail): vary alone keeps the
                    // general loop the earlier sessions' variants measured
                    .withTails(mods.contains("tail") || mods.contains("cta"))
                    // warps of one row sharing a tail across their CTA (modifier cta, PackedLayer#packCtaTail)
                    .withCtaTails(mods.contains("cta"));
            CsrMatrix w = CsrMatrix.of(mods.contains("vary") ? varied(cell.gates() * h, h, d, new SplittableRandom(1234 + h))
                    : SyntheticModels.sparse(cell.gates() * h, h, d, new SplittableRandom(1234 + h)));
            Plan p = Plan.of(w, cell, batch, DeviceLimits.h100Sxm(), o);
            Files.writeString(dir.resolve(name + ".plan.txt"), p.describe());
            if (!p.fits()) {
                System.out.println(name + ": does not fit: " + p.why());
                continue;
            }
            KernelSpec s = p.spec();
            PackedLayer l = p.layout();
            Files.writeString(dir.resolve(name + ".defines"), String.join(" ", s.defineOptions()) + "\n");
            int g = cell.gates();
            int warps = s.warps();
            int[] needed = l.neededColumns(s.ctas(), s.warpsPerCta()); // columns each CTA polls (timestamps)
            long nnz = w.nnz();
            // large layers leave out the CSR (the carried files are limited): the harness then checks against
            // the packed words' own (rounded) values instead of the original float32 ones
            boolean withCsr = nnz <= 600_000;
            ByteBuffer bb = ByteBuffer.allocate((int) (64 + 4L * (l.words().length + l.kernelRowEnds().length + l.warpUnits().length
                    + needed.length + (g * h + 1) + 2 * nnz))).order(ByteOrder.LITTLE_ENDIAN);
            int[] header = {0x53505252, 1, cell.ordinal(), h, batch, s.paddedBatch(), s.ctas(), s.warpsPerCta(), s.slotsPerLane(),
                    s.registerSlots(), s.unitsPerWarp(), s.wideLoads() ? 1 : 0, s.exchange().define(), g, withCsr ? (int) nnz : -1, (int) s.sharedMemoryBytes()};
            putInts(bb, header, l.words(), l.kernelRowEnds(), l.warpUnits(), needed);
            if (withCsr) { // W_hh's CSR as it is: row offsets [G*H + 1], columns [nnz], float32 values [nnz]
                putInts(bb, w.rowPtrView(), w.colIdxView());
                for (float v : w.valuesView()) {
                    bb.putFloat(v);
                }
            }
            try (var gz = new java.util.zip.GZIPOutputStream(Files.newOutputStream(dir.resolve(name + ".bin.gz")))) {
                gz.write(bb.array(), 0, bb.position());
            }
            System.out.println(name + ": " + s.name() + " | " + l.summary());
        }
    }
}
