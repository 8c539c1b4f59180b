// rnn_cell_update.cu — the per-step element-wise half of the GEMM/SpMM baseline engines (cuda-gemm,
// cuda-spmm): given the recurrent product W_hh·h_{t-1} (from cuBLASLt or cuSPARSE) and the input
// projection W_ih·x_t (one GEMM for all steps, done first), add the biases, apply the cell
// (PyTorch's nn.RNN relu/tanh, nn.GRU, nn.LSTM equations) and write h_t where the next step and the
// next layer read it. One thread per (batch, hidden unit); captured in the engine's CUDA graph.
//
// Variants, by define (the Java side, CellUpdateSpec, sets them; defaults below compile offline):
//   v1 CELL 0..3 (rnn_relu, rnn_tanh, gru, lstm): the direct port of CellEquations.step.
//   v2 GATES_HB 1: the product comes as [G*H][B] (cuSPARSE row-major C, batch innermost) instead of
//      [B][G*H] (cuBLASLt column-major D); WRITE_OPERAND_HB 1 also stores h_t as [H][B] for the next
//      SpMM's row-major B operand.
//   v3 PRODUCT_TYPE 1 or 2: the product arrives in fp16 / bf16 (a cuSPARSE SpMM with a half-precision C,
//      when that is the faster kernel), converted to fp32 on load.
//   v4 WRITE_ELEM 1: also stores h_t in the weight precision (ELEM_TYPE: 0 fp32, 1 fp16, 2 bf16; round to
//      nearest even) as [T][B][H], the next GEMM's B operand and the next layer's projection input.
// Cell math (precise sigmoid_f32, tanhf) and the 16-bit conversions come from cell_math.cuh.
// Run: through the engines (sprnn selftest); offline check, in this folder:
//   nvcc -arch=sm_90 -cubin -Xptxas -v -o /tmp/cu.cubin rnn_cell_update.cu
#include "cell_math.cuh"

#ifndef CELL
#define CELL 2
#endif
#ifndef HIDDEN
#define HIDDEN 256
#endif
#ifndef BATCH
#define BATCH 4
#endif
#ifndef GATES_HB
#define GATES_HB 0
#endif
#ifndef PRODUCT_TYPE
#define PRODUCT_TYPE 0
#endif
#ifndef WRITE_ELEM
#define WRITE_ELEM 1
#endif
#ifndef WRITE_OPERAND_HB
#define WRITE_OPERAND_HB 0
#endif
#ifndef ELEM_TYPE
#define ELEM_TYPE 1
#endif

#if CELL == 0 || CELL == 1
#define GATES 1
#elif CELL == 2
#define GATES 3
#else
#define GATES 4
#endif

#define GH (GATES * HIDDEN)

// h_t in the weight precision (ELEM_TYPE)
#if ELEM_TYPE == 0
typedef float elem_t;
__device__ __forceinline__ elem_t to_elem(float x) { return x; }
#elif ELEM_TYPE == 1
typedef unsigned short elem_t;  // raw fp16 bits
__device__ __forceinline__ elem_t to_elem(float x) { return f32_to_half_bits(x); }
#else
typedef unsigned short elem_t;  // raw bf16 bits
__device__ __forceinline__ elem_t to_elem(float x) { return f32_to_bf16_bits(x); }
#endif

#if PRODUCT_TYPE == 0
typedef float product_t;
__device__ __forceinline__ float product_to_f32(float v) { return v; }
#elif PRODUCT_TYPE == 1
typedef unsigned short product_t;
__device__ __forceinline__ float product_to_f32(unsigned short v) { return half_bits_to_f32(v); }
#else
typedef unsigned short product_t;
__device__ __forceinline__ float product_to_f32(unsigned short v) { return bf16_bits_to_f32(v); }
#endif

// W_hh·h for gate g of unit j, batch b
__device__ __forceinline__ float hh_product(const product_t* __restrict__ gates, int g, int j, int b) {
#if GATES_HB
    return product_to_f32(gates[(g * HIDDEN + j) * BATCH + b]);   // [G*H][B]
#else
    return product_to_f32(gates[b * GH + g * HIDDEN + j]);         // [B][G*H]
#endif
}

extern "C" __global__ void rnn_cell_update(
        const float* __restrict__ xproj,    // [B][G*H] fp32: W_ih·x_t of this step (no bias)
        const product_t* __restrict__ gates,// W_hh·h_{t-1} (no bias): [B][G*H], or [G*H][B] if GATES_HB; PRODUCT_TYPE
        const float* __restrict__ b_ih,     // [G*H]
        const float* __restrict__ b_hh,     // [G*H]
        const float* __restrict__ h_prev,   // [B][H] fp32: h_{t-1}
        float* __restrict__ c_state,        // [B][H] fp32, LSTM only: c_{t-1} in, c_t out
        float* __restrict__ h_out,          // [B][H] fp32: h_t (this step's slice of the layer output)
        elem_t* __restrict__ h_elem,        // [B][H] ELEM_TYPE: h_t again (WRITE_ELEM)
        elem_t* __restrict__ h_operand_hb)  // [H][B] ELEM_TYPE: h_t transposed (WRITE_OPERAND_HB)
{
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= BATCH * HIDDEN) return;
    const int b = idx / HIDDEN, j = idx % HIDDEN;
    const float* x = xproj + b * GH;
    float h;
#if CELL == 0
    h = fmaxf(0.0f, x[j] + b_ih[j] + hh_product(gates, 0, j, b) + b_hh[j]);
#elif CELL == 1
    h = tanhf(x[j] + b_ih[j] + hh_product(gates, 0, j, b) + b_hh[j]);
#elif CELL == 2
    // r, z, n rows; r multiplies (W_hn h + b_hn) only
    const float r = sigmoid_f32(x[j] + b_ih[j] + hh_product(gates, 0, j, b) + b_hh[j]);
    const float z = sigmoid_f32(x[HIDDEN + j] + b_ih[HIDDEN + j] + hh_product(gates, 1, j, b) + b_hh[HIDDEN + j]);
    const float n = tanhf(x[2 * HIDDEN + j] + b_ih[2 * HIDDEN + j]
                          + r * (hh_product(gates, 2, j, b) + b_hh[2 * HIDDEN + j]));
    h = (1.0f - z) * n + z * h_prev[idx];
#else
    // i, f, g, o rows
    const float ig = sigmoid_f32(x[j] + b_ih[j] + hh_product(gates, 0, j, b) + b_hh[j]);
    const float fg = sigmoid_f32(x[HIDDEN + j] + b_ih[HIDDEN + j] + hh_product(gates, 1, j, b) + b_hh[HIDDEN + j]);
    const float gg = tanhf(x[2 * HIDDEN + j] + b_ih[2 * HIDDEN + j] + hh_product(gates, 2, j, b) + b_hh[2 * HIDDEN + j]);
    const float og = sigmoid_f32(x[3 * HIDDEN + j] + b_ih[3 * HIDDEN + j] + hh_product(gates, 3, j, b) + b_hh[3 * HIDDEN + j]);
    const float c = fg * c_state[idx] + ig * gg;
    c_state[idx] = c;
    h = og * tanhf(c);
#endif
    h_out[idx] = h;
#if WRITE_ELEM
    h_elem[idx] = to_elem(h);
#endif
#if WRITE_OPERAND_HB
    h_operand_hb[j * BATCH + b] = to_elem(h);
#endif
}
