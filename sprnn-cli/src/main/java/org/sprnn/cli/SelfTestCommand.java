package org.sprnn.cli;

import java.util.List;
import org.sprnn.Precision;
import org.sprnn.check.GpuSelfTest;
import org.sprnn.engine.EngineOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sprnn selftest}: the GPU test matrix against cpu-reference, for GPU machines without Maven. */
@Command(name = "selftest", mixinStandardHelpOptions = true,
        description = {"Runs the library GPU engines (cuda-gemm, cuda-spmm, cuda-cudnn; cuda-dense-persistent on request) against "
                + "cpu-reference over cell x hidden {33,256,1152} x batch {1,4,8}"
                + " x density {1%%,30%%,100%%} x T {1,50} x precision (fp32 <= 1e-5, fp16 <= 3e-3), plus 3-layer stacks;"
                + " prints a pass/fail table and exits 1 on any failure, 2 when there is no usable GPU. The sparse persistent"
                + " kernel has its own matrix: sprnn kernel-check.",
            "cuda-cudnn runs the matrix with CUDNN_RNN_ALGO_STANDARD, then each persistent algorithm and auto on hidden"
                + " {33,256,1152} x batch {1,4} x T 50 and 3-layer stacks; a persistent algorithm cuDNN refuses for a shape"
                + " (its documented limits) is reported REFUSED with cuDNN's reason, not as a failure."},
        footerHeading = "%nExamples:%n",
        footer = {"  sprnn selftest", "  sprnn selftest --quick --engines cuda-gemm",
                "  sprnn selftest --precisions fp32,fp16,bf16 --seed 42", "  sprnn selftest --engines cuda-cudnn"})
final class SelfTestCommand extends SprnnCommand {
    @Option(names = "--engines", split = ",", description = "GPU engines to test: cuda-gemm, cuda-spmm, cuda-cudnn, cuda-dense-persistent (fp16/bf16 only) (default: ${DEFAULT-VALUE})",
            defaultValue = "cuda-gemm,cuda-spmm,cuda-cudnn")
    List<String> engines;

    @Option(names = "--precisions", split = ",", description = "weight precisions (default: ${DEFAULT-VALUE})",
            defaultValue = "fp32,fp16")
    List<String> precisions;

    @Option(names = "--quick", description = "a reduced matrix (hidden 33 and 256, batch 1 and 4, T 50)")
    boolean quick;

    @Option(names = "--seed", description = "random seed (default: a fresh one, printed)")
    Long seed;

    @Override
    public Integer call() {
        long s = seed != null ? seed : System.nanoTime();
        List<Precision> ps = precisions.stream().map(p -> Precision.parse("--precisions", p, EngineOptions.PRECISIONS)).toList();
        int failures = GpuSelfTest.run(new GpuSelfTest.Options(engines, ps, quick, s), System.out);
        return failures == 0 ? 0 : 1;
    }
}
