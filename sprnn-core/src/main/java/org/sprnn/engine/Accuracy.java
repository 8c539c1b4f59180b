package org.sprnn.engine;

import org.sprnn.model.Tensor;

/** How far an engine's output is from the reference: the measure every test and benchmark reports. */
public final class Accuracy {
    private Accuracy() {
    }

    /**
     * {@code ‖out − ref‖₂ / ‖ref‖₂} (or the absolute norm of the difference where {@code ref} is all
     * zeros). NaN anywhere in {@code out} (an unwritten, poisoned element) gives NaN, which fails every
     * tolerance check.
     *
     * @param out the values to judge, e.g. an engine's output
     * @param ref the reference values of the same shape (usually {@code cpu-reference}'s)
     * @return the relative error, 0 for identical tensors, NaN where {@code out} holds a NaN
     * @throws IllegalArgumentException if the shapes differ
     */
    public static double relativeError(Tensor out, Tensor ref) {
        if (!java.util.Arrays.equals(out.shape(), ref.shape())) {
            throw new IllegalArgumentException("shapes differ: " + out.shapeString() + " vs " + ref.shapeString());
        }
        double num = 0, den = 0;
        double[] o = out.data(), r = ref.data();
        for (int i = 0; i < o.length; i++) {
            double d = o[i] - r[i];
            num += d * d;
            den += r[i] * r[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
