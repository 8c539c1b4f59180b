package org.sprnn.engine;

/**
 * What a {@link DeviceTimer} measured: µs per run of each timed sample, for the whole sequence and for its
 * recurrent part alone.
 *
 * @param steps           T of the timed inputs (divide by it for µs per step)
 * @param fullMicros      the whole sequence per sample, µs (for engines that time only the recurrent
 *                        part, the same values as {@code recurrentMicros})
 * @param recurrentMicros the recurrent part per sample (the input projection of layer 0 excluded), µs
 * @param how             what was timed and how, for benchmark rows (e.g. the tuned product's algorithm)
 */
public record DeviceTimes(int steps, double[] fullMicros, double[] recurrentMicros, String how) {
}
