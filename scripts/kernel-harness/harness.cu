// harness.cu — standalone check and timing of sparse_persistent_rnn.cu, without Java or the engine.
//
// Loads a layer packed by the library (ExportLayouts.java writes NAME.bin), compiles the kernel in with
// the plan's defines (NAME.defines), draws fresh random x-projections and initial states, poisons the
// outputs, runs all T steps in one launch, compares every output with a float64 CPU reference
// (‖out−ref‖/‖ref‖ over out, h_n, c_n), then times REPS launches with CUDA events after warm-up and
// prints the median µs per step. Exit code 1 on a fault record, a NaN or an error above the tolerance.
//
//   nvcc -O3 -arch=sm_90 -std=c++17 -I<kernels> $(cat NAME.defines) harness.cu -o h && ./h NAME.bin.gz T SEED REPS
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sparse_persistent_rnn.cu"
// -DHARNESS_REG_SLOTS_OVERRIDE=1 with -DSPRNN_REG_SLOTS=R': run a layout with fewer register slots than its plan chose
// (the words are the same; R' splits them between the tiers), for measuring the register/shared split
#ifndef HARNESS_REG_SLOTS_OVERRIDE
#define HARNESS_REG_SLOTS_OVERRIDE 0
#endif

// the cluster exchange: one cluster of every CTA (co-resident by definition); otherwise a cooperative launch, with the
// staging cluster's compile-time dims where SPRNN_STAGE_CLUSTER > 1 (cudaLaunchKernelEx: cooperative attribute)
static cudaError_t launch_kernel(void** args, size_t dyn) {
#if SPRNN_EXCHANGE == 2
  return cudaLaunchKernel((const void*)sparse_persistent_rnn, dim3(SPRNN_CTAS), dim3(THREADS), args, dyn, 0);
#elif SC > 1
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3(SPRNN_CTAS);
  cfg.blockDim = dim3(THREADS);
  cfg.dynamicSmemBytes = dyn;
  cudaLaunchAttribute at[1];
  at[0].id = cudaLaunchAttributeCooperative;
  at[0].val.cooperative = 1;
  cfg.attrs = at;
  cfg.numAttrs = 1;
  return cudaLaunchKernelExC(&cfg, (const void*)sparse_persistent_rnn, args);
#else
  return cudaLaunchCooperativeKernel((const void*)sparse_persistent_rnn, dim3(SPRNN_CTAS), dim3(THREADS), args, dyn, 0);
#endif
}
#define CK(x)                                                                                  \
  do {                                                                                         \
    cudaError_t e_ = (x);                                                                      \
    if (e_ != cudaSuccess) {                                                                   \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(2);                                                                            \
    }                                                                                          \
  } while (0)

template <class T>
static std::vector<T> take(const char*& p, size_t n) {
  std::vector<T> v(n);
  std::memcpy(v.data(), p, n * sizeof(T));
  p += n * sizeof(T);
  return v;
}

static double sigm(double x) { return 1.0 / (1.0 + std::exp(-x)); }

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s NAME.bin [T=256] [seed=1] [reps=20] [fault-test=0]\n", argv[0]);
    return 2;
  }
  const int T = argc > 2 ? std::atoi(argv[2]) : 256;
  const unsigned seed = argc > 3 ? std::atoi(argv[3]) : 1;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 20;
  const int fault_test = argc > 5 ? std::atoi(argv[5]) : 0;
  std::string cmd = std::string("gzip -dc ") + argv[1];
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) { std::perror(argv[1]); return 2; }
  std::vector<char> file;
  char buf[1 << 16];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) file.insert(file.end(), buf, buf + got);
  if (pclose(f) != 0 || file.size() < 64) { std::fprintf(stderr, "cannot read %s\n", argv[1]); return 2; }
  const char* p = file.data();
  auto hdr = take<int>(p, 16);
  const int cell = hdr[2], h = hdr[3], b = hdr[4], pb = hdr[5], ctas = hdr[6], warps = hdr[7], s = hdr[8], r = hdr[9],
            u = hdr[10], ex = hdr[12], g = hdr[13], nnz = hdr[14];
  const size_t smem_java = (size_t)hdr[15];
  if (hdr[0] != 0x53505252 || cell != SPRNN_CELL || h != H || b != B || pb != PB || ctas != SPRNN_CTAS || warps != WARPS ||
      s != S || (r != R && !HARNESS_REG_SLOTS_OVERRIDE) || u != U || ex != SPRNN_EXCHANGE || g != G) {
    std::fprintf(stderr, "layout file does not match the compiled defines\n");
    return 2;
  }
  const int W = ctas * warps;
  auto words = take<unsigned>(p, (size_t)W * S * 32);
#if defined(SPRNN_CTA_TAIL)
  // the CTA tail's row ends: [W] (one row a warp), then each row lane's entries [W][K][32], global warp x 32 + lane of
  // the tail lanes it adds (PackedLayer#packCtaTail, #kernelRowEnds); owner[] maps a tail lane back to its row's warp
  const int tail = SPRNN_CTA_TAIL;
  auto ends = take<int>(p, (size_t)W + (size_t)W * SPRNN_CTA_TAIL_ENTRIES * 32);
  std::vector<int> owner((size_t)W * 32, -1);
  for (size_t i = 0; i < (size_t)W * SPRNN_CTA_TAIL_ENTRIES * 32; ++i)
    if (ends[W + i] >= 0) owner[ends[W + i]] = (int)(i / (SPRNN_CTA_TAIL_ENTRIES * 32));
#elif defined(SPRNN_TAIL_SLOTS)
  // the tail layout's row ends: [W][U*G], then each lane's tail row [W][32] (PackedLayer#kernelRowEnds)
  const int tail = SPRNN_TAIL_SLOTS;
  auto ends = take<int>(p, (size_t)W * U * G + (size_t)W * 32);
#else
  const int tail = 0;
  auto ends = take<int>(p, (size_t)W * U * G);
#endif
  auto units = take<int>(p, (size_t)W * U);
  auto needed = take<int>(p, (size_t)ctas * (H + 1));
  std::vector<int> rowptr, cols;
  std::vector<float> vals;
  if (nnz >= 0) {
    rowptr = take<int>(p, (size_t)G * H + 1);
    cols = take<int>(p, nnz);
    vals = take<float>(p, nnz);
  } else {  // no CSR in the file: rebuild W_hh from the packed words themselves (their rounded values)
    std::vector<std::vector<std::pair<int, float>>> rows((size_t)G * H);
    auto push = [&](int row, unsigned w) {
      if ((int)sprnn_word_column(w) < H) {
        unsigned short bits = (unsigned short)sprnn_word_value_bits(w);
        unsigned sign = (bits >> 15) & 1, e = (bits >> 10) & 31, m = bits & 1023;
        float v = e == 0 ? std::ldexp((float)m, -24) : std::ldexp((float)(m | 1024), (int)e - 25);
        rows[row].push_back({(int)sprnn_word_column(w), sign ? -v : v});
      }
    };
    for (int wp = 0; wp < W; ++wp) {
      for (int j = 0; j < tail; ++j)  // a tail slot's word belongs to its lane's tail row
        for (int l = 0; l < 32; ++l) {
#if defined(SPRNN_CTA_TAIL)
          int o = owner[(size_t)wp * 32 + l];  // the warp whose row adds this lane (one unit a warp, G = 1)
          int unit = o < 0 ? -1 : units[(size_t)o];
          if (unit >= 0) push(unit, words[((size_t)wp * S + j) * 32 + l]);
#else
          int k = ends[(size_t)W * U * G + (size_t)wp * 32 + l];
          int unit = k < 0 ? -1 : units[(size_t)wp * U + k / G];
          if (unit >= 0) push((k % G) * H + unit, words[((size_t)wp * S + j) * 32 + l]);
#endif
        }
      int start = tail;
      for (int i = 0; i < U * G; ++i) {
        int end = ends[(size_t)wp * U * G + i];
        if (end < 0) break;
        int unit = units[(size_t)wp * U + i / G];
        if (unit >= 0)
          for (int j = start; j <= end; ++j)
            for (int l = 0; l < 32; ++l) push((i % G) * H + unit, words[((size_t)wp * S + j) * 32 + l]);
        start = end + 1;
      }
    }
    rowptr.push_back(0);
    for (auto& rw : rows) {
      for (auto& cv : rw) { cols.push_back(cv.first); vals.push_back(cv.second); }
      rowptr.push_back((int)cols.size());
    }
    std::printf("(reference from the packed fp16 words: %zu nonzeros)\n", cols.size());
  }
  const size_t smem = SMEM_BYTES;
  if (smem != smem_java && !HARNESS_REG_SLOTS_OVERRIDE) {
    std::fprintf(stderr, "shared memory: kernel layout %zu B, Java KernelSpec %zu B\n", smem, smem_java);
    return 1;
  }

  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> xproj((size_t)T * B * G * H), bhh((size_t)G * H), h0((size_t)B * H), c0((size_t)B * H);
  for (auto& x : xproj) x = 0.5f * nd(rng);
  for (auto& x : bhh) x = 0.1f * nd(rng);
  for (auto& x : h0) x = 0.5f * nd(rng);
  for (auto& x : c0) x = 0.5f * nd(rng);

  // float64 reference
  std::vector<double> ref((size_t)T * B * H), hr(h0.begin(), h0.end()), cr(c0.begin(), c0.end()), rec((size_t)G * H);
  for (int t = 0; t < T; ++t) {
    std::vector<double> hn((size_t)B * H);
    for (int bb = 0; bb < B; ++bb) {
      for (int row = 0; row < G * H; ++row) {
        double acc = 0;
        for (int k = rowptr[row]; k < rowptr[row + 1]; ++k) acc += (double)vals[k] * hr[(size_t)bb * H + cols[k]];
        rec[row] = acc + bhh[row];
      }
      const float* x = &xproj[((size_t)t * B + bb) * G * H];
      for (int j = 0; j < H; ++j) {
        double hv;
        if (SPRNN_CELL == 0) hv = std::max(0.0, x[j] + rec[j]);
        else if (SPRNN_CELL == 1) hv = std::tanh(x[j] + rec[j]);
        else if (SPRNN_CELL == 2) {
          double rr = sigm(x[j] + rec[j]), z = sigm(x[H + j] + rec[H + j]);
          double n = std::tanh(x[2 * H + j] + rr * rec[2 * H + j]);
          hv = (1 - z) * n + z * hr[(size_t)bb * H + j];
        } else {
          double i = sigm(x[j] + rec[j]), ff = sigm(x[H + j] + rec[H + j]), gg = std::tanh(x[2 * H + j] + rec[2 * H + j]),
                 o = sigm(x[3 * H + j] + rec[3 * H + j]);
          cr[(size_t)bb * H + j] = ff * cr[(size_t)bb * H + j] + i * gg;
          hv = o * std::tanh(cr[(size_t)bb * H + j]);
        }
        hn[(size_t)bb * H + j] = hv;
        ref[((size_t)t * B + bb) * H + j] = hv;
      }
    }
    hr = hn;
  }

  unsigned *d_words, *d_counter;
  int *d_ends, *d_units, *d_needed, *d_fault;
  float *d_x, *d_bhh, *d_h0, *d_c0, *d_out, *d_hn, *d_cn;
  void* d_ex;
  // timestamps: a slot per step ([T][H][PB] fp16, emptied to all ones before every launch); barrier: two 16-byte-aligned halves
  const bool empty_slots = SPRNN_EXCHANGE == 1;
  size_t ex_bytes = SPRNN_EXCHANGE == 1 ? (size_t)T * H * ROW_BYTES : (size_t)2 * EXCH_BUF_BYTES + 16;
  CK(cudaMalloc(&d_words, words.size() * 4));
  CK(cudaMalloc(&d_ends, ends.size() * 4));
  CK(cudaMalloc(&d_units, units.size() * 4));
  CK(cudaMalloc(&d_needed, needed.size() * 4));
  CK(cudaMalloc(&d_x, xproj.size() * 4));
  CK(cudaMalloc(&d_bhh, bhh.size() * 4));
  CK(cudaMalloc(&d_h0, h0.size() * 4));
  CK(cudaMalloc(&d_c0, c0.size() * 4));
  CK(cudaMalloc(&d_out, ref.size() * 4));
  CK(cudaMalloc(&d_hn, h0.size() * 4));
  CK(cudaMalloc(&d_cn, c0.size() * 4));
  CK(cudaMalloc(&d_ex, ex_bytes));
  CK(cudaMalloc(&d_counter, 4096));
  CK(cudaMalloc(&d_fault, 16));
  CK(cudaMemcpy(d_words, words.data(), words.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_ends, ends.data(), ends.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_units, units.data(), units.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_needed, needed.data(), needed.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_x, xproj.data(), xproj.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_bhh, bhh.data(), bhh.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_h0, h0.data(), h0.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_c0, c0.data(), c0.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemset(d_ex, 0, ex_bytes));
  CK(cudaMemset(d_fault, 0, 16));
  CK(cudaFuncSetAttribute(sparse_persistent_rnn, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
#if SPRNN_EXCHANGE == 2
  CK(cudaFuncSetAttribute(sparse_persistent_rnn, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
#endif
  cudaFuncAttributes fa;
  CK(cudaFuncGetAttributes(&fa, sparse_persistent_rnn));
  unsigned long long timeout_ns = 1000000000ull;
  int steps = T;
  auto launch = [&](size_t dyn) {
    CK(cudaMemsetAsync(d_counter, 0, 4096));
    if (empty_slots) CK(cudaMemsetAsync(d_ex, 0xFF, ex_bytes));
    void* args[] = {&d_words, &d_ends, &d_units, &d_needed, &d_x, &d_bhh, &d_h0, &d_c0, &d_out, &d_hn, &d_cn,
                    &d_ex, &d_counter, &d_fault, &steps, &timeout_ns};
    CK(launch_kernel(args, dyn));
  };
  auto check_fault = [&](const char* when) {
    int fr[4];
    CK(cudaMemcpy(fr, d_fault, 16, cudaMemcpyDeviceToHost));
    if (fr[0] != 0) {
      std::printf("FAULT %s: kind %d CTA %d step %d detail %d\n", when, fr[0], fr[1], fr[2], fr[3]);
      return true;
    }
    return false;
  };
  if (fault_test) {  // launched with too little shared memory: the kernel must record it and exit
    launch(smem - 16);
    CK(cudaDeviceSynchronize());
    bool got = check_fault("(expected)");
    std::printf("fault-test %s\n", got ? "PASS" : "FAIL");
    return got ? 0 : 1;
  }

  // correctness: poisoned outputs, one launch
  std::vector<float> poison(ref.size(), std::nanf(""));
  CK(cudaMemcpy(d_out, poison.data(), ref.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_hn, poison.data(), h0.size() * 4, cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d_cn, poison.data(), c0.size() * 4, cudaMemcpyHostToDevice));
  launch(smem);
  CK(cudaGetLastError());
  CK(cudaDeviceSynchronize());
  if (check_fault("correctness launch")) return 1;
  std::vector<float> out(ref.size()), hn(h0.size()), cn(c0.size());
  CK(cudaMemcpy(out.data(), d_out, out.size() * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(hn.data(), d_hn, hn.size() * 4, cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(cn.data(), d_cn, cn.size() * 4, cudaMemcpyDeviceToHost));
  double num = 0, den = 0;
  long nans = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(out[i])) ++nans;
    num += (out[i] - ref[i]) * (out[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  for (size_t i = 0; i < hn.size(); ++i) {
    double rv = hr[i];
    if (!std::isfinite(hn[i])) ++nans;
    num += (hn[i] - rv) * (hn[i] - rv);
    den += rv * rv;
    if (SPRNN_CELL == 3) {
      if (!std::isfinite(cn[i])) ++nans;
      num += (cn[i] - cr[i]) * (cn[i] - cr[i]);
      den += cr[i] * cr[i];
    }
  }
  double rel = std::sqrt(num / std::max(den, 1e-300));
  bool ok = nans == 0 && rel <= 3e-3;

  // timing: warm-up, then REPS launches each between two events
  for (int i = 0; i < 3; ++i) launch(smem);
  CK(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    CK(cudaMemsetAsync(d_counter, 0, 4096));
    CK(cudaEventRecord(e0));
    if (empty_slots) CK(cudaMemsetAsync(d_ex, 0xFF, ex_bytes));  // timed: the engine empties the slots per launch too
    void* args[] = {&d_words, &d_ends, &d_units, &d_needed, &d_x, &d_bhh, &d_h0, &d_c0, &d_out, &d_hn, &d_cn,
                    &d_ex, &d_counter, &d_fault, &steps, &timeout_ns};
    CK(launch_kernel(args, smem));
    CK(cudaEventRecord(e1));
    CK(cudaEventSynchronize(e1));
    float m;
    CK(cudaEventElapsedTime(&m, e0, e1));
    ms.push_back(m);
  }
  if (check_fault("timing")) return 1;
#if SPRNN_TRACE
  if (T >= SPRNN_TRACE_T0 + 32) {  // the last timing launch's timeline (the kernel's TRACE points), means over CTAs x steps
    const int NP = 8, TN = 32;
    std::vector<unsigned long long> tr((size_t)SPRNN_CTAS * TN * NP);
    CK(cudaMemcpyFromSymbol(tr.data(), sprnn_trace, tr.size() * 8));
    auto at = [&](int c, int t, int p) { return (double)tr[((size_t)c * TN + t) * NP + p]; };
    const char* names[] = {"top->staged", "arith(w0)", "cell(w0)", "sync+arrive", "poll", "issue+sync", "->next top"};
    std::printf("TRACE %s ns, mean over CTAs x steps:", argv[1]);
    double step = 0;
    for (int q = 0; q < 7; ++q) {
      double sum = 0; long n = 0;
      for (int c = 0; c < SPRNN_CTAS; ++c)
        for (int t = 1; t < TN - 1; ++t) { sum += (q < 6 ? at(c, t, q + 1) : at(c, t + 1, 0)) - at(c, t, q); ++n; }
      std::printf(" %s=%.0f", names[q], sum / n);
      step += sum / n;
    }
    // across CTAs: the spread of arrivals, the last arrival to each CTA's poll done, poll done to the next step's data
    double skew = 0, lat = 0, stage = 0; long n = 0, m = 0;
    for (int t = 1; t < TN - 1; ++t) {
      double last = 0, first = 1e300;
      for (int c = 0; c < SPRNN_CTAS; ++c) { last = std::max(last, at(c, t, 4)); first = std::min(first, at(c, t, 4)); }
      skew += last - first; ++m;
      for (int c = 0; c < SPRNN_CTAS; ++c) { lat += at(c, t, 5) - last; stage += at(c, t + 1, 1) - at(c, t, 5); ++n; }
    }
    std::printf(" | step=%.0f arrivalSpread=%.0f lastArrival->pollDone=%.0f pollDone->nextStaged=%.0f", step, skew / m, lat / n, stage / n);
    // the spread of staged times across CTAs, and within each CTA the spread of its warps' arithmetic ends
    std::vector<unsigned long long> tw((size_t)SPRNN_CTAS * TN * 32);
    CK(cudaMemcpyFromSymbol(tw.data(), sprnn_trace_warp, tw.size() * 8));
    double stagedSpread = 0, warpSpread = 0, slowestWarp = 0, ctaWork = 0, ctaWorkMax = 0;
    for (int t = 1; t < TN - 1; ++t) {
      double lo = 1e300, hi = 0, wmax = 0;
      for (int c = 0; c < SPRNN_CTAS; ++c) {
        lo = std::min(lo, at(c, t, 1)); hi = std::max(hi, at(c, t, 1));
        double a = 1e300, b = 0;
        for (int w = 0; w < WARPS; ++w) { double v = (double)tw[((size_t)c * TN + t) * 32 + w]; a = std::min(a, v); b = std::max(b, v); }
        warpSpread += b - a; slowestWarp += b - at(c, t, 1); wmax = std::max(wmax, b - at(c, t, 1));
      }
      stagedSpread += hi - lo; ctaWorkMax += wmax;
    }
    const double k = TN - 2;
    std::printf(" stagedSpread=%.0f warpEndSpread=%.0f staged->slowestWarp=%.0f (max over CTAs %.0f)\n", stagedSpread / k,
                warpSpread / (k * SPRNN_CTAS), slowestWarp / (k * SPRNN_CTAS), ctaWorkMax / k);
  }
#endif
  std::sort(ms.begin(), ms.end());
  double med = ms[ms.size() / 2] * 1000.0 / T, lo = ms.front() * 1000.0 / T, hi = ms.back() * 1000.0 / T;
  std::printf("RESULT %s cell=%d H=%d B=%d ctas=%d warps=%d S=%d R=%d ex=%d sc=%d wide=%d only=%d regs=%d local=%zu smem=%zu T=%d "
              "relerr=%.3e nans=%ld %s us/step median=%.3f min=%.3f max=%.3f\n",
              argv[1], SPRNN_CELL, H, B, SPRNN_CTAS, WARPS, S, R, SPRNN_EXCHANGE, SC, SPRNN_WIDE_LOADS, SPRNN_EXCHANGE_ONLY,
              fa.numRegs, fa.localSizeBytes, smem, T, rel, nans, (ok || SPRNN_EXCHANGE_ONLY) ? "PASS" : "FAIL", med, lo, hi);
  return (ok || SPRNN_EXCHANGE_ONLY) ? 0 : 1;
}
