package org.sprnn.engine;

/**
 * What running a model on one engine costs per timestep: the recurrent part of every layer, µs, and what
 * the figure rests on (a cost model and its calibration, or a measurement on this device).
 *
 * @param microsPerStep µs per timestep, all layers, the input projection of layer 0 excluded
 * @param basis         where the figure comes from, one short phrase
 */
public record StepCost(double microsPerStep, String basis) {
    /**
     * Validates the figure.
     *
     * @throws IllegalArgumentException if {@code microsPerStep} is not positive and finite
     */
    public StepCost {
        if (!(microsPerStep > 0) || Double.isInfinite(microsPerStep)) {
            throw new IllegalArgumentException("µs per step must be positive and finite, got " + microsPerStep);
        }
    }
}
