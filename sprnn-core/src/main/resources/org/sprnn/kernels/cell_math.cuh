// cell_math.cuh — the element-wise pieces both sprnn recurrent kernels (sparse_persistent_rnn.cu,
// rnn_cell_update.cu) share: PyTorch's gate sigmoid in fp32 and the conversions between fp32 and the
// 16-bit formats (fp16, bf16) their weights, activations and products come in. One definition each.
//
// Variants (no defines; each kernel picks the function it calls):
//   v1 sigmoid_f32         1 / (1 + expf(-x)): CUDA's precise expf (max 2 ulp). rnn_cell_update.cu (cuda-gemm,
//                          cuda-spmm), whose fp32 runs are held to 1e-5.
//   v2 sigmoid_approx_f32  1 / (1 + __expf(-x)): __expf is one multiply by log2(e) and ex2.approx.f32, max
//                          2 + floor(|1.173 x|) ulp (CUDA C++ Programming Guide, intrinsic functions): at most 13 ulp
//                          (1.6e-6 relative) for |x| <= 10, about 1.3e-5 where expf(-x) is still finite (|x| <= 88).
//                          The sigmoid's relative error is at most e^-x's, scaled by 1 - sigmoid <= 1. The sparse
//                          persistent kernel uses it: its weights and h_t are fp16/bf16 (h rounds to 2^-11 relative
//                          each step; the engines' tolerance is 3e-3 for fp16, 2e-2 for bf16, Precision#tolerance),
//                          so the approximation stays two orders of magnitude below what the format already costs.
//   tanhf is CUDA's precise tanhf in both kernels (no --use_fast_math anywhere).
// Conversions are inline PTX so this header needs no toolkit header (cuda_fp16.h) under NVRTC.
#pragma once

// ---- gate nonlinearity ----------------------------------------------------------------------------------
__device__ __forceinline__ float sigmoid_f32(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float sigmoid_approx_f32(float x) { return 1.0f / (1.0f + __expf(-x)); }

// ---- 16-bit formats → fp32 (exact) ----------------------------------------------------------------------
__device__ __forceinline__ float half_bits_to_f32(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
// bits: the bf16 in the low 16 bits, the high 16 zero
__device__ __forceinline__ float bf16_bits_to_f32(unsigned bits) {
    return __uint_as_float(bits << 16);
}
// two fp16 in one 32-bit word: lo from bits 0-15, hi from bits 16-31
__device__ __forceinline__ void half2_bits_to_f32x2(unsigned v, float& lo, float& hi) {
    asm("{ .reg .b16 a, b; mov.b32 {a, b}, %2; cvt.f32.f16 %0, a; cvt.f32.f16 %1, b; }" : "=f"(lo), "=f"(hi) : "r"(v));
}

// ---- fp32 → 16-bit formats (round to nearest even) ------------------------------------------------------
__device__ __forceinline__ unsigned short f32_to_half_bits(float x) {
    unsigned short r;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
}
__device__ __forceinline__ unsigned short f32_to_bf16_bits(float x) {  // cvt.rn.bf16.f32: sm_80+
    unsigned short r;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
}
// lo into bits 0-15, hi into bits 16-31
__device__ __forceinline__ unsigned f32x2_to_half2_bits(float lo, float hi) {
    unsigned v;
    asm("{ .reg .b16 a, b; cvt.rn.f16.f32 a, %1; cvt.rn.f16.f32 b, %2; mov.b32 %0, {a, b}; }" : "=r"(v) : "f"(lo), "f"(hi));
    return v;
}
