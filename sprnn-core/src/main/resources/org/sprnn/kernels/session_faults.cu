// session_faults.cu — the last node of a lean streaming session's step (PersistentSession, kind lean): one
// CTA copies the step's fault records, one per layer, from device memory to page-locked host memory mapped into the
// device's address space, and zeroes them for the next step. The host reads the copy after the step's wait, so the step
// needs neither a copy of the records back nor a clearing of them before its launches.
//
// Variants: v1 only. Run: any lean session step (`sprnn bench session --session-kinds lean` on a GPU);
// offline: nvcc -arch=sm_90 -cubin -o /tmp/faults.cubin session_faults.cu
extern "C" __global__ void sprnn_session_faults(int* faults,  // [n] fault records on the device: read, then zeroed
                                                int* out,     // [n] mapped host memory: the records as the step left them
                                                int n) {
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    out[i] = faults[i];
    faults[i] = 0;
  }
}
