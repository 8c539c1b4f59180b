// Scratch program behind split-layouts.txt: plans of relu layers with and without split weights on an assumed H100
// (DeviceLimits.h100Sxm). Run: javac -cp sprnn-core/target/classes -d /tmp SplitLayouts.java && java -cp sprnn-core/target/classes:/tmp SplitLayouts
import java.util.SplittableRandom;
import org.sprnn.model.*;
import org.sprnn.plan.*;
import org.sprnn.sparse.*;
public class SplitLayouts {
    public static void main(String[] a) {
        DeviceLimits d = DeviceLimits.h100Sxm();
        int[][] cfg = {{1152, 4, 10}, {300, 3, 10}, {300, 3, 1}, {64, 3, 10}};
        for (int[] c : cfg) {
            CsrMatrix r = CsrMatrix.of(SyntheticModels.sparse(c[0], c[0], c[2] / 100.0, new SplittableRandom(7)));
            for (boolean split : new boolean[]{false, true}) {
                Plan p = Plan.of(r, CellType.RNN_RELU, c[1], d, PlanOptions.defaults().withSplitWeights(split));
                System.out.printf("relu H=%d B=%d d=%d%% split=%s: %s, S=%d, %.2f us predicted%n  %s%n", c[0], c[1], c[2], split, p.spec().name(), p.spec().slotsPerLane(), p.predictedMicrosPerStep(), p.layout().summary());
            }
        }
    }
}
