package org.sprnn.engine;

import java.util.List;

/**
 * Times the two directions of a one-layer bidirectional model on the device ({@link BidirectionalEngine#deviceTimer()}):
 * the engines' recurrent launches between CUDA events, both at once where the directions share the device, else one
 * after the other. Supplied by the GPU engines that build a {@link BidirectionalEngine}.
 */
@FunctionalInterface
public interface DirectionPairTimer {

    /**
     * Times {@code reps} samples after {@code warmup} untimed runs, each sample the recurrent launches of both directions
     * on inputs {@code forward.get(i % n)} and {@code reverse.get(i % n)}.
     *
     * @param forwardEngine the forward direction's engine (a one-layer unidirectional model)
     * @param reverseEngine the reverse direction's engine
     * @param forward       input sets of the forward direction, {@code [T][B][I]}
     * @param reverse       the same sets, each sequence reversed (the reverse direction's inputs)
     * @param warmup        untimed runs first
     * @param reps          timed samples
     * @param together      true: both directions' launches at once (each on its own share of the device); false: one after
     *                      the other, a sample being the sum of the two
     * @return µs per sample (both directions' whole sequence), recurrent part only
     * @throws org.sprnn.SprnnException if an engine is not of the timer's kind, or as {@link Engine#run}
     */
    DeviceTimes time(Engine forwardEngine, Engine reverseEngine, List<org.sprnn.model.Tensor> forward,
                     List<org.sprnn.model.Tensor> reverse, int warmup, int reps, boolean together);
}
