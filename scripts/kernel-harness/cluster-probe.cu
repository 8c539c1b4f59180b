// cluster-probe.cu — on the GPU machine: can a cooperative launch (grid-wide co-residency) use thread-block clusters,
// and how many clusters of 2 / 4 CTAs fit at one CTA per SM? nvcc -arch=sm_90 -o probe cluster-probe.cu && ./probe
#include <cstdio>
#include <cuda_runtime.h>
#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { std::printf("  %s -> %s\n", #x, cudaGetErrorString(e)); } } while (0)

// `rounds` grid barriers on counter[0]: they deadlock unless the whole grid is co-resident (bounded: counter[1] = 1)
__device__ void grid_barriers(unsigned* counter, int rounds) {
  extern __shared__ unsigned char smem[];
  smem[threadIdx.x] = 1;
  for (int r = 1; r <= rounds; ++r) {
    __syncthreads();
    if (threadIdx.x == 0) {
      atomicAdd(counter, 1u);
      unsigned long long start = clock64();
      while (*(volatile unsigned*)counter < r * gridDim.x) if (clock64() - start > 4000000000ull) { counter[1] = 1; break; }
    }
    __syncthreads();
  }
}
__global__ void __cluster_dims__(2, 1, 1) k2(unsigned* counter, int rounds) { grid_barriers(counter, rounds); }
__global__ void kx(unsigned* counter, int rounds) {  // the cluster shape from the launch; records CTA 1's rank
  unsigned rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
  grid_barriers(counter, rounds);
  if (threadIdx.x == 0 && blockIdx.x == 1) counter[2] = rank + 100;
}

int main() {
  int sms; CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  const size_t smem = 200 * 1024;
  unsigned* d; CK(cudaMalloc(&d, 64));
  CK(cudaFuncSetAttribute(k2, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  CK(cudaFuncSetAttribute(kx, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
  CK(cudaFuncSetAttribute(kx, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  for (int c : {2, 4, 8}) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(sms); cfg.blockDim = dim3(512); cfg.dynamicSmemBytes = smem;
    cudaLaunchAttribute at[1]; at[0].id = cudaLaunchAttributeClusterDimension; at[0].val.clusterDim.x = c; at[0].val.clusterDim.y = 1; at[0].val.clusterDim.z = 1;
    cfg.attrs = at; cfg.numAttrs = 1;
    int n = -1; CK(cudaOccupancyMaxActiveClusters(&n, (void*)kx, &cfg));
    std::printf("SMs %d, one CTA per SM (200 KB smem, 512 threads): max active clusters of %d = %d (%d CTAs)\n", sms, c, n, n * c);
  }
  // 1: compile-time cluster dims + cudaLaunchCooperativeKernel
  int grid = sms - sms % 2; int rounds = 1000;
  CK(cudaMemset(d, 0, 64));
  void* args[] = {&d, &rounds};
  std::printf("cooperative launch, __cluster_dims__(2), %d CTAs:\n", grid);
  CK(cudaLaunchCooperativeKernel((void*)k2, dim3(grid), dim3(512), args, smem, 0));
  CK(cudaDeviceSynchronize());
  unsigned h[3]; CK(cudaMemcpy(h, d, 12, cudaMemcpyDeviceToHost));
  std::printf("  counter %u (want %u), timeout flag %u\n", h[0], grid * rounds, h[1]);
  // 2: cudaLaunchKernelEx with cooperative + cluster dimension attributes
  for (int c : {2, 4}) {
    int g = sms - sms % c;
    CK(cudaMemset(d, 0, 64));
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(g); cfg.blockDim = dim3(512); cfg.dynamicSmemBytes = smem;
    cudaLaunchAttribute at[2];
    at[0].id = cudaLaunchAttributeClusterDimension; at[0].val.clusterDim.x = c; at[0].val.clusterDim.y = 1; at[0].val.clusterDim.z = 1;
    at[1].id = cudaLaunchAttributeCooperative; at[1].val.cooperative = 1;
    cfg.attrs = at; cfg.numAttrs = 2;
    std::printf("cudaLaunchKernelEx cooperative + cluster %d, %d CTAs:\n", c, g);
    CK(cudaLaunchKernelEx(&cfg, kx, d, rounds));
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(h, d, 12, cudaMemcpyDeviceToHost));
    std::printf("  counter %u (want %u), timeout flag %u, rank of CTA 1 %d\n", h[0], g * rounds, h[1], (int)h[2] - 100);
  }
  return 0;
}
