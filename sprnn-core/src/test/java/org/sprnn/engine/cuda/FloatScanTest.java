package org.sprnn.engine.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.sprnn.JvmSupport;

/**
 * {@link FloatScan}'s vector loop against its scalar loop and the rule itself ({@code |v| <= bound}, NaN never), at every
 * length around the vector width, every offset and every position of a value out of range; on fresh random values.
 */
class FloatScanTest {
    private static final float[] OUTSIDE = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 65520f, -65505f,
        Math.nextUp(65504f), Float.intBitsToFloat(0x7fc00001), Float.intBitsToFloat(0xffc00000)};

    @Test
    void theVectorLoopIsLoadedWhereTheModuleIs() {
        assertThat(JvmSupport.vectorApi()).as("the test JVM runs with --add-modules jdk.incubator.vector").isTrue();
    }

    @Test
    void everyOutOfRangeValueIsFoundWhereverItIs() {
        SplittableRandom r = new SplittableRandom();
        for (int n = 0; n <= 70; n++) {
            for (int from = 0; from <= 3; from++) {
                float[] f = new float[from + n + 2];
                for (int i = 0; i < f.length; i++) {
                    f[i] = (float) ((r.nextDouble() * 2 - 1) * 65504);
                }
                f[0 + from + n] = Float.NaN; // just past the range: never read
                if (from > 0) {
                    f[from - 1] = Float.NaN; // just before it
                }
                assertThat(FloatScan.withinFp16(f, from, n)).isTrue();
                assertThat(FloatScan.Vectorised.within(f, from, n, 65504f)).isTrue();
                assertThat(FloatScan.scalarWithin(f, from, n, 65504f)).isTrue();
                assertThat(FloatScan.finite(f, from, n)).isTrue();
                for (int at = from; at < from + n; at++) {
                    float keep = f[at], bad = OUTSIDE[r.nextInt(OUTSIDE.length)];
                    f[at] = bad;
                    assertThat(FloatScan.withinFp16(f, from, n)).as("%s at %d of [%d, %d)", bad, at, from, from + n).isFalse();
                    assertThat(FloatScan.Vectorised.within(f, from, n, 65504f)).isFalse();
                    assertThat(FloatScan.scalarWithin(f, from, n, 65504f)).isFalse();
                    assertThat(FloatScan.finite(f, from, n)).isEqualTo(Math.abs(bad) <= Float.MAX_VALUE);
                    f[at] = keep;
                }
            }
        }
    }

    @Test
    void theBoundsThemselvesAreWithin() {
        float[] f = {65504f, -65504f, -0f, Float.MIN_VALUE, 0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 10f, 11f, 12f, 13f, 14f,
            15f, 16f, -Float.MAX_VALUE};
        assertThat(FloatScan.withinFp16(f, 0, f.length - 1)).isTrue();
        assertThat(FloatScan.withinFp16(f, 0, f.length)).isFalse();
        assertThat(FloatScan.finite(f, 0, f.length)).isTrue();
    }
}
