package org.sprnn.model;

import java.util.Arrays;
import org.sprnn.SprnnException;

/**
 * A dense, row-major (C order) array of doubles with a shape.
 *
 * <p>sprnn keeps weights, inputs and outputs in float64 on the host so that the reference engine sees
 * exactly the values of the file (float16, bfloat16 and float32 all convert to double exactly); the
 * float32 and GPU engines convert once, when they are built or before a run.
 *
 * @param shape the extent of each dimension, outermost first; every extent ≥ 0
 * @param data  {@code product(shape)} values, last dimension innermost
 */
public record Tensor(int[] shape, double[] data) {

    /** Checks that the shape's product equals the data length; copies the shape. */
    public Tensor {
        shape = checkedShape(shape, data.length);
    }

    /** A copy of {@code shape} after checking its extents and that they hold {@code length} values (also FloatTensor's). */
    static int[] checkedShape(int[] shape, int length) {
        int[] s = shape.clone();
        long n = count(s);
        if (n > Integer.MAX_VALUE) {
            throw new SprnnException("shape " + Arrays.toString(s) + " holds more values than any array (" + Integer.MAX_VALUE
                    + "), data has " + length);
        }
        if (n != length) {
            throw new SprnnException("shape " + Arrays.toString(s) + " holds " + n + " values, data has " + length);
        }
        return s;
    }

    /** The element count of {@code shape}, refused when no Java array can hold it (also FloatTensor's). */
    static int allocatableSize(int[] shape) {
        long limit = Integer.MAX_VALUE - 16, n = count(shape);
        if (n > limit) {
            throw new SprnnException("shape " + Arrays.toString(shape) + " is too large: more than " + limit
                    + " elements, the most one array holds");
        }
        return (int) n;
    }

    /**
     * The product of the extents, 0 where one is 0, capped at 2^32 (past any array's length, so that a product beyond
     * long's range cannot wrap around to one); a negative extent refused.
     */
    private static long count(int[] shape) {
        long n = 1;
        boolean zero = false;
        for (int extent : shape) {
            if (extent < 0) {
                throw new SprnnException("negative extent " + extent + " in shape " + Arrays.toString(shape));
            }
            zero |= extent == 0;
            n = extent == 0 ? n : Math.min(n * extent, 1L << 32); // n <= 2^32, extent < 2^31: no overflow
        }
        return zero ? 0 : n;
    }

    /**
     * A copy: the same shape, its own values.
     *
     * @return a new tensor equal to this one
     */
    public Tensor copy() {
        return new Tensor(shape, data.clone());
    }

    /**
     * A copy of {@code t}, or null where it is null (a state not given).
     *
     * @param t the tensor, or null
     * @return a new tensor equal to {@code t}, or null
     */
    public static Tensor copyOf(Tensor t) {
        return t == null ? null : t.copy();
    }

    /**
     * A tensor of zeros.
     *
     * @param shape the extent of each dimension
     * @return a new tensor of that shape, all zeros
     */
    public static Tensor zeros(int... shape) {
        int n = allocatableSize(shape);
        try {
            return new Tensor(shape, new double[n]);
        } catch (OutOfMemoryError e) {
            throw org.sprnn.JvmSupport.heapTooSmall("a tensor of shape " + Arrays.toString(shape), 8L * n, null);
        }
    }

    /**
     * Wraps float32 values (copied to double, exactly).
     *
     * @param values the values, row-major
     * @param shape the extent of each dimension
     * @return a new tensor
     */
    public static Tensor ofFloats(float[] values, int... shape) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        return new Tensor(shape, d);
    }

    /**
     * Number of dimensions.
     *
     * @return the rank
     */
    public int rank() {
        return shape.length;
    }

    /**
     * Extent of dimension {@code i}.
     *
     * @param i the dimension, from 0
     * @return its extent
     */
    public int dim(int i) {
        return shape[i];
    }

    /**
     * The shape (a copy).
     *
     * @return a copy of the shape
     */
    @Override
    public int[] shape() {
        return shape.clone();
    }

    /**
     * Number of elements.
     *
     * @return the product of the extents
     */
    public int size() {
        return data.length;
    }

    /**
     * The values rounded to float32, in the same order.
     *
     * @return a new array
     */
    public float[] toFloats() {
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) data[i];
        }
        return f;
    }

    /**
     * Element (r, c) of a rank-2 tensor.
     *
     * @param r the row
     * @param c the column
     * @return the value
     */
    public double get(int r, int c) {
        return data[r * shape[1] + c];
    }

    /**
     * The tensor with its first two dimensions swapped, e.g. a batch-first {@code [B][T][I]} sequence as
     * the sequence-first {@code [T][B][I]} that engines take (PyTorch's {@code x.transpose(0, 1)}, made
     * contiguous). Values are copied, not rounded.
     *
     * @return a new tensor, {@code [d1][d0][...]}
     * @throws SprnnException if the rank is below 2
     */
    public Tensor transpose01() {
        int[] s = transposedShape(shape);
        double[] out = new double[data.length];
        transpose01(data, out, shape[0], shape[1], innerSize(shape));
        return new Tensor(s, out);
    }

    /** {@code shape} with its first two extents swapped (also FloatTensor's); refused below rank 2. */
    static int[] transposedShape(int[] shape) {
        if (shape.length < 2) {
            throw new SprnnException("transpose01: needs rank >= 2, shape is " + Arrays.toString(shape));
        }
        int[] s = shape.clone();
        s[0] = shape[1];
        s[1] = shape[0];
        return s;
    }

    /** The element count of the dimensions after the first two (1 for rank 2). */
    static int innerSize(int[] shape) {
        int n = 1;
        for (int k = 2; k < shape.length; k++) {
            n *= shape[k];
        }
        return n;
    }

    /** Copies {@code src [d0][d1][inner]} into {@code dst [d1][d0][inner]} (also FloatTensor's, with float arrays). */
    static void transpose01(Object src, Object dst, int d0, int d1, int inner) {
        if (d0 == 0 || d1 == 0 || inner == 0) {
            return; // nothing to move (and d0 x d1 may be huge)
        }
        for (int a = 0; a < d0; a++) {
            for (int b = 0; b < d1; b++) {
                System.arraycopy(src, (a * d1 + b) * inner, dst, (b * d0 + a) * inner, inner);
            }
        }
    }

    /**
     * Number of elements that are not exactly zero.
     *
     * @return the number of nonzeros
     */
    public long countNonZero() {
        long n = 0;
        for (double v : data) {
            if (v != 0.0) {
                n++;
            }
        }
        return n;
    }

    /**
     * Whether the shape equals {@code expected}.
     *
     * @param expected the extents expected
     * @return whether the shape is exactly {@code expected}
     */
    public boolean hasShape(int... expected) {
        return Arrays.equals(shape, expected);
    }

    /**
     * The index of the first NaN or infinite value, or -1.
     *
     * @return the index into {@link #data()}, or -1 where every value is finite
     */
    public int firstNonFinite() {
        for (int i = 0; i < data.length; i++) {
            if (!Double.isFinite(data[i])) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The index of the first value float32 cannot hold (NaN, infinite, or rounding to infinity in float32,
     * such as {@code 1e300}), or -1: sprnn computes in float32, so such values are refused on the way in.
     *
     * @return the index into {@link #data()}, or -1 where float32 holds every value
     */
    public int firstOutsideFloat32() {
        for (int i = 0; i < data.length; i++) {
            if (!Float.isFinite((float) data[i])) { // rounds to infinity (or is NaN): engine.Float32Range's rule
                return i;
            }
        }
        return -1;
    }

    /**
     * Shape as text, e.g. {@code [256, 4, 2304]}.
     *
     * @return the shape in brackets
     */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Tensor" + shapeString();
    }
}
