package org.sprnn.check;

import org.sprnn.engine.Accuracy;
import org.sprnn.engine.RnnOutput;

/**
 * Why this file exists: every check of the package scores a GPU run against its float64 reference the same way,
 * {@code ‖out−ref‖/‖ref‖} over the output sequence, the final hidden states and (LSTM) the final cell states, the
 * largest of the three; this is that one definition.
 */
final class RelativeError {
    private RelativeError() {
    }

    /** The largest relative error over output, final h and (LSTM) final c; NaN where a run lacks the final c. */
    static double of(RnnOutput got, RnnOutput want) {
        double e = Math.max(Accuracy.relativeError(got.output(), want.output()), Accuracy.relativeError(got.hN(), want.hN()));
        if (want.cN() != null) {
            e = Math.max(e, got.cN() == null ? Double.NaN : Accuracy.relativeError(got.cN(), want.cN()));
        }
        return e;
    }
}
