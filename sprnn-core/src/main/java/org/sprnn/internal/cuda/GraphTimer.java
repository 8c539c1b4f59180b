package org.sprnn.internal.cuda;

/**
 * Times a short piece of stream work the way sprnn's engines run it: {@code reps} back-to-back calls
 * captured into one CUDA graph, the graph replayed a few times (CUDA events), the best replay divided
 * by {@code reps}. Outside a graph, launch overhead (more than a small product itself:
 * results/anchors/README.md) would hide the differences between algorithms.
 */
final class GraphTimer {
    private static final int REPLAYS = 3;

    private GraphTimer() {
    }

    /**
     * @return microseconds per call of {@code work}
     * @throws CudaException if the work fails to capture or to run (the stream is synchronised first)
     */
    static double microsPerCall(CudaContext ctx, CudaStream stream, int reps, Runnable work) {
        try (CudaGraph g = stream.capture(() -> {
            for (int i = 0; i < reps; i++) {
                work.run();
            }
        }); CudaEvent start = ctx.createEvent(); CudaEvent end = ctx.createEvent()) {
            g.launch(stream); // warm-up
            double best = Double.MAX_VALUE;
            for (int r = 0; r < REPLAYS; r++) {
                start.record(stream);
                g.launch(stream);
                end.record(stream);
                end.synchronize();
                best = Math.min(best, end.millisSince(start) * 1000.0 / reps);
            }
            return best;
        } catch (CudaException e) {
            try {
                stream.synchronize();
            } catch (CudaException ignored) {
                // the original error is the one to report
            }
            throw e;
        }
    }
}
