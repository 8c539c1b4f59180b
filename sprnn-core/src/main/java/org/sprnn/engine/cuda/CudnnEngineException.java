package org.sprnn.engine.cuda;

import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.Cudnn;

/**
 * cuDNN refused or failed a call of {@code cuda-cudnn}: one line naming the engine, the algorithm, the shape, the cuDNN
 * call, its status and cuDNN's own message, e.g. {@code cuda-cudnn: cuDNN refuses CUDNN_RNN_ALGO_PERSIST_STATIC for lstm,
 * hidden 4096, 1 layer, input 48, batch 16, T 50, fp16 data: cudnnRNNForward failed: CUDNN_STATUS_NOT_SUPPORTED (3000):
 * ...}.
 */
public final class CudnnEngineException extends SprnnException {
    private static final long serialVersionUID = 1L;

    private final transient CudnnAlgorithm algorithm;
    private final String call;
    private final int status;

    CudnnEngineException(String message, CudnnAlgorithm algorithm, String call, int status) {
        super(message);
        this.algorithm = algorithm;
        this.call = call;
        this.status = status;
    }

    /**
     * The message: {@code <engine>: cuDNN refuses <algorithm> for <shape>: <failure>} where the status says "not
     * supported", {@code <engine>: cuDNN fails <algorithm> for <shape>: <failure>} otherwise.
     *
     * @param shape   the model and run, e.g. {@code lstm, hidden 1152, 2 layers, input 48, batch 4, T 256, fp16 data}
     * @param failure the failed call as {@link org.sprnn.internal.cuda.CudaException} words it: {@code call failed: STATUS (n): message}
     */
    static String message(CudnnAlgorithm algorithm, int status, String shape, String failure) {
        return CudnnEngine.NAME + ": cuDNN " + (Cudnn.isNotSupported(status) ? "refuses " : "fails ") + algorithm.cudnnName() + " for "
                + shape + ": " + failure;
    }

    /** The algorithm that was refused (the last one tried, where {@code auto} tried several). */
    public CudnnAlgorithm algorithm() {
        return algorithm;
    }

    /** The cuDNN call that failed, e.g. {@code cudnnRNNForward}. */
    public String call() {
        return call;
    }

    /** Its cudnnStatus_t. */
    public int status() {
        return status;
    }

    /**
     * Whether cuDNN said it does not support the configuration (a {@code CUDNN_STATUS_NOT_SUPPORTED*} status) for a
     * persistent algorithm: the refusal cuDNN documents for shapes beyond those algorithms' limits, not a defect.
     */
    public boolean documentedRefusal() {
        return algorithm != null && algorithm.persistent() && Cudnn.isNotSupported(status);
    }
}
