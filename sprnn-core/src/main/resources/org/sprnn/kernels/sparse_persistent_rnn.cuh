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
