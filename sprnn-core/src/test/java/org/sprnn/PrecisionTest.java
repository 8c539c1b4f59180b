package org.sprnn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The one precision enum: names, sizes, tolerances, parsing and the 16-bit conversions (no GPU needed). */
class PrecisionTest {
    private static final List<Precision> GPU = List.of(Precision.FP16, Precision.BF16, Precision.FP32);

    @Test
    void idsSizesAndTolerances() {
        assertThat(Precision.values()).extracting(Precision::id).containsExactly("fp16", "bf16", "fp32", "fp64");
        assertThat(Precision.values()).extracting(Precision::bytes).containsExactly(2, 2, 4, 8);
        assertThat(Precision.values()).extracting(Precision::isSixteenBit).containsExactly(true, true, false, false);
        assertThat(Precision.FP32.tolerance()).isEqualTo(1e-5);
        assertThat(Precision.FP16.tolerance()).isEqualTo(3e-3);
        assertThat(Precision.BF16.tolerance()).isEqualTo(2e-2);
        assertThat(Precision.FP64.tolerance()).isZero();
    }

    @Test
    void parseAcceptsEveryFileSpellingCaseInsensitively() {
        for (String s : List.of("f16", "fp16", "float16", "half", "FP16", " Half ")) {
            assertThat(Precision.parse(s)).as(s).isEqualTo(Precision.FP16);
        }
        for (String s : List.of("bf16", "bfloat16", "BF16")) {
            assertThat(Precision.parse(s)).as(s).isEqualTo(Precision.BF16);
        }
        for (String s : List.of("f32", "fp32", "float32", "float", "F32")) {
            assertThat(Precision.parse(s)).as(s).isEqualTo(Precision.FP32);
        }
        for (String s : List.of("f64", "fp64", "float64", "double", "Float64")) {
            assertThat(Precision.parse(s)).as(s).isEqualTo(Precision.FP64);
        }
        assertThatThrownBy(() -> Precision.parse("int8")).isInstanceOf(SprnnException.class)
                .hasMessage("unknown dtype 'int8': expected f32, f16, bf16 or f64");
        assertThatThrownBy(() -> Precision.parse(null)).isInstanceOf(SprnnException.class)
                .hasMessage("unknown dtype 'null': expected f32, f16, bf16 or f64");
    }

    @Test
    void anOptionTakesOnlyTheAcceptedIds() {
        assertThat(Precision.parse("--precision", "bf16", GPU)).isEqualTo(Precision.BF16);
        assertThat(Precision.parse("--precision", "FP32", GPU)).isEqualTo(Precision.FP32);
        assertThatThrownBy(() -> Precision.parse("--precision", "half", GPU)).isInstanceOf(SprnnException.class)
                .hasMessage("--precision: expected fp16, bf16 or fp32, got 'half'");
        assertThatThrownBy(() -> Precision.parse("--precision", "fp64", GPU)).isInstanceOf(SprnnException.class)
                .hasMessage("--precision: expected fp16, bf16 or fp32, got 'fp64'");
        assertThatThrownBy(() -> Precision.parse("--precision", "fp32", List.of(Precision.FP16, Precision.BF16)))
                .isInstanceOf(SprnnException.class).hasMessage("--precision: expected fp16 or bf16, got 'fp32'");
        assertThatThrownBy(() -> Precision.parse("--precision", null, GPU)).isInstanceOf(SprnnException.class)
                .hasMessage("--precision: expected fp16, bf16 or fp32, got 'null'");
        assertThat(Precision.idsText(List.of(Precision.FP16))).isEqualTo("fp16");
    }

    @Test
    void sixteenBitEncodingsRoundToNearestEven() {
        assertThat(Precision.BF16.encode(1.0f)).isEqualTo((short) 0x3F80);
        // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even (1.0)
        assertThat(Precision.BF16.encode(1.0f + 0x1p-8f)).isEqualTo((short) 0x3F80);
        // 1 + 3·2^-8 is halfway between 1.0078125 (odd) and 1.015625 (even): rounds up
        assertThat(Precision.BF16.encode(1.0f + 3 * 0x1p-8f)).isEqualTo((short) 0x3F82);
        assertThat(Precision.BF16.encode(-2.0f)).isEqualTo((short) 0xC000);
        assertThat(Precision.BF16.encode(Float.MAX_VALUE)).as("overflows to infinity").isEqualTo((short) 0x7F80);
        assertThat(Precision.BF16.decode(Precision.BF16.encode(Float.NaN))).isNaN();
        assertThat(Precision.FP16.decode(Precision.FP16.encode(Float.NaN))).isNaN();
        assertThat(Precision.FP16.encode(1.0f + 0x1p-11f)).as("fp16 tie to even").isEqualTo(Float.floatToFloat16(1.0f));
        assertThat(Precision.FP16.decode(Precision.FP16.encode(1e6f))).isEqualTo(Float.POSITIVE_INFINITY);
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 10_000; i++) {
            float v = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(-20, 20)));
            assertThat(Precision.FP16.encode(v)).isEqualTo(Float.floatToFloat16(v));
            short b = Precision.BF16.encode(v);
            float back = Precision.BF16.decode(b);
            assertThat(Math.abs(back - v)).as("bf16 of %s within half an ulp", v).isLessThanOrEqualTo(Math.abs(v) * 0x1p-8f);
            assertThat(Precision.BF16.encode(back)).as("a bf16 value encodes to itself").isEqualTo(b);
        }
    }

    @Test
    void aDoubleIsRoundedOnceNotThroughFloat() {
        // just above the fp16 midpoint between 1 and 1 + 2^-10: float rounds it onto the midpoint, whose tie goes to
        // even (1.0); rounded once it goes up
        double justAbove = 1 + 0x1p-11 + 0x1p-40;
        assertThat(Precision.FP16.decode(Precision.FP16.encode((float) justAbove))).isEqualTo(1.0f);
        assertThat(Precision.FP16.decode(Precision.FP16.encode(justAbove))).isEqualTo(1 + 0x1p-10f);
        assertThat(Precision.FP16.round(justAbove)).isEqualTo(1 + 0x1p-10);
        double bfAbove = 1 + 0x1p-8 + 0x1p-40;
        assertThat(Precision.BF16.round(bfAbove)).isEqualTo(1 + 0x1p-7);
        assertThat(Precision.FP32.round(0.1)).isEqualTo((double) 0.1f);
        assertThat(Precision.FP64.round(0.1)).isEqualTo(0.1);
    }

    @Test
    void theResidualWordHoldsWhatTheFirstLoses() {
        assertThat(Precision.FP16.encodeResidual(0.5f)).as("an fp16 value has no residual").isEqualTo((short) 0);
        assertThat(Precision.FP16.decode(Precision.FP16.encodeResidual(1f + 0x1p-12f))).isEqualTo(0x1p-12f);
        assertThat(Precision.BF16.decode(Precision.BF16.encodeResidual(1f + 0x1p-12f))).isEqualTo(0x1p-12f);
    }

    @Test
    void onlySixteenBitPrecisionsHaveSixteenBitWords() {
        for (Precision p : List.of(Precision.FP32, Precision.FP64)) {
            assertThatThrownBy(() -> p.encode(1f)).isInstanceOf(IllegalStateException.class).hasMessageContaining(p.id());
            assertThatThrownBy(() -> p.encode(1.0)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> p.decode((short) 0)).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> p.encodeResidual(1f)).isInstanceOf(IllegalStateException.class);
        }
    }
}
