package org.sprnn.model;

import java.util.Arrays;

/**
 * A dense, row-major (C order) array of float32 values with a shape: the form in which an application
 * that already holds float32 data passes inputs to an engine and receives outputs, without the float64
 * {@link Tensor} in between.
 *
 * <p>Why it exists: {@link Tensor} is float64 so that the reference engine sees a file's values
 * exactly, but the {@code cpu} engine computes in float32. For a caller whose data is float32 (the
 * common case: PyTorch's default dtype, {@code .npy} float32 files) a float64 round trip costs two
 * conversions of every input and output value and a float64 output twice the size, a measurable share of a
 * {@code cpu} step (figures: results/cpu/README.md, "Figures the source used to quote"). See
 * {@link org.sprnn.engine.Engine#runFloat}.
 *
 * @param shape the extent of each dimension, outermost first; every extent ≥ 0
 * @param data  {@code product(shape)} values, last dimension innermost; held, not copied, so that an
 *              output buffer can be reused across runs
 */
public record FloatTensor(int[] shape, float[] data) {

    /** Checks that the shape's product equals the data length; copies the shape. */
    public FloatTensor {
        shape = Tensor.checkedShape(shape, data.length);
    }

    /**
     * A tensor of zeros.
     *
     * @param shape the extent of each dimension
     * @return a new tensor of that shape, all zeros
     */
    public static FloatTensor zeros(int... shape) {
        int n = Tensor.allocatableSize(shape);
        try {
            return new FloatTensor(shape, new float[n]);
        } catch (OutOfMemoryError e) {
            throw org.sprnn.JvmSupport.heapTooSmall("a float tensor of shape " + java.util.Arrays.toString(shape), 4L * n, null);
        }
    }

    /**
     * {@code t}'s values rounded to float32, same shape.
     *
     * @param t the float64 tensor
     * @return a new float32 tensor
     */
    public static FloatTensor of(Tensor t) {
        return new FloatTensor(t.shape(), t.toFloats());
    }

    /**
     * The same values as a float64 {@link Tensor} (exact).
     *
     * @return a new float64 tensor
     */
    public Tensor toTensor() {
        return Tensor.ofFloats(data, shape);
    }

    /**
     * The tensor with its first two dimensions swapped, in a new array: a batch-first {@code [B][T][I]}
     * sequence as the sequence-first {@code [T][B][I]} that engines take, and back. See
     * {@link Tensor#transpose01()}.
     *
     * @return a new tensor, {@code [d1][d0][...]}
     * @throws org.sprnn.SprnnException if the rank is below 2
     */
    public FloatTensor transpose01() {
        int[] s = Tensor.transposedShape(shape);
        float[] out = new float[data.length];
        Tensor.transpose01(data, out, shape[0], shape[1], Tensor.innerSize(shape));
        return new FloatTensor(s, out);
    }

    /**
     * Writes this tensor with its first two dimensions swapped into {@code target}, whose shape must be
     * this one's with the first two extents exchanged: for filling a caller's reused output buffer.
     *
     * @param target the tensor to fill, {@code [d1][d0][...]}
     * @throws org.sprnn.SprnnException if the rank is below 2 or {@code target} has another shape
     */
    public void transpose01Into(FloatTensor target) {
        int[] s = Tensor.transposedShape(shape);
        if (!target.hasShape(s)) {
            throw new org.sprnn.SprnnException("transpose01: target has shape " + target.shapeString() + ", expected "
                    + Arrays.toString(s));
        }
        Tensor.transpose01(data, target.data(), shape[0], shape[1], Tensor.innerSize(shape));
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
     * Whether the shape equals {@code expected}.
     *
     * @param expected the extents expected
     * @return whether the shape is exactly {@code expected}
     */
    public boolean hasShape(int... expected) {
        return Arrays.equals(shape, expected);
    }

    /**
     * The index of the first NaN or infinite value, or -1. Scans 4,096 values at a time for their
     * largest magnitude ({@code Math.max} propagates NaN) and looks for the index only in a chunk whose
     * maximum is not finite: measured faster than testing each value with {@code Float.isFinite} and
     * leaving at the first hit.
     *
     * @return the index into {@link #data()}, or -1 where every value is finite
     */
    public int firstNonFinite() {
        for (int c = 0; c < data.length; c += 4096) {
            int e = Math.min(data.length, c + 4096);
            float widest = 0f;
            for (int i = c; i < e; i++) {
                widest = Math.max(widest, Math.abs(data[i]));
            }
            if (!(widest <= Float.MAX_VALUE)) { // infinity or NaN somewhere in this chunk
                for (int i = c; i < e; i++) {
                    if (!Float.isFinite(data[i])) {
                        return i;
                    }
                }
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
        return o instanceof FloatTensor t && Arrays.equals(shape, t.shape) && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "FloatTensor" + shapeString();
    }
}
