// sparse_persistent_rnn.cuh — the layouts the sparse persistent kernel shares with the Java packer.
//
// One definition each, mirrored by org.sprnn.sparse.PackedWord and org.sprnn.sparse.SharedMemoryBanks;
// PackedWordContractTest compiles this header on the host (g++) and checks both sides agree word for word.
// Host-compilable on purpose: no CUDA headers, __host__ __device__ only under a CUDA compiler.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SPRNN_HD __host__ __device__ __forceinline__
#else
#define SPRNN_HD inline
#endif

// ---- the packed word: one nonzero of W_hh in 32 bits -------------------------------------------------
//   bit 31 ........ 16 | 15 ......... 0
//        column (u16)  | value (fp16 bits, or bf16 bits when SPRNN_BF16)
#define SPRNN_WORD_COLUMN_SHIFT 16
#define SPRNN_WORD_VALUE_MASK 0xFFFFu
// 32 all-zero activation columns live above H (H .. H+31): padding reads one in a free bank slot.
#define SPRNN_ZERO_COLUMNS 32

SPRNN_HD unsigned sprnn_word_column(unsigned w) { return w >> SPRNN_WORD_COLUMN_SHIFT; }
SPRNN_HD unsigned sprnn_word_value_bits(unsigned w) { return w & SPRNN_WORD_VALUE_MASK; }

// ---- the dense word (SPRNN_DENSE): two weights of adjacent columns of one row, no column --------------
//   bit 31 ........ 16 | 15 ......... 0
//     column 2q + 1    |  column 2q          (word q of its row; fp16 bits, or bf16 bits when SPRNN_BF16)
#define SPRNN_DENSE_HI_SHIFT 16
SPRNN_HD unsigned sprnn_dense_lo_bits(unsigned w) { return w & SPRNN_WORD_VALUE_MASK; }
SPRNN_HD unsigned sprnn_dense_hi_bits(unsigned w) { return w >> SPRNN_DENSE_HI_SHIFT; }

// ---- shared-memory banks of the activation layout act[column][paddedBatch] (fp16) ---------------------
// A lane access of `access_bytes` is served in groups of 128/unit lanes, unit = clamp(access, 4, 16);
// column c's chunk is c*row_bytes/unit, its bank slot chunk % (128/unit). Equal chunks broadcast.
SPRNN_HD unsigned sprnn_bank_unit(unsigned access_bytes) {
  return access_bytes < 4u ? 4u : (access_bytes > 16u ? 16u : access_bytes);
}
SPRNN_HD unsigned sprnn_bank_slot(unsigned column, unsigned row_bytes, unsigned access_bytes) {
  unsigned unit = sprnn_bank_unit(access_bytes);
  return (unsigned)(((unsigned long long)column * row_bytes / unit) % (128u / unit));
}

// ---- dynamic shared-memory layout of one CTA (org.sprnn.plan.KernelSpec#sharedMemoryBytes) -----------
// Each part 16-byte aligned, in this order:
//   act    [2][H + 32][PB] fp16   h_{t-1}, double-buffered by step parity, batch innermost; 32 zero columns;
//                                 each buffer padded to 16 bytes
//   preact [WARPS][U*G][PB] fp32  a warp's row sums, from the shuffle reduction to the cell update
//   tier2  [WARPS][S - R][32] u32 packed words beyond the register tier, slot-major
//   ctail  [2][PB/2][WARPS*32] float2 with a tail the CTA's rows share (SPRNN_CTA_TAIL): each lane's tail sums, by step
//                                 parity (SPRNN_SMEM_CTAIL_BYTES, added to SPRNN_SMEM_BYTES by the kernel); with a
//                                 warp's own tail and SPRNN_TAIL_SMEM half of it, [WARPS][PB][32] fp32
#define SPRNN_ALIGN16(x) ((((unsigned long long)(x)) + 15ull) & ~15ull)
#define SPRNN_SMEM_ACT_BYTES(H, PB) (2ull * SPRNN_ALIGN16(((H) + SPRNN_ZERO_COLUMNS) * (PB) * 2ull))
#define SPRNN_SMEM_PREACT_BYTES(W, U, G, PB) SPRNN_ALIGN16((unsigned long long)(W) * (U) * (G) * (PB) * 4ull)
#define SPRNN_SMEM_TIER2_BYTES(W, S, R) ((unsigned long long)(W) * ((S) - (R)) * 32ull * 4ull)
#define SPRNN_SMEM_CTAIL_BYTES(W, PB) (2ull * (W) * 32ull * (PB) * 4ull)
#define SPRNN_SMEM_BYTES(H, PB, W, U, G, S, R)                                                   \
  (SPRNN_SMEM_ACT_BYTES(H, PB) + SPRNN_SMEM_PREACT_BYTES(W, U, G, PB) + SPRNN_SMEM_TIER2_BYTES(W, S, R))

// ---- fault record (int32 [4]) written by a CTA whose bounded spin ran out ------------------------------
#define SPRNN_FAULT_NONE 0
#define SPRNN_FAULT_TIMESTAMP_WAIT 1  // a timestamped h value for the step did not arrive in time
#define SPRNN_FAULT_BARRIER_WAIT 2    // the grid barrier of the step did not complete in time
#define SPRNN_FAULT_SHARED_MEMORY 3   // launched with less dynamic shared memory than the layout needs
#define SPRNN_FAULT_CLUSTER_WAIT 4    // the cluster peers' blocks of h for the step did not all arrive in time
#define SPRNN_FAULT_CLUSTER_EXIT 5    // a cluster peer did not arrive at the exit barrier in time
#define SPRNN_FAULT_RESIDENT_WAIT 6   // a resident kernel's CTA did not get CTA 0's word for the next step in time
// fault[0] = kind, fault[1] = CTA, fault[2] = step, fault[3] = detail (column, counter value or mbarrier parity)
