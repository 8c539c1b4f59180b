// toolkit_header_probe.cu — answers one question on a GPU machine: do the CUDA toolkit headers
// (<cuda_fp16.h>, <cuda_bf16.h>) resolve under NVRTC with the include folder sprnn found? `sprnn
// selftest` compiles it first and reports the answer; kernels that need those headers depend on it.
//
// Variants: v1 only — converts fp32 → fp16/bf16 with the toolkit's own intrinsics.
// Run: sprnn selftest (first line of the report); offline: nvcc -arch=sm_90 -cubin -o /tmp/probe.cubin toolkit_header_probe.cu
#include <cuda_fp16.h>
#include <cuda_bf16.h>

extern "C" __global__ void toolkit_header_probe(const float* __restrict__ in,   // [n] fp32
                                                __half* __restrict__ out_h,     // [n] fp16
                                                __nv_bfloat16* __restrict__ out_b, // [n] bf16
                                                int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        out_h[i] = __float2half_rn(in[i]);
        out_b[i] = __float2bfloat16_rn(in[i]);
    }
}
