// CudnnDataFormat.java — the one place where cuda-cudnn turns a precision into cuDNN's types.
package org.sprnn.engine.cuda;

import org.sprnn.Precision;
import org.sprnn.SprnnException;
import org.sprnn.internal.cuda.Cudnn;

/**
 * How {@code cuda-cudnn} hands a precision to cuDNN: the data type of x, y, h, c, weights and biases, and the math.
 *
 * <p>Math precision is always fp32 ({@code mathPrec = CUDNN_DATA_FLOAT}): cuDNN's persistent algorithms refuse half
 * math, and fp32 accumulation is what the other GPU engines do. fp16 and bf16 data use tensor cores
 * ({@code CUDNN_TENSOR_OP_MATH}); fp32 data uses {@code CUDNN_FMA_MATH}, not {@code CUDNN_DEFAULT_MATH}, because cuDNN's
 * default math allows TF32 tensor cores on compute capability 8.0 and newer (10 significant bits: far outside fp32's
 * 1e-5 tolerance).
 *
 * @param elem     how the host writes and reads the values
 * @param dataType cudnnDataType_t of the data and weights
 * @param mathType cudnnMathType_t
 */
record CudnnDataFormat(Precision elem, int dataType, int mathType) {

    /** The format of a GPU precision ({@link org.sprnn.engine.EngineOptions#PRECISIONS}). */
    static CudnnDataFormat of(Precision precision) {
        Precision e = precision;
        return switch (e) {
            case FP32 -> new CudnnDataFormat(e, Cudnn.DATA_FLOAT, Cudnn.FMA_MATH);
            case FP16 -> new CudnnDataFormat(e, Cudnn.DATA_HALF, Cudnn.TENSOR_OP_MATH);
            case BF16 -> new CudnnDataFormat(e, Cudnn.DATA_BFLOAT16, Cudnn.TENSOR_OP_MATH);
            case FP64 -> throw new SprnnException("--precision fp64: cuda-cudnn computes in fp16, bf16 or fp32");
        };
    }

    /** How the host writes a value cuDNN describes as {@code dataType} (a weight or bias it stores). */
    static Precision elementOf(int dataType) {
        return switch (dataType) {
            case Cudnn.DATA_FLOAT -> Precision.FP32;
            case Cudnn.DATA_HALF -> Precision.FP16;
            case Cudnn.DATA_BFLOAT16 -> Precision.BF16;
            default -> throw new SprnnException("cuDNN stores a weight as cudnnDataType_t " + dataType + ", which sprnn does not write");
        };
    }

    /** The precision's name, e.g. {@code fp16}. */
    String id() {
        return elem.id();
    }

    /** Whether h (and c, x, y) are held in fp16 between steps: the fp16-range checks apply. */
    boolean halfH() {
        return elem == Precision.FP16;
    }

    /** For {@code how}: e.g. {@code fp16 data, fp32 math (CUDNN_TENSOR_OP_MATH)}. */
    String describe() {
        String math = switch (mathType) {
            case Cudnn.TENSOR_OP_MATH -> "CUDNN_TENSOR_OP_MATH";
            case Cudnn.FMA_MATH -> "CUDNN_FMA_MATH, no TF32";
            default -> "cudnnMathType_t " + mathType;
        };
        return id() + " data, fp32 math (" + math + ")";
    }
}
