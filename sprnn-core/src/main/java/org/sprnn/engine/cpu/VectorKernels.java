package org.sprnn.engine.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The {@code cpu} engine's two inner loops written with the Vector API (jdk.incubator.vector), used only
 * when that module is in the boot layer ({@link CpuEngine#VECTOR_API_PRESENT}); {@link CpuEngine} has
 * scalar equivalents. Nothing may load this class unless the module is present: its verification
 * needs the module's classes.
 *
 * <p>Why the Vector API here: C2 does not vectorise either loop by itself, because the accumulators
 * live across a loop over nonzeros whose loads are indexed by data. On the development machine both the
 * input projection and the recurrent dot products measured several times faster than the scalar loops;
 * the figures behind this class's "measured" remarks: results/cpu/README.md, "Figures the source used to quote".
 * <ul>
 *   <li>{@link #projectBlock}: a W_ih row times a block of 64 consecutive (step, batch) columns of X,
 *       four vector accumulators held in registers, one broadcast value and four full-line loads per
 *       nonzero.
 *   <li>{@link #rowDot}: a W_hh row against the {@code [H][B]} state for B = 4, 8 or 16: one B-wide
 *       load of {@code h[c][0..B)} and one fused multiply-add per nonzero, four accumulators to hide
 *       the FMA latency.
 * </ul>
 */
final class VectorKernels {
    private VectorKernels() {
    }

    /** Byte order of the engine's off-heap buffers (the platform's, as {@code ValueLayout.JAVA_FLOAT}). */
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /** Holder so the species are initialised only when the module is present. */
    private static final class Species {
        static final VectorSpecies<Float> PREFERRED = FloatVector.SPECIES_PREFERRED;
        static final VectorSpecies<Float> S128 = FloatVector.SPECIES_128;
        static final VectorSpecies<Float> S256 = FloatVector.SPECIES_256;
        static final VectorSpecies<Float> S512 = FloatVector.SPECIES_512;
        static final VectorSpecies<Double> DOUBLES = DoubleVector.SPECIES_PREFERRED;
        /** Floats in half the bits of {@link #DOUBLES}: as many lanes, what a D2F conversion of it gives. */
        static final VectorSpecies<Float> FLOATS_OF_DOUBLES = VectorSpecies.of(float.class,
                VectorShape.forBitSize(DOUBLES.vectorBitSize() / 2));
    }

    /** Whether {@link #rowDot} handles this batch size. */
    static boolean rowDotSupports(int batch) {
        return batch == 4 || batch == 8 || (batch == 16 && Species.PREFERRED.length() >= 16);
    }

    /**
     * {@code out[m] = bias + Σ_k val[k] * x[xBase + col[k]*BLOCK + m]} for m in [0, BLOCK): one W_ih row
     * times one block of X, in passes of four preferred-length vector accumulators (one pass with
     * AVX-512, two with AVX2). X is a 64-byte-aligned float buffer and {@code xBase} a float index.
     */
    static void projectBlock(int k0, int k1, char[] col, float[] val, float bias, MemorySegment x, long xBase, float[] out) {
        VectorSpecies<Float> s = Species.PREFERRED;
        int l = s.length(), lb = 4 * l;
        for (int part = 0; part < CpuLayout.BLOCK; part += 4 * l) {
            FloatVector a0 = FloatVector.broadcast(s, bias), a1 = a0, a2 = a0, a3 = a0;
            long base = 4 * (xBase + part);
            for (int k = k0; k < k1; k++) {
                FloatVector v = FloatVector.broadcast(s, val[k]);
                long xo = base + col[k] * (4L * CpuLayout.BLOCK);
                a0 = FloatVector.fromMemorySegment(s, x, xo, NATIVE).fma(v, a0);
                a1 = FloatVector.fromMemorySegment(s, x, xo + lb, NATIVE).fma(v, a1);
                a2 = FloatVector.fromMemorySegment(s, x, xo + 2 * lb, NATIVE).fma(v, a2);
                a3 = FloatVector.fromMemorySegment(s, x, xo + 3 * lb, NATIVE).fma(v, a3);
            }
            a0.intoArray(out, part);
            a1.intoArray(out, part + l);
            a2.intoArray(out, part + 2 * l);
            a3.intoArray(out, part + 3 * l);
        }
    }

    /** Whether {@link #projectPair} may be used: it needs 16-float vectors (AVX-512) and their 32 registers. */
    static boolean projectPairSupported() {
        return Species.PREFERRED.length() == 16;
    }

    /**
     * {@link #projectBlock} for two rows at once (A: nonzeros [a0, a1), B: [b0, b1)), eight accumulators:
     * the two rows' loads and FMAs interleave, which measured faster than one row at a time.
     * Every load is one whole 64-byte line of X (X is 64-byte aligned): a 64-byte load that straddles two
     * lines made this loop markedly slower.
     */
    static void projectPair(int ka0, int ka1, float biasA, int kb0, int kb1, float biasB, char[] col, float[] val,
                            MemorySegment x, long xBase, float[] outA, float[] outB) {
        VectorSpecies<Float> s = Species.PREFERRED; // 16 floats: one pass covers BLOCK = 64
        FloatVector a0 = FloatVector.broadcast(s, biasA), a1 = a0, a2 = a0, a3 = a0;
        FloatVector b0 = FloatVector.broadcast(s, biasB), b1 = b0, b2 = b0, b3 = b0;
        long base = 4 * xBase, rowBytes = 4L * CpuLayout.BLOCK;
        int ka = ka0, kb = kb0;
        for (; ka < ka1 && kb < kb1; ka++, kb++) {
            FloatVector va = FloatVector.broadcast(s, val[ka]), vb = FloatVector.broadcast(s, val[kb]);
            long xa = base + col[ka] * rowBytes, xb = base + col[kb] * rowBytes;
            a0 = FloatVector.fromMemorySegment(s, x, xa, NATIVE).fma(va, a0);
            b0 = FloatVector.fromMemorySegment(s, x, xb, NATIVE).fma(vb, b0);
            a1 = FloatVector.fromMemorySegment(s, x, xa + 64, NATIVE).fma(va, a1);
            b1 = FloatVector.fromMemorySegment(s, x, xb + 64, NATIVE).fma(vb, b1);
            a2 = FloatVector.fromMemorySegment(s, x, xa + 128, NATIVE).fma(va, a2);
            b2 = FloatVector.fromMemorySegment(s, x, xb + 128, NATIVE).fma(vb, b2);
            a3 = FloatVector.fromMemorySegment(s, x, xa + 192, NATIVE).fma(va, a3);
            b3 = FloatVector.fromMemorySegment(s, x, xb + 192, NATIVE).fma(vb, b3);
        }
        for (; ka < ka1; ka++) {
            FloatVector va = FloatVector.broadcast(s, val[ka]);
            long xa = base + col[ka] * rowBytes;
            a0 = FloatVector.fromMemorySegment(s, x, xa, NATIVE).fma(va, a0);
            a1 = FloatVector.fromMemorySegment(s, x, xa + 64, NATIVE).fma(va, a1);
            a2 = FloatVector.fromMemorySegment(s, x, xa + 128, NATIVE).fma(va, a2);
            a3 = FloatVector.fromMemorySegment(s, x, xa + 192, NATIVE).fma(va, a3);
        }
        for (; kb < kb1; kb++) {
            FloatVector vb = FloatVector.broadcast(s, val[kb]);
            long xb = base + col[kb] * rowBytes;
            b0 = FloatVector.fromMemorySegment(s, x, xb, NATIVE).fma(vb, b0);
            b1 = FloatVector.fromMemorySegment(s, x, xb + 64, NATIVE).fma(vb, b1);
            b2 = FloatVector.fromMemorySegment(s, x, xb + 128, NATIVE).fma(vb, b2);
            b3 = FloatVector.fromMemorySegment(s, x, xb + 192, NATIVE).fma(vb, b3);
        }
        a0.intoArray(outA, 0);
        a1.intoArray(outA, 16);
        a2.intoArray(outA, 32);
        a3.intoArray(outA, 48);
        b0.intoArray(outB, 0);
        b1.intoArray(outB, 16);
        b2.intoArray(outB, 32);
        b3.intoArray(outB, 48);
    }

    /**
     * {@code dst[to + j] = (float) src[from + j]} for j in [0, n); returns whether every rounded value is
     * finite (the sum of {@code f - f} is 0 only where f is finite): a float64 beyond float32's range, such
     * as 1e300, rounds to infinity and is caught too.
     */
    static boolean toFloats(double[] src, int from, int n, float[] dst, int to) {
        VectorSpecies<Double> s = Species.DOUBLES;
        FloatVector z = FloatVector.zero(Species.FLOATS_OF_DOUBLES);
        int j = 0;
        for (; j + s.length() <= n; j += s.length()) {
            DoubleVector v = DoubleVector.fromArray(s, src, from + j);
            FloatVector f = (FloatVector) v.convertShape(VectorOperators.D2F, Species.FLOATS_OF_DOUBLES, 0);
            z = z.add(f.sub(f));
            f.intoArray(dst, to + j);
        }
        float zeros = z.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            float f = (float) src[from + j];
            zeros += f - f;
            dst[to + j] = f;
        }
        return zeros == 0f;
    }

    /** {@link #toFloats(double[], int, int, float[], int)} from float32 values: a copy and the finiteness test. */
    static boolean toFloats(float[] src, int from, int n, float[] dst, int to) {
        VectorSpecies<Float> s = Species.PREFERRED;
        FloatVector z = FloatVector.zero(s);
        int j = 0;
        for (; j + s.length() <= n; j += s.length()) {
            FloatVector v = FloatVector.fromArray(s, src, from + j);
            z = z.add(v.sub(v));
            v.intoArray(dst, to + j);
        }
        float zeros = z.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            float v = src[from + j];
            zeros += v - v;
            dst[to + j] = v;
        }
        return zeros == 0f;
    }

    /**
     * One row's 64 projection sums at batch 4 ({@code sums[j*4 + n]}: step j of the block, batch n) to
     * their places {@code pre[base + j*stepStride + n]}: sixteen 4-float copies instead of 64 scalar
     * ones with a per-element step/batch walk.
     */
    static void scatterSteps4(float[] sums, float[] pre, int base, int stepStride) {
        VectorSpecies<Float> s = Species.S128;
        for (int j = 0; j < CpuLayout.BLOCK / 4; j++) {
            FloatVector.fromArray(s, sums, j * 4).intoArray(pre, base + j * stepStride);
        }
    }

    /**
     * The ReLU cell update over elements [i0, i1) of the {@code [H][B]} state:
     * {@code h = max(0, (pre[preOff + i] + sums[i]) + bias[i])}, written to {@code hNext[i]} and
     * {@code hist[histOff + i]}. In float32 (two roundings of the sum instead of the scalar loop's one,
     * about 1e-7 relative): C2 compiles the scalar {@code Math.max(0.0, double)} loop to a few cycles
     * per element and does not vectorise it; this vector loop measured more than twice as fast.
     */
    static void reluUpdate(float[] pre, int preOff, float[] sums, float[] bias, int i0, int i1, float[] hNext,
                           float[] hist, int histOff) {
        VectorSpecies<Float> s = Species.PREFERRED;
        int i = i0;
        for (int e = i1 - s.length(); i <= e; i += s.length()) {
            FloatVector v = FloatVector.fromArray(s, pre, preOff + i).add(FloatVector.fromArray(s, sums, i))
                    .add(FloatVector.fromArray(s, bias, i)).max(0f);
            v.intoArray(hNext, i);
            v.intoArray(hist, histOff + i);
        }
        for (; i < i1; i++) {
            float v = Math.max(0f, (pre[preOff + i] + sums[i]) + bias[i]);
            hNext[i] = v;
            hist[histOff + i] = v;
        }
    }

    /** {@link #reluUpdate} without the history copy: the new state only. */
    static void reluUpdate(float[] pre, int preOff, float[] sums, float[] bias, int i0, int i1, float[] hNext) {
        VectorSpecies<Float> s = Species.PREFERRED;
        int i = i0;
        for (int e = i1 - s.length(); i <= e; i += s.length()) {
            FloatVector.fromArray(s, pre, preOff + i).add(FloatVector.fromArray(s, sums, i))
                    .add(FloatVector.fromArray(s, bias, i)).max(0f).intoArray(hNext, i);
        }
        for (; i < i1; i++) {
            hNext[i] = Math.max(0f, (pre[preOff + i] + sums[i]) + bias[i]);
        }
    }

    /** Whether {@link #copyBatch4} may be used: it needs 16-float vectors (AVX-512). */
    static boolean copyBatch4Supported() {
        return Species.PREFERRED.length() == 16;
    }

    /**
     * Lanes n, n+4, ..., n+28 of a pair of 16-float vectors (batch element n of 8 units of a batch-4
     * state) into lanes 0..7: indices 16..31 select from the second vector.
     */
    private static final class BatchLanes {
        static final VectorShuffle<Float> N0 = pick(0);
        static final VectorShuffle<Float> N1 = pick(1);
        static final VectorShuffle<Float> N2 = pick(2);
        static final VectorShuffle<Float> N3 = pick(3);

        private static VectorShuffle<Float> pick(int n) {
            int[] lanes = new int[16];
            for (int j = 0; j < 16; j++) {
                lanes[j] = n + 4 * (j % 8);
            }
            return VectorShuffle.fromValues(Species.S512, lanes);
        }
    }

    /**
     * {@code out[base + n*hidden + u] = h[u*4 + n]} for units [u0, u1) and n in [0, 4): one step's new
     * state {@code [H][4]} into the run's output rows {@code [4][H]}. Eight units at a time: two 16-float
     * loads, and per batch element one two-vector shuffle and one 8-float store; measured faster than the
     * scalar loop, which did one strided load per value.
     */
    static void copyBatch4(float[] h, int u0, int u1, float[] out, int base, int hidden) {
        VectorSpecies<Float> s = Species.S512;
        int u = u0;
        for (; u + 8 <= u1; u += 8) {
            FloatVector x = FloatVector.fromArray(s, h, 4 * u), y = FloatVector.fromArray(s, h, 4 * u + 16);
            int o = base + u;
            ((FloatVector) x.rearrange(BatchLanes.N0, y).reinterpretShape(Species.S256, 0)).intoArray(out, o);
            ((FloatVector) x.rearrange(BatchLanes.N1, y).reinterpretShape(Species.S256, 0)).intoArray(out, o + hidden);
            ((FloatVector) x.rearrange(BatchLanes.N2, y).reinterpretShape(Species.S256, 0)).intoArray(out, o + 2 * hidden);
            ((FloatVector) x.rearrange(BatchLanes.N3, y).reinterpretShape(Species.S256, 0)).intoArray(out, o + 3 * hidden);
        }
        for (; u < u1; u++) {
            for (int n = 0; n < 4; n++) {
                out[base + n * hidden + u] = h[4 * u + n];
            }
        }
    }

    /** {@link #copyBatch4} into float64 outputs (widened in the vector); likewise faster than the scalar loop. */
    static void copyBatch4(float[] h, int u0, int u1, double[] out, int base, int hidden) {
        VectorSpecies<Float> s = Species.S512;
        VectorSpecies<Double> d = DoubleVector.SPECIES_512;
        int u = u0;
        for (; u + 8 <= u1; u += 8) {
            FloatVector x = FloatVector.fromArray(s, h, 4 * u), y = FloatVector.fromArray(s, h, 4 * u + 16);
            int o = base + u;
            ((DoubleVector) x.rearrange(BatchLanes.N0, y).convertShape(VectorOperators.F2D, d, 0)).intoArray(out, o);
            ((DoubleVector) x.rearrange(BatchLanes.N1, y).convertShape(VectorOperators.F2D, d, 0)).intoArray(out, o + hidden);
            ((DoubleVector) x.rearrange(BatchLanes.N2, y).convertShape(VectorOperators.F2D, d, 0)).intoArray(out, o + 2 * hidden);
            ((DoubleVector) x.rearrange(BatchLanes.N3, y).convertShape(VectorOperators.F2D, d, 0)).intoArray(out, o + 3 * hidden);
        }
        for (; u < u1; u++) {
            for (int n = 0; n < 4; n++) {
                out[base + n * hidden + u] = h[4 * u + n];
            }
        }
    }

    /**
     * {@code a[o + n] = Σ_k val[k] * h[col[k]*B + n]}, n in [0, B), for B = 4, 8 or 16. One method per
     * species: C2 compiles Vector API calls to vector instructions only when the species is a constant.
     */
    static void rowDot(int k0, int k1, char[] col, float[] val, float[] h, int b, float[] a, int o) {
        switch (b) {
            case 4 -> rowDot4(k0, k1, col, val, h, a, o);
            case 8 -> rowDot8(k0, k1, col, val, h, a, o);
            default -> rowDot16(k0, k1, col, val, h, a, o);
        }
    }

    private static void rowDot4(int k0, int k1, char[] col, float[] val, float[] h, float[] a, int o) {
        // eight accumulators: with one 4-wide FMA per nonzero, four left the loop bound by FMA latency
        VectorSpecies<Float> s = Species.S128;
        FloatVector s0 = FloatVector.zero(s), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        int k = k0;
        for (; k + 7 < k1; k += 8) {
            s0 = FloatVector.fromArray(s, h, col[k] << 2).fma(FloatVector.broadcast(s, val[k]), s0);
            s1 = FloatVector.fromArray(s, h, col[k + 1] << 2).fma(FloatVector.broadcast(s, val[k + 1]), s1);
            s2 = FloatVector.fromArray(s, h, col[k + 2] << 2).fma(FloatVector.broadcast(s, val[k + 2]), s2);
            s3 = FloatVector.fromArray(s, h, col[k + 3] << 2).fma(FloatVector.broadcast(s, val[k + 3]), s3);
            s4 = FloatVector.fromArray(s, h, col[k + 4] << 2).fma(FloatVector.broadcast(s, val[k + 4]), s4);
            s5 = FloatVector.fromArray(s, h, col[k + 5] << 2).fma(FloatVector.broadcast(s, val[k + 5]), s5);
            s6 = FloatVector.fromArray(s, h, col[k + 6] << 2).fma(FloatVector.broadcast(s, val[k + 6]), s6);
            s7 = FloatVector.fromArray(s, h, col[k + 7] << 2).fma(FloatVector.broadcast(s, val[k + 7]), s7);
        }
        for (; k < k1; k++) {
            s0 = FloatVector.fromArray(s, h, col[k] << 2).fma(FloatVector.broadcast(s, val[k]), s0);
        }
        s0.add(s1).add(s2.add(s3)).add(s4.add(s5).add(s6.add(s7))).intoArray(a, o);
    }

    /** Lane j of a 4-float vector broadcast to all four lanes, j = 0..3. */
    private static final class LaneBroadcast {
        static final VectorShuffle<Float> L0 = VectorShuffle.fromValues(Species.S128, 0, 0, 0, 0);
        static final VectorShuffle<Float> L1 = VectorShuffle.fromValues(Species.S128, 1, 1, 1, 1);
        static final VectorShuffle<Float> L2 = VectorShuffle.fromValues(Species.S128, 2, 2, 2, 2);
        static final VectorShuffle<Float> L3 = VectorShuffle.fromValues(Species.S128, 3, 3, 3, 3);
    }

    /**
     * {@link #rowDot} for B = 4 with the column indices already multiplied by 4 ({@code offset[k] =
     * col[k] * 4}, still 16-bit): one shift fewer per nonzero, measured a little faster. The values are
     * loaded four at a time and each is broadcast with a register shuffle, instead of one broadcast load
     * per nonzero: the loop is bound by its loads, and this measured faster again; 16 nonzeros per
     * iteration instead of 8 a little more.
     */
    static void rowDot4Offsets(int k0, int k1, char[] offset, float[] val, float[] h, float[] a, int o) {
        VectorSpecies<Float> s = Species.S128;
        VectorShuffle<Float> l0 = LaneBroadcast.L0, l1 = LaneBroadcast.L1, l2 = LaneBroadcast.L2, l3 = LaneBroadcast.L3;
        FloatVector s0 = FloatVector.zero(s), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        int k = k0;
        for (; k + 15 < k1; k += 16) {
            FloatVector v = FloatVector.fromArray(s, val, k), w = FloatVector.fromArray(s, val, k + 4);
            FloatVector x = FloatVector.fromArray(s, val, k + 8), y = FloatVector.fromArray(s, val, k + 12);
            s0 = FloatVector.fromArray(s, h, offset[k]).fma(v.rearrange(l0), s0);
            s1 = FloatVector.fromArray(s, h, offset[k + 1]).fma(v.rearrange(l1), s1);
            s2 = FloatVector.fromArray(s, h, offset[k + 2]).fma(v.rearrange(l2), s2);
            s3 = FloatVector.fromArray(s, h, offset[k + 3]).fma(v.rearrange(l3), s3);
            s4 = FloatVector.fromArray(s, h, offset[k + 4]).fma(w.rearrange(l0), s4);
            s5 = FloatVector.fromArray(s, h, offset[k + 5]).fma(w.rearrange(l1), s5);
            s6 = FloatVector.fromArray(s, h, offset[k + 6]).fma(w.rearrange(l2), s6);
            s7 = FloatVector.fromArray(s, h, offset[k + 7]).fma(w.rearrange(l3), s7);
            s0 = FloatVector.fromArray(s, h, offset[k + 8]).fma(x.rearrange(l0), s0);
            s1 = FloatVector.fromArray(s, h, offset[k + 9]).fma(x.rearrange(l1), s1);
            s2 = FloatVector.fromArray(s, h, offset[k + 10]).fma(x.rearrange(l2), s2);
            s3 = FloatVector.fromArray(s, h, offset[k + 11]).fma(x.rearrange(l3), s3);
            s4 = FloatVector.fromArray(s, h, offset[k + 12]).fma(y.rearrange(l0), s4);
            s5 = FloatVector.fromArray(s, h, offset[k + 13]).fma(y.rearrange(l1), s5);
            s6 = FloatVector.fromArray(s, h, offset[k + 14]).fma(y.rearrange(l2), s6);
            s7 = FloatVector.fromArray(s, h, offset[k + 15]).fma(y.rearrange(l3), s7);
        }
        if (k + 7 < k1) {
            FloatVector v = FloatVector.fromArray(s, val, k), w = FloatVector.fromArray(s, val, k + 4);
            s0 = FloatVector.fromArray(s, h, offset[k]).fma(v.rearrange(l0), s0);
            s1 = FloatVector.fromArray(s, h, offset[k + 1]).fma(v.rearrange(l1), s1);
            s2 = FloatVector.fromArray(s, h, offset[k + 2]).fma(v.rearrange(l2), s2);
            s3 = FloatVector.fromArray(s, h, offset[k + 3]).fma(v.rearrange(l3), s3);
            s4 = FloatVector.fromArray(s, h, offset[k + 4]).fma(w.rearrange(l0), s4);
            s5 = FloatVector.fromArray(s, h, offset[k + 5]).fma(w.rearrange(l1), s5);
            s6 = FloatVector.fromArray(s, h, offset[k + 6]).fma(w.rearrange(l2), s6);
            s7 = FloatVector.fromArray(s, h, offset[k + 7]).fma(w.rearrange(l3), s7);
            k += 8;
        }
        for (; k < k1; k++) {
            s0 = FloatVector.fromArray(s, h, offset[k]).fma(FloatVector.broadcast(s, val[k]), s0);
        }
        s0.add(s1).add(s2.add(s3)).add(s4.add(s5).add(s6.add(s7))).intoArray(a, o);
    }

    private static void rowDot8(int k0, int k1, char[] col, float[] val, float[] h, float[] a, int o) {
        VectorSpecies<Float> s = Species.S256;
        FloatVector s0 = FloatVector.zero(s), s1 = s0, s2 = s0, s3 = s0;
        int k = k0;
        for (; k + 3 < k1; k += 4) {
            s0 = FloatVector.fromArray(s, h, col[k] << 3).fma(FloatVector.broadcast(s, val[k]), s0);
            s1 = FloatVector.fromArray(s, h, col[k + 1] << 3).fma(FloatVector.broadcast(s, val[k + 1]), s1);
            s2 = FloatVector.fromArray(s, h, col[k + 2] << 3).fma(FloatVector.broadcast(s, val[k + 2]), s2);
            s3 = FloatVector.fromArray(s, h, col[k + 3] << 3).fma(FloatVector.broadcast(s, val[k + 3]), s3);
        }
        for (; k < k1; k++) {
            s0 = FloatVector.fromArray(s, h, col[k] << 3).fma(FloatVector.broadcast(s, val[k]), s0);
        }
        s0.add(s1).add(s2.add(s3)).intoArray(a, o);
    }

    private static void rowDot16(int k0, int k1, char[] col, float[] val, float[] h, float[] a, int o) {
        VectorSpecies<Float> s = Species.S512;
        FloatVector s0 = FloatVector.zero(s), s1 = s0, s2 = s0, s3 = s0;
        int k = k0;
        for (; k + 3 < k1; k += 4) {
            s0 = FloatVector.fromArray(s, h, col[k] << 4).fma(FloatVector.broadcast(s, val[k]), s0);
            s1 = FloatVector.fromArray(s, h, col[k + 1] << 4).fma(FloatVector.broadcast(s, val[k + 1]), s1);
            s2 = FloatVector.fromArray(s, h, col[k + 2] << 4).fma(FloatVector.broadcast(s, val[k + 2]), s2);
            s3 = FloatVector.fromArray(s, h, col[k + 3] << 4).fma(FloatVector.broadcast(s, val[k + 3]), s3);
        }
        for (; k < k1; k++) {
            s0 = FloatVector.fromArray(s, h, col[k] << 4).fma(FloatVector.broadcast(s, val[k]), s0);
        }
        s0.add(s1).add(s2.add(s3)).intoArray(a, o);
    }

}
