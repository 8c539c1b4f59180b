package org.sprnn.engine;

import org.sprnn.SprnnException;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/** The one check every engine applies to a run's arguments, so that every engine fails the same way. */
public final class RunInputs {
    private RunInputs() {
    }

    /**
     * Checks input and initial states against the model.
     *
     * @return the batch size B
     * @throws SprnnException naming the argument, its shape and the expected one
     */
    public static int check(RnnModel model, Tensor input, Tensor h0, Tensor c0) {
        if (input == null) {
            throw new SprnnException("input: missing");
        }
        if (input.rank() != 3) {
            throw new SprnnException("input has shape " + input.shapeString() + ", expected [T][B][I] (rank 3)");
        }
        int t = input.dim(0), b = input.dim(1), i = input.dim(2);
        if (t < 1 || b < 1) {
            throw new SprnnException("input has shape " + input.shapeString() + ": need T >= 1 and B >= 1");
        }
        if (i != model.inputSize()) {
            throw new SprnnException("input has " + i + " features per step (shape " + input.shapeString()
                    + ") but the model's input size is " + model.inputSize());
        }
        finite(input, "input");
        int l = model.numLayers(), h = model.hiddenSize();
        if (h0 != null) {
            if (!h0.hasShape(l, b, h)) {
                throw new SprnnException("h0 has shape " + h0.shapeString() + ", expected [" + l + ", " + b + ", " + h + "] (layers, batch, hidden)");
            }
            finite(h0, "h0");
        }
        if (c0 != null) {
            if (!model.cell().hasCellState()) {
                throw new SprnnException("c0 given, but cell " + model.cell() + " has no cell state (only lstm has)");
            }
            if (!c0.hasShape(l, b, h)) {
                throw new SprnnException("c0 has shape " + c0.shapeString() + ", expected [" + l + ", " + b + ", " + h + "] (layers, batch, hidden)");
            }
            finite(c0, "c0");
        }
        return b;
    }

    private static void finite(Tensor x, String what) {
        int bad = x.firstNonFinite();
        if (bad >= 0) {
            int[] s = x.shape();
            int i2 = bad % s[2], i1 = (bad / s[2]) % s[1], i0 = bad / (s[1] * s[2]);
            throw new SprnnException(what + " holds a non-finite value (" + x.data()[bad] + ") at [" + i0 + "][" + i1 + "][" + i2 + "]");
        }
    }
}
