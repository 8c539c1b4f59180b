package org.sprnn.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The {@code cpu} engine's two inner loops written with the Vector API (jdk.incubator.vector), used only
 * when that module is in the boot layer ({@link CpuEngine#VECTOR_API_PRESENT}); {@link CpuEngine} has
 * scalar equivalents. Nothing may load this class unless the module is present: its verification
 * needs the module's classes.
 *
 * <p>Why the Vector API here: C2 does not vectorise either loop by itself, because the accumulators
 * live across a loop over nonzeros whose loads are indexed by data. Measured on the 2-core AMD EPYC
 * (Zen 4, AVX-512) development machine at hidden 2304, batch 4, density 10% (results/cpu/README.md):
 * the input projection runs about 5x and the recurrent dot products about 2x faster than the scalar
 * loops.
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

    /** Holder so the species are initialised only when the module is present. */
    private static final class Species {
        static final VectorSpecies<Float> PREFERRED = FloatVector.SPECIES_PREFERRED;
        static final VectorSpecies<Float> S128 = FloatVector.SPECIES_128;
        static final VectorSpecies<Float> S256 = FloatVector.SPECIES_256;
        static final VectorSpecies<Float> S512 = FloatVector.SPECIES_512;
    }

    /** Whether {@link #rowDot} handles this batch size. */
    static boolean rowDotSupports(int batch) {
        return batch == 4 || batch == 8 || (batch == 16 && Species.PREFERRED.length() >= 16);
    }

    /**
     * {@code out[m] = bias + Σ_k val[k] * x[xBase + col[k]*BLOCK + m]} for m in [0, BLOCK): one W_ih row
     * times one block of X, in passes of four preferred-length vector accumulators (one pass with
     * AVX-512, two with AVX2).
     */
    static void projectBlock(int k0, int k1, char[] col, float[] val, float bias, float[] x, int xBase, float[] out) {
        VectorSpecies<Float> s = Species.PREFERRED;
        int l = s.length();
        for (int part = 0; part < CpuEngine.BLOCK; part += 4 * l) {
            FloatVector a0 = FloatVector.broadcast(s, bias), a1 = a0, a2 = a0, a3 = a0;
            int base = xBase + part;
            for (int k = k0; k < k1; k++) {
                FloatVector v = FloatVector.broadcast(s, val[k]);
                int xo = base + col[k] * CpuEngine.BLOCK;
                a0 = FloatVector.fromArray(s, x, xo).fma(v, a0);
                a1 = FloatVector.fromArray(s, x, xo + l).fma(v, a1);
                a2 = FloatVector.fromArray(s, x, xo + 2 * l).fma(v, a2);
                a3 = FloatVector.fromArray(s, x, xo + 3 * l).fma(v, a3);
            }
            a0.intoArray(out, part);
            a1.intoArray(out, part + l);
            a2.intoArray(out, part + 2 * l);
            a3.intoArray(out, part + 3 * l);
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
        VectorSpecies<Float> s = Species.S128;
        FloatVector s0 = FloatVector.zero(s), s1 = s0, s2 = s0, s3 = s0;
        int k = k0;
        for (; k + 3 < k1; k += 4) {
            s0 = FloatVector.fromArray(s, h, col[k] << 2).fma(FloatVector.broadcast(s, val[k]), s0);
            s1 = FloatVector.fromArray(s, h, col[k + 1] << 2).fma(FloatVector.broadcast(s, val[k + 1]), s1);
            s2 = FloatVector.fromArray(s, h, col[k + 2] << 2).fma(FloatVector.broadcast(s, val[k + 2]), s2);
            s3 = FloatVector.fromArray(s, h, col[k + 3] << 2).fma(FloatVector.broadcast(s, val[k + 3]), s3);
        }
        for (; k < k1; k++) {
            s0 = FloatVector.fromArray(s, h, col[k] << 2).fma(FloatVector.broadcast(s, val[k]), s0);
        }
        s0.add(s1).add(s2.add(s3)).intoArray(a, o);
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
