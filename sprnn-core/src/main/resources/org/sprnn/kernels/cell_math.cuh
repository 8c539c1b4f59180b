// cell_math.cuh — the element-wise pieces every sprnn recurrent kernel shares: PyTorch's gate
// nonlinearities in fp32 and the stores of one hidden value in the weight precision.
//
// Variants (one, specialised by define):
//   ELEM_TYPE 0: fp32 store; 1: fp16 (round to nearest even, cvt.rn.f16.f32); 2: bf16 (cvt.rn.bf16.f32, sm_80+).
// Conversions are inline PTX so this header needs no toolkit header (cuda_fp16.h) under NVRTC.
#pragma once

#ifndef ELEM_TYPE
#define ELEM_TYPE 1
#endif

#if ELEM_TYPE == 0
typedef float elem_t;
#else
typedef unsigned short elem_t;   // raw fp16 / bf16 bits
#endif

// PyTorch's sigmoid and tanh in fp32 (precise expf/tanhf: no --use_fast_math anywhere).
__device__ __forceinline__ float sigmoid_f32(float x) { return 1.0f / (1.0f + expf(-x)); }

// fp16 / bf16 bits → fp32 (exact)
__device__ __forceinline__ float half_bits_to_f32(unsigned short h) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
__device__ __forceinline__ float bf16_bits_to_f32(unsigned short h) {
    return __uint_as_float(((unsigned int) h) << 16);
}

__device__ __forceinline__ elem_t to_elem(float x) {
#if ELEM_TYPE == 0
    return x;
#elif ELEM_TYPE == 1
    unsigned short r;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
#else
    unsigned short r;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(r) : "f"(x));
    return r;
#endif
}
