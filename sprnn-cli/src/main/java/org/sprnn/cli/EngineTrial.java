package org.sprnn.cli;

import java.util.List;
import java.util.Locale;
import org.sprnn.SprnnException;
import org.sprnn.engine.Accuracy;
import org.sprnn.engine.DeviceTimes;
import org.sprnn.engine.Engine;
import org.sprnn.engine.EngineFactory;
import org.sprnn.engine.EngineOptions;
import org.sprnn.engine.EngineProvider;
import org.sprnn.engine.RnnOutput;
import org.sprnn.engine.cuda.CudnnEngineException;
import org.sprnn.model.RnnModel;
import org.sprnn.model.Tensor;

/**
 * One engine at one point of a sweep ({@code bench grid}, {@code bench sweep}): available or not (the reason), built,
 * checked against cpu-reference's output on a short sequence, then timed the way it offers ({@link DeviceTimes#of}).
 * An engine that disagrees, that the library refuses (cuDNN) or that fails is a result, not the end of the sweep.
 *
 * @param engine        the engine's name
 * @param microsPerStep median recurrent µs per timestep, NaN where it was not timed
 * @param p10           the 10th percentile, µs per step
 * @param p90           the 90th percentile, µs per step
 * @param fullPerStep   median µs per step of the whole run (input projection included)
 * @param error         relative error against cpu-reference, NaN where it did not run
 * @param note          how it was timed, or why it was not (starts with infeasible, DISAGREES, refused or failed)
 */
record EngineTrial(String engine, double microsPerStep, double p10, double p90, double fullPerStep, double error, String note) {

    /** A wall-clock engine's budget of timed runs at one point of a sweep: 20 s (at least 3 runs). */
    static final long WALL_BUDGET_NANOS = 20_000_000_000L;

    boolean timed() {
        return !Double.isNaN(microsPerStep);
    }

    boolean disagrees() {
        return note.startsWith("DISAGREES");
    }

    /** An error other than the library's refusal of the shape: counted as a failure, like a disagreement. */
    boolean failed() {
        return disagrees() || note.startsWith("FAILED");
    }

    private static EngineTrial none(String engine, double error, String note) {
        return new EngineTrial(engine, Double.NaN, Double.NaN, Double.NaN, Double.NaN, error, note);
    }

    /**
     * Checks, then times one engine.
     *
     * @param ref    cpu-reference's output on {@code verifyX} from {@code h0}, {@code c0}
     * @param sets   the timed inputs, rotated
     * @param warmup untimed runs first (where the engine has no device timer: one, then as many as DeviceTimes' time-based
     *               warm-up takes)
     * @param reps   timed runs
     */
    static EngineTrial run(String name, RnnModel model, EngineOptions opts, Tensor verifyX, Tensor h0, Tensor c0, RnnOutput ref,
                           List<Tensor> sets, int warmup, int reps) {
        EngineFactory f = EngineProvider.factory(name);
        var why = EngineProvider.unavailableReason(f, model, opts);
        if (why.isPresent()) {
            return none(name, Double.NaN, "infeasible: " + why.get());
        }
        try (Engine e = f.create(model, opts)) {
            RnnOutput got = e.run(verifyX, h0, c0);
            double err = Math.max(Accuracy.relativeError(got.output(), ref.output()), Accuracy.relativeError(got.hN(), ref.hN()));
            if (!(err <= e.tolerance())) {
                return none(name, err, String.format(Locale.ROOT, "DISAGREES with cpu-reference: relative error %.3g > %.3g", err,
                        e.tolerance()));
            }
            boolean device = e.deviceTimer().isPresent();
            DeviceTimes t = DeviceTimes.of(e, sets, h0, c0, device ? warmup : 1, reps, WALL_BUDGET_NANOS);
            return new EngineTrial(name, t.recurrentMedianPerStep(), DeviceTimes.quantile(t.recurrentMicros(), 0.1) / t.steps(),
                    DeviceTimes.quantile(t.recurrentMicros(), 0.9) / t.steps(), DeviceTimes.quantile(t.fullMicros(), 0.5) / t.steps(),
                    err, t.how());
        } catch (CudnnEngineException refused) {
            return none(name, Double.NaN, "refused: " + refused.getMessage());
        } catch (SprnnException failed) {
            return none(name, Double.NaN, "FAILED: " + failed.getMessage());
        }
    }
}
