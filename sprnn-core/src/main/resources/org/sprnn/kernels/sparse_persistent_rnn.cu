// sparse_persistent_rnn.cu — the sparse persistent RNN kernel (Zhu et al., ICLR 2018), for Hopper.
//
// One launch runs every timestep of one layer. W_hh stays on-chip for the whole sequence as packed
// 32-bit words (fp16/bf16 value + u16 column, sparse_persistent_rnn.cuh), dealt by the host
// (org.sprnn.sparse.PackedLayer) to warps, lane x slot; each warp computes one row at a time, its 32
// lanes splitting the row's nonzeros, a shuffle reduction finishing the row. The gate rows of a hidden
// unit sit in one warp, so the cell update needs no extra exchange; only h_t moves between CTAs.
//
// Variants, in rising sophistication (each a field of org.sprnn.plan.KernelSpec; the host-only ones change
// the packed data, not this code). Build the engine's kernel for a layer (here H 5760, batch 4, 10%) from the
// repository root, after `mvn -pl sprnn-core compile` (SpecDefines prints KernelSpec#defineOptions of several layers):
//   nvcc -arch=sm_90 -cubin -std=c++17 -Xptxas -v -o /tmp/sp.cubin $(java -cp sprnn-core/target/classes \
//     scripts/kernel-harness/cubins/SpecDefines.java | grep -m1 relu_h5760 | cut -d' ' -f3-) \
//     sprnn-core/src/main/resources/org/sprnn/kernels/sparse_persistent_rnn.cu
// and run it standalone through scripts/kernel-harness (README.md there), or in the engine cuda-sparse-persistent.
//   v1 naive        SPRNN_WIDE_LOADS=0, natural order, SPRNN_EXCHANGE=0 (grid barrier), naive split:
//                   the CPU reference's row loop with the row's nonzeros across lanes; one 2-byte
//                   shared-memory load per nonzero and batch element; h_t via global memory + grid barrier.
//   v2 wide loads   SPRNN_WIDE_LOADS=1: activations [H][B] batch innermost, one 4/8/16-byte load brings a
//                   column's whole batch, the weight reused B times from a register.
//   v3 bank-aware   (host) each row's nonzeros ordered so a warp load's columns hit distinct banks.
//   v4 timestamps   SPRNN_EXCHANGE=1: each unit's h values travel in words written whole by one store, in a slot per
//                   step (never reused in a launch) that the host empties before the launch, so a word's first fp16
//                   is its tag (0xFFFF: not yet written); consumers poll only the columns they need,
//                   SPRNN_POLL_BATCH words in flight per thread, re-polling all pending ones together.
//   v5 balance      (host) units dealt to warps by slot count (LPT), not by index.
//   v6 cluster      SPRNN_EXCHANGE=2: the layer in one thread-block cluster (<= 16 SMs); each CTA pushes its
//                   contiguous block of h_t into every other CTA's shared memory with st.async (16 bytes),
//                   completing on the receiver's mbarrier: no fence and no cluster barrier per step
//                   (SPRNN_CLUSTER_MBARRIER=0: plain DSMEM stores + barrier.cluster, for comparison).
//   always on       x projection loaded a step ahead; SPRNN_LOAD_AHEAD activation loads issued before use;
//                   out[t] stored after the exchange is signalled; grid barrier = release add + acquire spin;
//                   polled words, row sums, activation loads by explicit shared addresses; both weight tiers in one
//                   unrolled slot loop (the shared tier's words loaded a group ahead); row ends compiled in (equal
//                   rows, below) or as warp-uniform bits in registers tested once per group of slots (never for a warp
//                   of one row).
//   grid barrier    one act buffer (staging starts only after every CTA has left the step); above 40 KB of h per
//                   CTA (KernelSpec#stageCluster) clusters stage h by TMA multicast, each rank 1/SC of it
//                   (SPRNN_STAGE_CLUSTER=SC, SPRNN_STAGE_ASYNC=2): pairs on every SM, or clusters of 8 on the CTAs
//                   such clusters can hold, which the planner prefers (results/kernel/session5/README.md).
//   full warps      SPRNN_UNIFORM_SLOTS: every warp's rows fill all S slots, so no padding-tail test per slot group.
//   equal rows      SPRNN_ROW_SLOTS=L: every warp's U*G > 1 rows take L slots each, so the row ends are compiled in and
//                   the slot loop is one basic block; else the group's row-end bits, made warp-uniform by redux.sync,
//                   are tested once per group of slots. Each measured faster than the run-time test it replaced
//                   (results/kernel/session6/README.md).
//   unequal rows    SPRNN_TAIL_SLOTS=T with SPRNN_ROW_SLOTS=L: rows as pruning leaves them keep the compiled row ends:
//                   each warp's first T slots a tail its rows share lane by lane (a lane's T words all of one row,
//                   tail_row), then every row L slots; a row's sums start from its tail lanes' by a select, no reduction
//                   of their own (org.sprnn.sparse.PackedLayer#packTail, which picks L and T per layer).
//   one-row warps   SPRNN_CTA_TAIL=T with SPRNN_CTA_TAIL_ENTRIES=K, for warps of one row (U*G = 1) of unequal length:
//                   every warp's first T slots a tail the CTA's rows share lane by lane (a lane's T words all of one
//                   row of the CTA), then its own row; each lane leaves its tail sums in shared memory, one CTA barrier,
//                   and each row starts from the sums of its tail lanes, K a lane (csrc), before its own slots
//                   (org.sprnn.sparse.PackedLayer#packCtaTail): the longest row no longer sets every warp's slots.
//   measured, off   SPRNN_BARRIER_FLAGS (all-to-all flags), SPRNN_STAGE_ASYNC alone (cp.async / one TMA bulk copy per
//                   CTA), SPRNN_STAGE_PHASES (the bulk copy in pieces), SPRNN_POLL_SLEEP_NS: each slower or no faster
//                   on the H100 (results/kernel/session2/README.md, results/kernel/session4/README.md); ideas built
//                   in full and dropped are kept as patches (results/kernel/abandoned/README.md).
//   measured        each variant's step time on the H100, v1 to all on, and the exchange-only floor: the ablation,
//                   results/kernel/ABLATION.md.
//   floor           SPRNN_EXCHANGE_ONLY=1: skips the sparse arithmetic, keeps the exchange (the floor).
//   lengths         SPRNN_LENGTHS=1: sequences of different lengths in the one launch (PyTorch's packed sequences):
//                   two more arguments, `lengths` (int32 [B], each sequence's length) and `step0` (the launch's
//                   first step in the sequence); from its sequence's end on, a batch column keeps its h (and c),
//                   publishes that unchanged h and writes zero outputs, while the other columns go on, so h_n/c_n
//                   are each sequence's state at its own last step. Every step still runs for the whole batch.
//   resident       SPRNN_RESIDENT=1 (grid barrier, SC 1, no lengths; a streaming session's kernel, PersistentSession's
//                   `resident` kind): one launch serves the steps a host posts, one at a time, until it is idle for
//                   idle_ns, is told to close, or has run SPRNN_RESIDENT_MAX_STEPS; the weights stay on-chip between
//                   steps. Each step first stages h_{t-1} and computes W_hh h_{t-1} (no input needed: done before
//                   the host posts the step); then CTA 0 polls `posted` (page-locked host memory; SPRNN_RESIDENT_POLLERS) until
//                   the host has posted global step first_step + t, CTA 0 copies that step's input from the host's
//                   ring (x_host) to x_dev and hands the step on through the device word `go`, which the other CTAs'
//                   thread 0 poll (from batch 4, SPRNN_RESIDENT_COPIERS CTAs each poll and copy a slice, counted in
//                   go[0]); then the CTA computes its rows of the input projection (W_ih x_t + b_ih, fp32: with W_ih's
//                   rows and x_t in shared memory, a warp a group of SPRNN_RESIDENT_PROJ_ROWS rows through x_t in
//                   one pass, or x_t in chunks of SPRNN_RESIDENT_X_CHUNK columns where it does not fit, the sums to
//                   the owning lanes through shared memory; else each warp its own rows, every lane a slice of the
//                   row, a shuffle sum leaving the sum in every lane), so no
//                   other kernel has to run beside this one; the cell update and exchange run as usual, the outputs go
//                   to the host's ring (`out`, mapped), and each CTA writes its count of steps done into its own
//                   `done` word for the host, which waits for all of them. On leaving, h_n and c_n hold the state after the last step done, from which the host
//                   launches again.
//
// Every spin is bounded by timeout_ns of %globaltimer (the cluster's exit wait by 2 x timeout_ns); on timeout
// the CTA records {kind, CTA, step, detail} in `fault` and every CTA leaves (the cluster's through the bounded
// exit wait, so no CTA's shared memory goes while a peer may still write it); the host reads the record and throws.
//
// Cell math (cell_math.cuh, shared with rnn_cell_update.cu): gates through sigmoid_approx_f32 (__expf, at most
// 1.3e-5 relative, far below the fp16 rounding of h; the header says why) and CUDA's precise tanhf.
//
// Defines (all required unless noted): SPRNN_CELL 0 relu 1 tanh 2 gru 3 lstm; SPRNN_HIDDEN H;
// SPRNN_BATCH B; SPRNN_PADDED_BATCH PB (pow2 >= 2, >= B, <= 32); SPRNN_CTAS; SPRNN_WARPS (per CTA);
// SPRNN_SLOTS S; SPRNN_REG_SLOTS R (<= S); SPRNN_UNITS_PER_WARP U; SPRNN_WIDE_LOADS; SPRNN_EXCHANGE;
// SPRNN_BF16; SPRNN_EXCHANGE_ONLY (optional, 0); SPRNN_LENGTHS (optional, 0); SPRNN_ROW_SLOTS, SPRNN_TAIL_SLOTS (optional).
#include "sparse_persistent_rnn.cuh"
#include "cell_math.cuh"  // sigmoid_approx_f32 and the fp16/bf16 conversions

#ifndef SPRNN_EXCHANGE_ONLY
#define SPRNN_EXCHANGE_ONLY 0
#endif
// Per-sequence lengths (the `lengths`, `step0` arguments): see "lengths" above. 0 compiles the kernel without them.
#ifndef SPRNN_LENGTHS
#define SPRNN_LENGTHS 0
#endif
// Fault injection, for the fault-path check only (SparsePersistentEngine's stall hook, kernel-check --full):
// CTA SPRNN_STALL_CTA leaves the step loop at step SPRNN_STALL_STEP of every launch as if it had hung, publishing
// nothing more, so its consumers' bounded waits must record the fault. -1: off (every engine kernel).
#ifndef SPRNN_STALL_CTA
#define SPRNN_STALL_CTA -1
#endif
#ifndef SPRNN_STALL_STEP
#define SPRNN_STALL_STEP 0
#endif
// Resident session kernel (see "resident" above). 0 compiles the kernel without it.
#ifndef SPRNN_RESIDENT
#define SPRNN_RESIDENT 0
#endif
// The most steps one resident launch serves (then it leaves and the host launches it again), so that the grid
// barrier's arrival count, (t + 1) x CTAS, stays within 32 bits.
#define SPRNN_RESIDENT_MAX_STEPS (1 << 24)
// The `done` words: one int32 a CTA, padded to whole 64-byte lines (ResidentSession's control buffer has the same).
#define RES_DONE_WORDS ((SPRNN_CTAS + 15) / 16 * 16)
// Measurement only (ResidentSession's trace, SPRNN_RESIDENT_TRACE_FILE): %globaltimer at 8 points of every step, into
// page-locked host memory just past the `done` words ([ring][8] u64): 0 CTA 0 sees the step posted, 1 CTA 0 hands it
// on, 2 the last CTA sees the hand-on, 3 CTA 0's warp 0 and 4 the last CTA's warp 0 have projected, 5 CTA 0 has
// finished the step's arithmetic and exchange, 6 CTA 0 begins its done fence, 7 CTA 0's done word is written.
#ifndef SPRNN_RESIDENT_TRACE
#define SPRNN_RESIDENT_TRACE 0
#endif
// Resident kernel: each warp keeps its rows of W_ih (fp32) in shared memory for the whole launch, read from there at
// every step instead of from L2/HBM (21 MB a step at 2304: the projection was the step's longest phase). The value is
// the input size I (compiled in: it sizes the shared memory); 0 = W_ih from global memory. PersistentLayers compiles
// it where the rows and x_t fit beside the rest of the plan's shared memory.
#ifndef SPRNN_RESIDENT_WIH_SMEM
#define SPRNN_RESIDENT_WIH_SMEM 0
#endif
// ... and x_t too (one trip to L2 a step, then shared memory); 0: each warp reads x_t from L2 (where W_ih fits, x not)
#ifndef SPRNN_RESIDENT_X_SMEM
#define SPRNN_RESIDENT_X_SMEM 1
#endif
// ... or, where x_t does not fit beside W_ih (SPRNN_RESIDENT_X_SMEM=0), in chunks of this many float4 columns ([B][chunk]
// float4 in shared memory: one trip to L2 a chunk, all of the CTA's loads in flight at once), the grouped projection
// summing each chunk's part into the sums; 0: each lane reads x_t from L2 as it goes (bound by L2 latency: 12 µs of
// projection at 2304 x 4 on the H100, results/suite/session17).
#ifndef SPRNN_RESIDENT_X_CHUNK
#define SPRNN_RESIDENT_X_CHUNK 0
#endif
// ... and the projection by groups of this many of the CTA's rows a warp (fewer where rows x batch > 8), each x_t load
// serving all of them (the
// projection is bound by shared-memory bandwidth: a row alone reads as many bytes of x as of W_ih), the sums through
// shared memory and one CTA barrier to the lanes that own them; 0: each warp its own rows, each row its own x loads.
// Only where x_t is in shared memory: read from L2 (2304 x 4) the loop is bound by L2 latency, and fewer warps with
// loads in flight measured slower (kernel span 21.8 against 20.4 µs, results/suite/session17).
#ifndef SPRNN_RESIDENT_PROJ_ROWS
#define SPRNN_RESIDENT_PROJ_ROWS 4
#endif
// Resident kernel: CTA 0's warps that poll `posted`, lane 0 of each, warp k starting k x SPRNN_RESIDENT_STAGGER_NS
// after warp 0 (__nanosleep: roughly), each on its own copy of the word (the host writes RES_POSTED_COPIES copies,
// RES_POSTED_STRIDE ints apart: one L2 line each, so that no poll is merged with another's in flight): a post is seen
// a fraction of a bus round trip after it lands, not half a trip on average: an experiment, off (1) by default, as the
// CTA's barrier after the poll waits for every poller's read in flight, up to 3/4 of a trip more. Each poll is an acquire load at system
// scope (SPRNN_RESIDENT_POLL_ACQUIRE; 0: volatile polls, then one fence.acq_rel.sys, which also waits for the CTA's
// earlier system-scope stores).
#define RES_POSTED_COPIES 4
#define RES_POSTED_STRIDE 32
#ifndef SPRNN_RESIDENT_POLLERS
#define SPRNN_RESIDENT_POLLERS 1
#endif
#ifndef SPRNN_RESIDENT_STAGGER_NS
#define SPRNN_RESIDENT_STAGGER_NS 250
#endif
#ifndef SPRNN_RESIDENT_POLL_ACQUIRE
#define SPRNN_RESIDENT_POLL_ACQUIRE 1
#endif
// Resident kernel: CTAs 0 .. SPRNN_RESIDENT_COPIERS - 1 each poll the post (copy c % RES_POSTED_COPIES of the word)
// and copy a slice of x_t across the bus, each then adding 1 to go[0] (release); every CTA waits until go[0] counts all
// slices of the step (or CTA 0's go[1] says leave: CTA 0 alone decides to leave, so no step runs without its slice).
// One SM's reads of host memory came in at about 9 GB/s on the H100 (x_t of 2304 x 4 took 6.4 µs against 3.6 at
// batch 1): the slices' reads are in flight from several SMs at once. 1: CTA 0 alone, handing on through go[0].
// Default: 8 from batch 4, else 1.
#ifndef SPRNN_RESIDENT_COPIERS
// measured (results/suite/session17): at 2304 x 4 the copy 4.00 -> 2.78 µs with 8, the step's kernel span 21.8 -> 19.3;
// at batch 1 no faster (7.10 / 7.04 / 6.88 µs with 1 / 4 / 8), so one there
#define SPRNN_RESIDENT_COPIERS (SPRNN_BATCH >= 4 ? (SPRNN_CTAS < 8 ? SPRNN_CTAS : 8) : 1)
#endif
#if SPRNN_RESIDENT && (SPRNN_RESIDENT_COPIERS < 1 || SPRNN_RESIDENT_COPIERS > SPRNN_CTAS || SPRNN_RESIDENT_COPIERS > 64)
#error "SPRNN_RESIDENT_COPIERS: 1 to min(CTAS, 64)"
#endif
#if SPRNN_RESIDENT && (SPRNN_RESIDENT_POLLERS < 1 || SPRNN_RESIDENT_POLLERS > RES_POSTED_COPIES)
#error "SPRNN_RESIDENT_POLLERS: 1 to RES_POSTED_COPIES"
#endif
#if SPRNN_RESIDENT && SPRNN_RESIDENT_TRACE
#define RTRACE(i, who)                                                                                  \
  if (who) {                                                                                            \
    reinterpret_cast<volatile unsigned long long*>(const_cast<int*>(done) + RES_DONE_WORDS)[(size_t)slot * 8 + (i)] = global_timer(); \
  }
#else
#define RTRACE(i, who)
#endif
// Cluster exchange signal: 1 = asynchronous DSMEM stores (st.async) completing on the receiver's mbarrier
// (no fence, no cluster barrier per step); 0 = plain DSMEM stores + barrier.cluster (release/acquire).
#ifndef SPRNN_CLUSTER_MBARRIER
#define SPRNN_CLUSTER_MBARRIER 1
#endif
// Timestamped exchange: words each thread polls with loads in flight together (default below, once the word size is known).
// Grid barrier: 1 = fence.sc before the release add (belt and braces); 0 = the release add alone.
#ifndef SPRNN_BARRIER_FENCE
#define SPRNN_BARRIER_FENCE 0
#endif
// Grid barrier: how h_{t-1} is staged into shared memory. 2 = one bulk copy (TMA, cp.async.bulk) issued by
// thread 0 the moment its barrier spin ends, completing on an mbarrier the CTA waits on (sm_90); 1 = cp.async,
// every 16-byte copy of a thread in flight at once; 0 = a load/store loop (one L2 round trip per iteration).
#ifndef SPRNN_STAGE_ASYNC
#define SPRNN_STAGE_ASYNC 0
#endif
// Grid barrier, SPRNN_STAGE_ASYNC=0: 16-byte loads each thread keeps in flight while staging h_{t-1}; 6, the fastest
// of 2, 4 and 6 at H 5760 (results/kernel/session3/README.md).
#ifndef SPRNN_STAGE_BATCH
#define SPRNN_STAGE_BATCH 6
#endif
// Grid barrier: 1 = all-to-all flags (each CTA release-stores its step count into its own word of `counter`,
// threads 0..CTAS-1 each acquire-poll one producer's word: no contended atomic, CTAS pollers in parallel);
// 0 = one arrival counter (release add, thread 0 acquire-spins). `counter` holds >= CTAS words either way.
#ifndef SPRNN_BARRIER_FLAGS
#define SPRNN_BARRIER_FLAGS 0
#endif
// Grid barrier with bulk staging (SPRNN_STAGE_ASYNC=2): CTAs of a thread-block cluster that share the staging of h_{t-1}
// (1: each CTA copies all of h itself). With C > 1, rank r of each cluster copies the r-th of C parts of h with a TMA
// multicast bulk copy into every CTA of its cluster, so each rank issues 1/C of the bytes: where each CTA stages a lot
// (H 5760) faster than one whole copy per CTA, than the 16-byte load loop and than pushing the loop's chunks to the
// peers with st.async (results/kernel/session4/README.md). A CTA leaves only after its peers (bounded), as the cluster
// exchange does.
#ifndef SPRNN_STAGE_CLUSTER
#define SPRNN_STAGE_CLUSTER 1
#endif
#define SC SPRNN_STAGE_CLUSTER
#if SC > 1 && (SPRNN_EXCHANGE != 0 || SPRNN_STAGE_ASYNC != 2 || SPRNN_CTAS % SC != 0 || SC > 16)
#error "SPRNN_STAGE_CLUSTER > 1 needs the grid barrier, SPRNN_STAGE_ASYNC=2 and SPRNN_CTAS a multiple of it (<= 16)"
#endif
// Bulk staging: h in SPRNN_STAGE_PHASES column ranges, each its own bulk copies (issued by as many lanes of warp 0)
// completing on its own mbarrier, all waited for at the step's top (harness only: 2 to 16 phases were no faster,
// results/kernel/session4/README.md; the engine uses 1). Phase p covers columns [STAGE_COL(p), STAGE_COL(p + 1)), cut at 16-byte
// boundaries of act; bytes beyond the last whole 16 are staged by every CTA's own loads at the step's top.
#ifndef SPRNN_STAGE_PHASES
#define SPRNN_STAGE_PHASES 1
#endif
#define SP SPRNN_STAGE_PHASES
#if SP > 1 && SPRNN_STAGE_ASYNC != 2
#error "SPRNN_STAGE_PHASES > 1 needs SPRNN_STAGE_ASYNC=2"
#endif
#if SP < 1 || SP > 32
#error "SPRNN_STAGE_PHASES must be in [1, 32]"
#endif
// Grid barrier: 0 = one act buffer for every step (a CTA stages h_{t-1} only after every CTA has finished step t-1, so
// nothing reads the buffer then, and its address is loop-invariant in the slot loop: faster at H 5760); 1 = act[t & 1],
// as the other exchanges. The multicast staging keeps two: a peer's copy into this CTA's buffer is ordered after this
// CTA's reads only through the grid barrier's release/acquire, which compute-sanitizer's racecheck does not follow (it
// reports the single buffer's reads and the peer's writes as hazards; with two buffers it reports none, at about one
// buffer's time; results/kernel/session4/README.md).
#ifndef SPRNN_ACT_DOUBLE
#define SPRNN_ACT_DOUBLE (SC > 1)
#endif
// Every warp's rows fill all S slots (PackedLayer: the same slots per lane for every warp): the slot loop needs no
// test for the warp's padding tail.
#ifndef SPRNN_UNIFORM_SLOTS
#define SPRNN_UNIFORM_SLOTS 0
#endif
// Measurement only (the harness): thread 0 of every CTA records %globaltimer at 7 points of each step in
// [SPRNN_TRACE_T0, SPRNN_TRACE_T0 + 32) into sprnn_trace[CTA][step][point], and lane 0 of every warp the end of its
// arithmetic into sprnn_trace_warp[CTA][step][warp]; the harness reads both back.
#ifndef SPRNN_TRACE
#define SPRNN_TRACE 0
#endif
#ifndef SPRNN_TRACE_T0
#define SPRNN_TRACE_T0 64
#endif
#if SPRNN_TRACE
__device__ unsigned long long sprnn_trace[SPRNN_CTAS * 32 * 8];
__device__ unsigned long long sprnn_trace_warp[SPRNN_CTAS * 32 * 32];
#define TRACE_AT(array, index, who)                                                                       \
  if ((who) && t >= SPRNN_TRACE_T0 && t < SPRNN_TRACE_T0 + 32) {                                          \
    unsigned long long now_;                                                                              \
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now_));                                             \
    array[index] = now_;                                                                                  \
  }
#define TRACE(i) TRACE_AT(sprnn_trace, (cta * 32 + t - SPRNN_TRACE_T0) * 8 + (i), threadIdx.x == 0)
#define TRACE_WARP() TRACE_AT(sprnn_trace_warp, (cta * 32 + t - SPRNN_TRACE_T0) * 32 + (threadIdx.x >> 5), (threadIdx.x & 31) == 0)
#else
#define TRACE(i)
#define TRACE_WARP()
#endif
// Measurement only (the harness's exchange-only floor without the staging): the bulk staging copies nothing.
#ifndef SPRNN_MEASURE_SKIP_STAGE
#define SPRNN_MEASURE_SKIP_STAGE 0
#endif
// Timestamped exchange: nanoseconds a polling thread sleeps between re-polls of its pending words (0: none),
// so that waiting consumers do not flood L2 with polls while the producers still compute.
#ifndef SPRNN_POLL_SLEEP_NS
#define SPRNN_POLL_SLEEP_NS 0
#endif

#define H SPRNN_HIDDEN
#define B SPRNN_BATCH
#define PB SPRNN_PADDED_BATCH
#define WARPS SPRNN_WARPS
#define S SPRNN_SLOTS
#define R SPRNN_REG_SLOTS
#define U SPRNN_UNITS_PER_WARP
#define G (SPRNN_CELL == 2 ? 3 : (SPRNN_CELL == 3 ? 4 : 1))
#define THREADS (WARPS * 32)
#define ROW_BYTES (PB * 2)
#define PAIRS (PB / 2)                             // fp16 pairs per column: the unit of publishing
#define ITEMS ((U * PAIRS + 31) / 32)              // (unit, pair) items per lane in the cell update
// Dense mode (SPRNN_DENSE=1: cuda-dense-persistent, org.sprnn.sparse.PackedLayer#packDense): the same kernel with
// W_hh dense. Each 32-bit word holds two weights of adjacent columns and no column: bits 0-15 column 2q, bits 16-31
// column 2q+1 (fp16, or bf16 with SPRNN_BF16) for word q of its row, dealt lane-major (lane q % 32, slot q / 32 of
// the row's slots), so every row takes DENSE_ROW_SLOTS = ceil(H / 64) slots, zero weights past H. A lane's columns
// follow from its slot and lane alone: one contiguous load of 2 x ROW_BYTES per word, a warp's loads bank-conflict
// free by construction. Every warp holds U units (padding units are zero rows), S = U*G*DENSE_ROW_SLOTS, so the row
// ends are compiled in (SPRNN_ROW_SLOTS, set here when U*G > 1). act has 64 zero columns above H (ceil(H/64)*64 < H+64).
// Exchange, cell update, staging and fault handling are the sparse kernel's.
#ifndef SPRNN_DENSE
#define SPRNN_DENSE 0
#endif
#if SPRNN_DENSE
#define DENSE_ROW_SLOTS ((H + 63) / 64)
#define ZERO_COLS (2 * SPRNN_ZERO_COLUMNS)
#define ACT_H (H + SPRNN_ZERO_COLUMNS)  // the act layout of SPRNN_SMEM_ACT_BYTES with the 32 more zero columns
#if !SPRNN_WIDE_LOADS || !SPRNN_UNIFORM_SLOTS || S != U * G * DENSE_ROW_SLOTS
#error "SPRNN_DENSE needs SPRNN_WIDE_LOADS=1, SPRNN_UNIFORM_SLOTS=1 and SPRNN_SLOTS = U * G * ceil(H / 64)"
#endif
#if U * G > 1 && !defined(SPRNN_ROW_SLOTS)
#define SPRNN_ROW_SLOTS DENSE_ROW_SLOTS
#endif
#if U * G > 1 && SPRNN_ROW_SLOTS != DENSE_ROW_SLOTS
#error "SPRNN_DENSE: SPRNN_ROW_SLOTS must be ceil(H / 64)"
#endif
// a dense word's activations are 2 x PB fp16 (PB registers): fewer loads in flight at the widest batches
#if !defined(SPRNN_LOAD_AHEAD) && PB >= 16
#define SPRNN_LOAD_AHEAD 2
#endif
#else
#define ZERO_COLS SPRNN_ZERO_COLUMNS
#define ACT_H H
#endif
// Equal rows: SPRNN_ROW_SLOTS=L when every warp holds U*G > 1 rows of exactly L slots each (rows of equal slot counts,
// e.g. N nonzeros a row), every warp full, so row k of every warp ends at slot (k+1)L-1 and S = U*G*L. The row ends are
// then compile-time facts of the unrolled slot loop: no end_bits, no per-group test and branch, the whole loop one basic
// block that ptxas schedules across groups.
// Rows as pruning leaves them (SPRNN_TAIL_SLOTS=T with SPRNN_ROW_SLOTS=L): the warp's first T slots are a tail shared
// by its rows lane by lane (each lane's T words all belong to one row of the warp, tail_row, from the kernel's row_ends
// after every warp's ends: -1 for a lane of padding), then row k's first 32L words in slots T + kL .. T + (k+1)L - 1,
// its ends compiled in as for equal rows; S = T + U*G*L. A row's accumulators start from its tail lanes' sums (a
// select per batch column), so the tail costs no reduction of its own and rows of unequal length keep the one-block
// slot loop (org.sprnn.sparse.PackedLayer#packTail).
#ifdef SPRNN_TAIL_SLOTS
#define TAIL SPRNN_TAIL_SLOTS
#if TAIL < 1 || !defined(SPRNN_ROW_SLOTS) || U * G < 2
#error "SPRNN_TAIL_SLOTS needs SPRNN_ROW_SLOTS and more than one row a warp"
#endif
#else
#define TAIL 0
#endif
// SPRNN_TAIL_SMEM=1 (KernelSpec#tailSmem, an experiment, 0 by default): a lane keeps its tail sums in shared memory
// ([WARPS][PB][32] fp32 after the tier-2 words: lane-consecutive, no bank conflict) instead of PB registers live through
// the whole slot loop, and each row start reads them back: fewer registers where the tail kernel sits at the limit (127
// of 128 at H 5760 against 124 for equal rows).
#ifndef SPRNN_TAIL_SMEM
#define SPRNN_TAIL_SMEM 0
#endif
// A tail the CTA's one-row warps share (SPRNN_CTA_TAIL=T, SPRNN_CTA_TAIL_ENTRIES=K): the warp's first T slots hold,
// lane by lane, T words of one row of the CTA (any warp's); after slot T - 1 each lane stores its sums to
// ctail[t & 1][.][warp x 32 + lane] and the CTA meets at a barrier; then each lane of a row's warp adds up to K of those entries
// (csrc: the CTA-local index warp * 32 + lane of a tail lane of its row, -1 none, from the kernel's row_ends after
// every warp's end, there as global warp * 32 + lane) and goes on with the row's own slots T .. S - 1, so the row's reduction sums its tail too. The
// double buffer by step parity: step t + 2's stores follow step t + 1's barrier, which every lane reaches after step
// t's reads.
#ifdef SPRNN_CTA_TAIL
#define CTAIL SPRNN_CTA_TAIL
#define CTAIL_K SPRNN_CTA_TAIL_ENTRIES
#if CTAIL < 1 || CTAIL >= S || U * G != 1 || CTAIL_K < 1 || CTAIL_K > 8 || defined(SPRNN_TAIL_SLOTS) || defined(SPRNN_ROW_SLOTS)
#error "SPRNN_CTA_TAIL needs one row a warp, 1 <= SPRNN_CTA_TAIL < SPRNN_SLOTS, SPRNN_CTA_TAIL_ENTRIES in 1..8, no warp tail"
#endif
#else
#define CTAIL 0
#endif
#ifdef SPRNN_ROW_SLOTS
#define SHARED_ENDS 1
#if SPRNN_ROW_SLOTS < 1 || SPRNN_ROW_SLOTS * U * G + TAIL != S
#error "SPRNN_TAIL_SLOTS + SPRNN_ROW_SLOTS x rows per warp must be SPRNN_SLOTS"
#endif
#define SHARED_ROW_END(j) ((j) >= TAIL && ((j) - TAIL) % SPRNN_ROW_SLOTS == SPRNN_ROW_SLOTS - 1 && (j) < TAIL + SPRNN_ROW_SLOTS * U * G)
#else
#define SHARED_ENDS 0
#endif
// Timestamped exchange word: a unit's whole padded batch up to 4 fp16 (one u32 at PB = 2, one u64 at PB = 4), else
// PB/4 u64 words per unit, each written whole by one store. The step is the slot (a slot per step, never reused in a
// launch) and the host empties every slot (all ones) before each launch, so a word's first fp16 doubles as its tag:
// 0xFFFF, a NaN the producer never writes, means not yet written this launch. Half the bytes of a u64 word holding a
// 32-bit step tag beside one fp16 pair (the former protocol), and faster at every size measured
// (results/kernel/session3/README.md).
#define EX_WORDS_PER_UNIT (PB == 2 ? 1 : PB / 4)
// Polls in flight per thread: 4 while a thread polls at most 8 words a step (fewer polls pending per re-poll measured
// faster at H 1152 and 2304, batch 4), else 8 (faster at H 5760; results/kernel/session3/README.md).
#ifndef SPRNN_POLL_BATCH
#define SPRNN_POLL_BATCH (H * EX_WORDS_PER_UNIT > 8 * THREADS ? 8 : 4)
#endif
// one activation buffer, padded to 16 bytes so that act[1] (and its 16-byte pushes, copies and wide loads) stays
// aligned for every H and PB (unpadded, H = 97 at PB = 2 put act[1] at byte 516: misaligned address)
#define ACT_BUF_BYTES ((int)SPRNN_ALIGN16((ACT_H + SPRNN_ZERO_COLUMNS) * ROW_BYTES))
// bulk staging phases: columns per 16 bytes of act, the first column of phase p, the phase's bytes (whole 16s only)
#define STAGE_COLS16 (ROW_BYTES >= 16 ? 1 : 16 / ROW_BYTES)
#define STAGE_COL(p) ((p) >= SP ? H : (H * (p) / SP) / STAGE_COLS16 * STAGE_COLS16)
#define STAGE_BYTE(p) (STAGE_COL(p) * ROW_BYTES < H * ROW_BYTES / 16 * 16 ? STAGE_COL(p) * ROW_BYTES : H * ROW_BYTES / 16 * 16)
// grid barrier: one half of the global h exchange (fp16 [H][PB]), padded to 16 bytes for the same reason
#define EXCH_BUF_BYTES ((size_t)SPRNN_ALIGN16(H * ROW_BYTES))
#define OFF_PREACT SPRNN_SMEM_ACT_BYTES(ACT_H, PB)
#define OFF_TIER2 (OFF_PREACT + SPRNN_SMEM_PREACT_BYTES(WARPS, U, G, PB))
#define OFF_CTAIL (OFF_TIER2 + SPRNN_SMEM_TIER2_BYTES(WARPS, S, R))
#define SMEM_BYTES (SPRNN_SMEM_BYTES(ACT_H, PB, WARPS, U, G, S, R) + (CTAIL ? SPRNN_SMEM_CTAIL_BYTES(WARPS, PB) \
                                                                         : TAIL && SPRNN_TAIL_SMEM ? SPRNN_SMEM_CTAIL_BYTES(WARPS, PB) / 2 : 0ull))
// the resident kernel's W_ih rows ([WARPS][U*G][I] fp32) and x_t ([B][I] fp32) past the rest (SPRNN_RESIDENT_WIH_SMEM)
#if SPRNN_RESIDENT && SPRNN_RESIDENT_WIH_SMEM
#define RES_I SPRNN_RESIDENT_WIH_SMEM
#if RES_I % 4 != 0
#error "SPRNN_RESIDENT_WIH_SMEM: the input size must be a multiple of 4"
#endif
#define OFF_RES_WIH SPRNN_ALIGN16(SMEM_BYTES)
// then the projection's sums ([WARPS * U * G][B] fp32, rounded up to 16 bytes: SPRNN_RESIDENT_PROJ_ROWS), then x_t
#define RES_PROJ_FLOATS ((WARPS * U * G * B + 3) / 4 * 4)
#define OFF_RES_PROJ (OFF_RES_WIH + (unsigned long long)WARPS * U * G * RES_I * 4)
#define OFF_RES_X (OFF_RES_PROJ + (unsigned long long)RES_PROJ_FLOATS * 4)
#define SMEM_NEEDED (OFF_RES_X + (SPRNN_RESIDENT_X_SMEM ? (unsigned long long)B * RES_I * 4 \
                                  : (unsigned long long)B * SPRNN_RESIDENT_X_CHUNK * 16))
#if !SPRNN_RESIDENT_X_SMEM && SPRNN_RESIDENT_X_CHUNK > 0 && SPRNN_RESIDENT_X_CHUNK < 32
#error "SPRNN_RESIDENT_X_CHUNK: at least 32 float4 columns (it serves the grouped projection, SPRNN_RESIDENT_PROJ_ROWS)"
#endif
#else
#define SMEM_NEEDED SMEM_BYTES
#endif

#if PB < 2 || PB > 32 || (PB & (PB - 1)) != 0 || PB < B
#error "SPRNN_PADDED_BATCH must be a power of two in [2, 32] and >= SPRNN_BATCH"
#endif
#if R > S
#error "SPRNN_REG_SLOTS must be <= SPRNN_SLOTS"
#endif

// ---- small PTX helpers (no CUDA headers, so NVRTC needs no include path) ------------------------------
// A packed word's 16 value bits → fp32: bf16 with SPRNN_BF16, else fp16 (activations are always fp16).
__device__ __forceinline__ float weight_bits_to_f32(unsigned bits) {
#if SPRNN_BF16
  return bf16_bits_to_f32(bits);
#else
  return half_bits_to_f32((unsigned short)bits);
#endif
}
__device__ __forceinline__ unsigned long long global_timer() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}
__device__ __forceinline__ unsigned long long load_relaxed_u64(const unsigned long long* p) {
  unsigned long long v;
  asm volatile("ld.relaxed.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ void store_relaxed_u64(unsigned long long* p, unsigned long long v) {
  asm volatile("st.relaxed.gpu.global.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}
#if PB == 2
typedef unsigned ExWord;
__device__ __forceinline__ ExWord ex_load_relaxed(const ExWord* p) {
  unsigned v;
  asm volatile("ld.relaxed.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ void ex_store_relaxed(ExWord* p, ExWord v) {
  asm volatile("st.relaxed.gpu.global.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ void ex_store_shared(unsigned addr, ExWord v) {
  asm volatile("st.shared.u32 [%0], %1;" ::"r"(addr), "r"(v) : "memory");
}
#else
typedef unsigned long long ExWord;
__device__ __forceinline__ ExWord ex_load_relaxed(const ExWord* p) { return load_relaxed_u64(p); }
__device__ __forceinline__ void ex_store_relaxed(ExWord* p, ExWord v) { store_relaxed_u64(p, v); }
__device__ __forceinline__ void ex_store_shared(unsigned addr, ExWord v) {
  asm volatile("st.shared.u64 [%0], %1;" ::"r"(addr), "l"(v) : "memory");
}
#endif
__device__ __forceinline__ bool ex_empty(ExWord v) { return ((unsigned)v & 0xFFFFu) == 0xFFFFu; }
// the word of fp16 pairs lo (first) and hi; a first value of 0xFFFF (a NaN) becomes 0x7FFF (a NaN) so the
// word never reads as empty
__device__ __forceinline__ ExWord ex_word_of(unsigned lo, unsigned hi) {
  if ((lo & 0xFFFFu) == 0xFFFFu) lo ^= 0x8000u;
#if PB == 2
  return lo;
#else
  return ((unsigned long long)hi << 32) | lo;
#endif
}
__device__ __forceinline__ unsigned load_acquire_u32(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ int load_acquire_sys_int(const int* p) {  // a word the host writes (page-locked memory)
  int v;
  asm volatile("ld.acquire.sys.global.b32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
// Copies src[lo, hi) to dst[lo, hi) (float4 units where vec4, else floats) with the CTA's threads, K loads of each
// thread in flight at once: one trip across the bus a round, not one a load (the resident kernel's x_t).
template <int K, int NT>
__device__ __forceinline__ void copy_in_rounds(const float* src, float* dst, int lo, int hi, bool vec4) {
  if (vec4) {
#pragma unroll 1
    for (int base = lo; base < hi; base += K * NT) {
      float4 v[K];
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const int i = base + k * NT + (int)threadIdx.x;
        if (i < hi) v[k] = __ldcv(reinterpret_cast<const float4*>(src) + i);
      }
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const int i = base + k * NT + (int)threadIdx.x;
        if (i < hi) reinterpret_cast<float4*>(dst)[i] = v[k];
      }
    }
  } else {
#pragma unroll 1
    for (int base = lo; base < hi; base += K * NT) {
      float v[K];
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const int i = base + k * NT + (int)threadIdx.x;
        if (i < hi) v[k] = __ldcv(src + i);
      }
#pragma unroll
      for (int k = 0; k < K; ++k) {
        const int i = base + k * NT + (int)threadIdx.x;
        if (i < hi) dst[i] = v[k];
      }
    }
  }
}
__device__ __forceinline__ void store_release_u32(unsigned* p, unsigned v) {
  asm volatile("st.release.gpu.global.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ void add_release_u32(unsigned* p, unsigned v) {
  asm volatile("red.release.gpu.global.add.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ void mbar_init(unsigned bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_arrive_expect_tx(unsigned bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ bool mbar_try_wait(unsigned bar, unsigned parity) {
  unsigned ok;
  asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
               : "=r"(ok) : "r"(bar), "r"(parity) : "memory");
  return ok != 0;
}
__device__ __forceinline__ void st_shared_u32(unsigned addr, unsigned v) {
  asm volatile("st.shared.u32 [%0], %1;" ::"r"(addr), "r"(v) : "memory");
}
__device__ __forceinline__ void st_shared_f32(unsigned addr, float v) {
  asm volatile("st.shared.f32 [%0], %1;" ::"r"(addr), "f"(v) : "memory");
}
__device__ __forceinline__ float ld_shared_f32(unsigned addr) {
  float v;
  asm volatile("ld.shared.f32 %0, [%1];" : "=f"(v) : "r"(addr) : "memory");
  return v;
}
// The row sums (preact) by explicit shared-memory address: NVRTC otherwise emits generic accesses with an
// address-window conversion on the step's critical path (results/kernel/session2/README.md).
#define PREACT_STORE(i, v) st_shared_f32(preact_s + 4u * (unsigned)(i), v)
#define PREACT_LOAD(i) ld_shared_f32(preact_s + 4u * (unsigned)(i))
__device__ __forceinline__ int load_volatile_int(const int* p) { return *(const volatile int*)p; }

__device__ void record_fault(int* fault, int kind, int cta, int step, int detail) {
  if (atomicCAS(&fault[0], 0, kind) == 0) {
    fault[1] = cta;
    fault[2] = step;
    fault[3] = detail;
    __threadfence();
  }
}
// Waits for the phase of parity `parity` of this CTA's mbarrier `bar`, bounded: true once it has completed; false after
// timeout_ns, or once another CTA has recorded a fault (looked at every `poll_mask + 1` spins), with {kind, CTA, step,
// detail} recorded.
__device__ __forceinline__ bool mbar_wait_bounded(unsigned bar, unsigned parity, unsigned poll_mask, int* fault, int kind,
                                                  int cta, int step, int detail, unsigned long long timeout_ns) {
  if (mbar_try_wait(bar, parity)) return true;
  const unsigned long long start = global_timer();
  unsigned spins = 0;
  while (!mbar_try_wait(bar, parity)) {
    if (global_timer() - start > timeout_ns || ((++spins & poll_mask) == 0 && load_volatile_int(fault) != 0)) {
      record_fault(fault, kind, cta, step, detail);
      return false;
    }
  }
  return true;
}
// Cluster exit: arrive on the mbarrier at shared::cluster address `bar` of another CTA (release at cluster
// scope), and wait for this CTA's own with acquire at cluster scope.
__device__ __forceinline__ void mbar_arrive_remote(unsigned bar) {
  asm volatile("mbarrier.arrive.release.cluster.shared::cluster.b64 _, [%0];" ::"r"(bar) : "memory");
}
__device__ __forceinline__ bool mbar_try_wait_cluster(unsigned bar, unsigned parity) {
  unsigned ok;
  asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
               : "=r"(ok) : "r"(bar), "r"(parity) : "memory");
  return ok != 0;
}

// No CTA of a cluster leaves while a peer may still address its shared memory: once every thread of this CTA has
// issued its last remote access (bar.sync), thread 0 arrives on each peer's exit mbarrier (`exit_bar`, one arrival
// from each of the other ranks completes it), then waits for every peer's arrival on its own, bounded by 2 x timeout_ns
// (a peer that gave up on a step waits up to timeout_ns before it arrives).
__device__ __forceinline__ void cluster_exit(unsigned exit_bar, unsigned my_rank, unsigned ranks, int* fault, int cta,
                                             int steps, unsigned long long timeout_ns) {
  __syncthreads();
  if (threadIdx.x == 0 && ranks > 1) {
    for (unsigned r = 0; r < ranks; ++r) {
      if (r == my_rank) continue;
      unsigned remote;
      asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(exit_bar), "r"(r));
      mbar_arrive_remote(remote);
    }
    if (!mbar_try_wait_cluster(exit_bar, 0)) {
      const unsigned long long start = global_timer();
      while (!mbar_try_wait_cluster(exit_bar, 0)) {
        if (global_timer() - start > 2 * timeout_ns) {
          record_fault(fault, SPRNN_FAULT_CLUSTER_EXIT, cta, steps, -1);
          break;  // leaves anyway: a peer that never arrives is stuck, and the host throws
        }
      }
    }
  }
  __syncthreads();
}

// Sum N values per lane over the warp (N a power of two <= 32): halving levels first (each lane keeps half
// its values and sends the other half), then plain levels. After it lane l holds the sum of value index
// l / (32 / N): N values cost N-1 + (5 - log2 N) shuffles at a dependency depth of 5.
template <int N, int OFF>
struct HalvingLevel {  // one level, unrolled by template recursion so every index stays compile-time
  static __device__ __forceinline__ void run(float* v, int lane) {
    const bool hi = (lane & OFF) != 0;
#pragma unroll
    for (int i = 0; i < N / 2; ++i) {
      const float send = hi ? v[i] : v[i + N / 2];
      const float keep = hi ? v[i + N / 2] : v[i];
      v[i] = keep + __shfl_xor_sync(0xffffffffu, send, OFF);
    }
    HalvingLevel<N / 2, OFF / 2>::run(v, lane);
  }
};
template <int OFF>
struct HalvingLevel<1, OFF> {
  static __device__ __forceinline__ void run(float* v, int) {
#pragma unroll
    for (int off = OFF; off >= 1; off >>= 1) v[0] += __shfl_xor_sync(0xffffffffu, v[0], off);
  }
};
template <int N>
__device__ __forceinline__ float reduce_tree(float (&v)[N], int lane) {
  HalvingLevel<N, 16>::run(v, lane);
  return v[0];
}

__device__ __forceinline__ float reduce_rows(float (&acc)[PB], int lane) {
  float v[PB];
#pragma unroll
  for (int i = 0; i < PB; ++i) v[i] = acc[i];
  return reduce_tree<PB>(v, lane);
}

// With SPRNN_DEFER_REDUCE the row sums wait in registers (stash[row][b], filled by selects at each row end)
// and one tree over all U*G*PB values reduces every row of the warp at once.
#ifndef SPRNN_DEFER_REDUCE
#define SPRNN_DEFER_REDUCE 0
#endif
#define STASH_VALUES (U * G * PB)
#if SPRNN_DEFER_REDUCE && STASH_VALUES <= 32
#define DEFER 1
#define STASH_N (STASH_VALUES <= 2 ? 2 : STASH_VALUES <= 4 ? 4 : STASH_VALUES <= 8 ? 8 : STASH_VALUES <= 16 ? 16 : 32)
#else
#define DEFER 0
#endif

#if !SPRNN_DENSE
// One nonzero's activations for the whole (padded) batch, as loaded from shared memory.
struct ActRaw {
#if SPRNN_WIDE_LOADS
#if PB == 2
  unsigned v;  // one 4-byte load
#elif PB == 4
  uint2 v;  // one 8-byte load
#else
  uint4 v[PB / 8];  // 16-byte loads
#endif
#else
  unsigned short v[B];  // one 2-byte load per batch element
#endif
};

// The wide loads of 2 and 4 fp16 by explicit shared address (this step's buffer + the column's offset): through the
// generic pointer the compiler multiplied the buffer index into every load's address, measurably slower
// (results/kernel/session3/README.md).
__device__ __forceinline__ ActRaw load_act(unsigned w, const unsigned char* actb, unsigned actb_s) {
  const unsigned off = sprnn_word_column(w) * ROW_BYTES;
  ActRaw r;
#if SPRNN_WIDE_LOADS
#if PB == 2
  asm volatile("ld.shared.u32 %0, [%1];" : "=r"(r.v) : "r"(actb_s + off));
#elif PB == 4
  asm volatile("ld.shared.v2.u32 {%0, %1}, [%2];" : "=r"(r.v.x), "=r"(r.v.y) : "r"(actb_s + off));
#else
#pragma unroll
  for (int q = 0; q < PB / 8; ++q) r.v[q] = *reinterpret_cast<const uint4*>(actb + off + 16 * q);
#endif
#else
#pragma unroll
  for (int b = 0; b < B; ++b) r.v[b] = *reinterpret_cast<const unsigned short*>(actb + off + 2 * b);
#endif
  return r;
}

// acc[b] += value(w) * act[column(w)][b]
__device__ __forceinline__ void fma_act(unsigned w, const ActRaw& r, float (&acc)[PB]) {
  const float v = weight_bits_to_f32(sprnn_word_value_bits(w));
#if SPRNN_WIDE_LOADS
#if PB == 2
  float a0, a1;
  half2_bits_to_f32x2(r.v, a0, a1);
  acc[0] = fmaf(v, a0, acc[0]);
  acc[1] = fmaf(v, a1, acc[1]);
#elif PB == 4
  float a0, a1, a2, a3;
  half2_bits_to_f32x2(r.v.x, a0, a1);
  half2_bits_to_f32x2(r.v.y, a2, a3);
  acc[0] = fmaf(v, a0, acc[0]);
  acc[1] = fmaf(v, a1, acc[1]);
  acc[2] = fmaf(v, a2, acc[2]);
  acc[3] = fmaf(v, a3, acc[3]);
#else
#pragma unroll
  for (int q = 0; q < PB / 8; ++q) {
    float a[8];
    half2_bits_to_f32x2(r.v[q].x, a[0], a[1]);
    half2_bits_to_f32x2(r.v[q].y, a[2], a[3]);
    half2_bits_to_f32x2(r.v[q].z, a[4], a[5]);
    half2_bits_to_f32x2(r.v[q].w, a[6], a[7]);
#pragma unroll
    for (int e = 0; e < 8; ++e) acc[8 * q + e] = fmaf(v, a[e], acc[8 * q + e]);
  }
#endif
#else
#pragma unroll
  for (int b = 0; b < B; ++b) acc[b] = fmaf(v, half_bits_to_f32(r.v[b]), acc[b]);
#endif
}
#else
// A dense word's activations: columns 2q and 2q+1, each its whole padded batch (v[0 .. PB/2) column 2q's fp16
// pairs, v[PB/2 .. PB) column 2q+1's), from one contiguous 4 x PB-byte span.
struct ActRaw {
  unsigned v[PB];
};

// The activations of row-local slot k of this lane: columns 2 (32 k + lane) and the next, by explicit shared address;
// the 32 lanes read 64 consecutive columns, so the warp's load takes the fewest wavefronts its bytes allow.
__device__ __forceinline__ ActRaw load_act_dense(int k, int lane, unsigned actb_s) {
  const unsigned addr = actb_s + (unsigned)((64 * k + 2 * lane) * ROW_BYTES);
  ActRaw r;
#if PB == 2
  asm volatile("ld.shared.v2.u32 {%0, %1}, [%2];" : "=r"(r.v[0]), "=r"(r.v[1]) : "r"(addr));
#else
#pragma unroll
  for (int q = 0; q < PB / 4; ++q)
    asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r.v[4 * q]), "=r"(r.v[4 * q + 1]), "=r"(r.v[4 * q + 2]), "=r"(r.v[4 * q + 3]) : "r"(addr + 16u * q));
#endif
  return r;
}

// acc[b] += lo(w) * act[2q][b] + hi(w) * act[2q+1][b]
__device__ __forceinline__ void fma_act(unsigned w, const ActRaw& r, float (&acc)[PB]) {
  float w0, w1;
#if SPRNN_BF16
  w0 = bf16_bits_to_f32(sprnn_dense_lo_bits(w));
  w1 = bf16_bits_to_f32(sprnn_dense_hi_bits(w));
#else
  half2_bits_to_f32x2(w, w0, w1);
#endif
#pragma unroll
  for (int i = 0; i < PB / 2; ++i) {
    float a0, a1;
    half2_bits_to_f32x2(r.v[i], a0, a1);
    acc[2 * i] = fmaf(w0, a0, acc[2 * i]);
    acc[2 * i + 1] = fmaf(w0, a1, acc[2 * i + 1]);
  }
#pragma unroll
  for (int i = 0; i < PB / 2; ++i) {
    float a0, a1;
    half2_bits_to_f32x2(r.v[PB / 2 + i], a0, a1);
    acc[2 * i] = fmaf(w1, a0, acc[2 * i]);
    acc[2 * i + 1] = fmaf(w1, a1, acc[2 * i + 1]);
  }
}
#endif

// Slots whose activation loads are issued together before any is used (branches at row ends would
// otherwise serialise one shared-memory latency per slot). 4: no spill at H 5760, where 8 spills and 8 and 16 run slower
// (results/kernel/session3/README.md). 2 for warps of one row (sparse): their padding tail is skipped a group at a
// time, and at relu 2304 / 30% / batch 4 on the H100 2 was faster for rows of equal length (2.08 / 2.05 µs a step
// against 2.14 / 2.12) and far faster for rows as magnitude pruning leaves them (2.25 / 2.24 against 2.44 / 2.43); no
// difference measured at 1152 / 10%; 1 slower (results/suite/session18/README.md).
#ifndef SPRNN_LOAD_AHEAD
#if U * G == 1 && !SPRNN_DENSE
#define SPRNN_LOAD_AHEAD 2
#else
#define SPRNN_LOAD_AHEAD 4
#endif
#endif

#if 32 % SPRNN_LOAD_AHEAD != 0
#error "SPRNN_LOAD_AHEAD must divide 32"
#endif

// Row complete: reduce over the warp (or stash for the deferred tree), move to the next row.
#if DEFER
__device__ __forceinline__ void finish_row(float (&acc)[PB], float (&stash)[STASH_N], int& row) {
#pragma unroll
  for (int r = 0; r < U * G; ++r)
#pragma unroll
    for (int b = 0; b < PB; ++b) stash[r * PB + b] = (row == r) ? acc[b] : stash[r * PB + b];
#pragma unroll
  for (int b = 0; b < PB; ++b) acc[b] = 0.f;
  ++row;
}
#else
__device__ __forceinline__ void finish_row(float (&acc)[PB], unsigned preact_s, int& row, int lane) {
  const float sum = reduce_rows(acc, lane);
  if ((lane & (32 / PB - 1)) == 0) PREACT_STORE(row * PB + lane / (32 / PB), sum);
#pragma unroll
  for (int b = 0; b < PB; ++b) acc[b] = 0.f;
  ++row;
}
#endif

extern "C" __global__ void __launch_bounds__(THREADS, 1)
#if SPRNN_EXCHANGE == 2
    __cluster_dims__(SPRNN_CTAS, 1, 1)
#elif SC > 1
    __cluster_dims__(SC, 1, 1)
#endif
    sparse_persistent_rnn(const unsigned* __restrict__ words,    // [CTAS*WARPS][S][32] packed words
                          const int* __restrict__ row_ends,      // [CTAS*WARPS][U*G] last slot of each row, -1 pad
                          const int* __restrict__ warp_units,    // [CTAS*WARPS][U] hidden units, -1 pad
                          const int* __restrict__ needed,        // [CTAS][H+1]: count, then columns (timestamps)
#if SPRNN_RESIDENT
                          float* xproj,                          // unused: each warp projects its own items into registers
#else
                          const float* __restrict__ xproj,       // [T][B][G*H] W_ih x_t + b_ih, fp32
#endif
                          const float* __restrict__ bias_hh,     // [G*H] b_hh, fp32
                          const float* __restrict__ h0,          // [B][H] fp32
                          const float* __restrict__ c0,          // [B][H] fp32 (LSTM; else unused)
                          float* __restrict__ out,               // [T][B][H] fp32: h_t for every t
                          float* __restrict__ h_n,               // [B][H] fp32
                          float* __restrict__ c_n,               // [B][H] fp32 (LSTM; else unused)
                          void* exchange,                        // barrier: fp16 [2][pad16(H*PB*2) B]; timestamps: ExWord [T][H][EX_WORDS_PER_UNIT], all ones = empty
                          unsigned* counter,                     // barrier: arrivals, zeroed by the host per launch
                          int* fault,                            // int32 [4], see sparse_persistent_rnn.cuh
                          int steps, unsigned long long timeout_ns
#if SPRNN_LENGTHS
                          ,
                          const int* __restrict__ lengths,       // [B] each sequence's length in steps (1..T)
                          int step0                              // this launch's first step in the sequence
#endif
#if SPRNN_RESIDENT  // xproj is then unused (the kernel projects x_t itself), out a mapped ring [ring][B][H]
                          ,
                          const float* __restrict__ w_ih,        // [G*H][I] fp32 row-major
                          const float* __restrict__ b_ih,        // [G*H] fp32
                          const float* x_host,                   // [ring][B][I] fp32, page-locked host memory: the steps
                          float* x_dev,                          // [ring][B][I] fp32: the copies (CTA 0's, or the copiers' slices)
                          const volatile int* posted,            // host memory: steps posted in all; negative: close
                          volatile int* done,                    // host memory [CTAS]: each CTA's steps finished in all
                          int* go,                               // hand-on: steps posted once x is in x_dev, -1 leave (COPIERS > 1: [0] slices, [1] leave)
                          int first_step,                        // steps done before this launch
                          int ring,                              // ring slots (step n is in slot n % ring)
                          int input_size,                        // I
                          unsigned long long idle_ns             // CTA 0 leaves after this long with no step posted
#endif
                          ) {
#if SPRNN_RESIDENT && (SPRNN_EXCHANGE != 0 || SC > 1 || SPRNN_STAGE_ASYNC == 2 || SPRNN_LENGTHS)
#error "SPRNN_RESIDENT needs the grid barrier (SPRNN_EXCHANGE=0) without bulk staging (a copy for a step never run would outlive the CTA), and no lengths"
#endif
  extern __shared__ __align__(16) unsigned char smem[];
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int cta = blockIdx.x;
  const int gw = cta * WARPS + warp;  // global warp index into the packed arrays
  float* preact = reinterpret_cast<float*>(smem + OFF_PREACT) + warp * (U * G * PB);  // [U*G][PB]
  const unsigned preact_s = (unsigned)__cvta_generic_to_shared(preact);                 // the same, as a shared address
#if SPRNN_EXCHANGE != 2
  __shared__ int abort_flag;  // set by a thread whose bounded spin ran out; the CTA leaves together
#endif

  {
    unsigned dyn;
    asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));
    if (dyn < SMEM_NEEDED) {
      if (threadIdx.x == 0) record_fault(fault, SPRNN_FAULT_SHARED_MEMORY, cta, -1, (int)dyn);
      return;  // uniform over the CTA (and every CTA): no barrier is reached
    }
  }
#if SPRNN_EXCHANGE != 2
  if (threadIdx.x == 0) abort_flag = 0;
#endif
#if SPRNN_EXCHANGE == 0 && SPRNN_STAGE_ASYNC == 2
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#error "SPRNN_STAGE_ASYNC=2 (bulk copy) and SPRNN_STAGE_CLUSTER need sm_90"
#endif
  // stage_mbar[p] completes when phase p of h_{t-1} has landed in act[t & 1] (its phase k: the staging for step
  // k + 1): the bulk copies' bytes (every rank's of the cluster); one arrival (the issuing lane's expect_tx)
  __shared__ __align__(8) unsigned long long stage_mbar[SP];
  const unsigned stage_bar = (unsigned)__cvta_generic_to_shared(&stage_mbar[0]);  // phase p's: stage_bar + 8 p
  if (threadIdx.x == 0) {
    for (int p = 0; p < SP; ++p) mbar_init(stage_bar + 8u * p, 1);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");  // visible to the async proxy and the cluster
  }
#endif
#if SC > 1
  unsigned my_rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(my_rank));
  // exit_mbar: completes when every peer has left its step loop (one remote arrival each); see the end
  __shared__ __align__(8) unsigned long long exit_mbar;
  const unsigned exit_bar = (unsigned)__cvta_generic_to_shared(&exit_mbar);
  if (threadIdx.x == 0) {
    mbar_init(exit_bar, SC - 1);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
#endif

  // ---- resident weights: register tier (compile-time indexed) and shared tier -------------------------
  unsigned wreg[R > 0 ? R : 1];
#pragma unroll
  for (int j = 0; j < R; ++j) wreg[j] = words[((size_t)gw * S + j) * 32 + lane];
#if S > R
  unsigned* tier2 = reinterpret_cast<unsigned*>(smem + OFF_TIER2) + warp * ((S - R) * 32);  // [S-R][32]
  for (int j = R; j < S; ++j) tier2[(j - R) * 32 + lane] = words[((size_t)gw * S + j) * 32 + lane];
#endif
  int last_end = -1;
  for (int i = 0; i < U * G; ++i) last_end = max(last_end, row_ends[(size_t)gw * U * G + i]);
#if TAIL
  const int tail_row = row_ends[(size_t)SPRNN_CTAS * WARPS * U * G + (size_t)gw * 32 + lane];  // this lane's tail row, -1 none
#endif
#if CTAIL
  int csrc[CTAIL_K];  // the CTA-local tail lanes (warp * 32 + lane) whose sums this lane adds to its row, -1 none
#pragma unroll
  for (int k = 0; k < CTAIL_K; ++k) {
    const int g = row_ends[(size_t)SPRNN_CTAS * WARPS + ((size_t)gw * CTAIL_K + k) * 32 + lane];  // global warp * 32 + lane
    csrc[k] = g >= 0 ? g - cta * WARPS * 32 : -1;
  }
  // [2][PB/2][WARPS x 32] float2: a lane's batch pair b/2 of step parity p at ctail2[(p * PB/2 + b/2) * WARPS * 32 + lane
  // index], so that the lanes of a warp store, and a row's lanes (consecutive tail lanes) load, without bank conflicts
  float2* const ctail2 = reinterpret_cast<float2*>(smem + OFF_CTAIL);
#endif
#if U * G > 1 && !SHARED_ENDS
  // the warp's row ends as bits (bit j of word j/32: a row ends at slot j), so that the unrolled slot loop tests a
  // register instead of waiting on a load after each row; every row has >= 1 slot (PackedLayer). A warp of one row
  // needs none: its row ends in the last group.
  unsigned end_bits[S > 0 ? (S + 31) / 32 : 1];
#pragma unroll
  for (int w = 0; w < (S > 0 ? (S + 31) / 32 : 1); ++w) {
    unsigned bits = 0;
    for (int i = 0; i < U * G; ++i) {
      const int e = row_ends[(size_t)gw * U * G + i];
      if (e >= 32 * w && e < 32 * w + 32 && e < S) bits |= 1u << (e - 32 * w);
    }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    // through redux.sync (the same value in every lane), so that ptxas holds the bits in uniform registers and the
    // per-group row-end branch is a uniform one, faster on rows of equal and of varied length
    // (results/kernel/session6/README.md)
    asm("redux.sync.or.b32 %0, %1, 0xffffffff;" : "=r"(bits) : "r"(bits));
#endif
    end_bits[w] = bits;
  }
#endif

  // ---- this lane's (unit, pair) items of the cell update, their state in registers ---------------------
  int item_unit[ITEMS], item_row[ITEMS], item_pair[ITEMS];
  float hs[ITEMS][2], cs[ITEMS][2], bh[ITEMS][G];
#pragma unroll
  for (int k = 0; k < ITEMS; ++k) {
    int i = lane + 32 * k;
    int slot = i / PAIRS;
    item_unit[k] = (i < U * PAIRS) ? warp_units[(size_t)gw * U + slot] : -1;
    item_row[k] = slot * G;
    item_pair[k] = i % PAIRS;
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      int b = 2 * item_pair[k] + e;
      hs[k][e] = (item_unit[k] >= 0 && b < B) ? h0[b * H + item_unit[k]] : 0.f;
      cs[k][e] = (SPRNN_CELL == 3 && item_unit[k] >= 0 && b < B) ? c0[b * H + item_unit[k]] : 0.f;
    }
#pragma unroll
    for (int g = 0; g < G; ++g) bh[k][g] = item_unit[k] >= 0 ? bias_hh[g * H + item_unit[k]] : 0.f;
  }
#if SPRNN_LENGTHS
  // the steps of this launch each item's batch columns still run: from then on the column's state stays
  int item_live[ITEMS][2];
#pragma unroll
  for (int k = 0; k < ITEMS; ++k)
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int b = 2 * item_pair[k] + e;
      item_live[k][e] = (item_unit[k] >= 0 && b < B) ? lengths[b] - step0 : 0;
    }
#endif

  // ---- h_{-1} = h0 into act[0], zero columns into both buffers ----------------------------------------
  unsigned short* act16 = reinterpret_cast<unsigned short*>(smem);  // [2][H+32][PB]
  for (int i = threadIdx.x; i < H * PB; i += THREADS) {
    int c = i / PB, b = i % PB;
    unsigned hb = f32x2_to_half2_bits(b < B ? h0[b * H + c] : 0.f, 0.f) & 0xFFFFu;
    act16[i] = (unsigned short)hb;
  }
  for (int i = threadIdx.x; i < 2 * ZERO_COLS * PB; i += THREADS) {
    int buf = i / (ZERO_COLS * PB), r = i % (ZERO_COLS * PB);
    act16[buf * (ACT_BUF_BYTES / 2) + H * PB + r] = 0;
  }
#if SPRNN_EXCHANGE == 2
  unsigned my_rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(my_rank));
  const unsigned smem_base = (unsigned)__cvta_generic_to_shared(smem);
  // this CTA's units are one contiguous range (PackedLayer with ctaContiguous)
  int unit_lo = H, unit_hi = 0;
  for (int i = 0; i < WARPS * U; ++i) {
    const int uu = warp_units[(size_t)cta * WARPS * U + i];
    if (uu >= 0) {
      unit_lo = min(unit_lo, uu);
      unit_hi = max(unit_hi, uu + 1);
    }
  }
  if (unit_hi < unit_lo) unit_hi = unit_lo;
#if SPRNN_CLUSTER_MBARRIER
  // mbar[p]: completes when every other CTA's block of h has landed in act[p] (bytes from all peers)
  __shared__ __align__(8) unsigned long long mbar[2];
  const unsigned mbar_local = (unsigned)__cvta_generic_to_shared(&mbar[0]);
  // ptxas runs these inits as warp-uniform SYNCS.EXCH.64, which racecheck credits to lane 31, and then flagged
  // thread 0's arming below as a "(Warp Level Programming) RAW hazard" (results/kernel/NOTES.md "racecheck"):
  // a false positive (both are thread 0's, in program order), silenced by the __syncthreads between them.
  // exit_mbar: completes when every other CTA has left its step loop and issued its last push (one remote
  // arrival each); a CTA leaves only then (bounded), so its shared memory outlives every peer's access
  __shared__ __align__(8) unsigned long long exit_mbar;
  const unsigned exit_bar = (unsigned)__cvta_generic_to_shared(&exit_mbar);
  if (threadIdx.x == 0) {
    mbar_init(mbar_local, 1);
    mbar_init(mbar_local + 8, 1);
    mbar_init(exit_bar, SPRNN_CTAS > 1 ? SPRNN_CTAS - 1 : 1);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();  // once per launch: keeps racecheck's lane attribution of the inits out of the arming below
  const unsigned peer_bytes = (unsigned)((H - (unit_hi - unit_lo)) * ROW_BYTES);
  if (threadIdx.x == 0) {  // arm both: mbar[1] for step 1 (h_0), mbar[0] for step 2 (h_1)
    if (steps > 1) mbar_arrive_expect_tx(mbar_local + 8, peer_bytes);
    if (steps > 2) mbar_arrive_expect_tx(mbar_local, peer_bytes);
  }
#endif
  // every CTA of the cluster must be running (its shared memory live) before anyone writes into it
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;" ::: "memory");
#elif SC > 1
  __syncthreads();
  // every CTA of the staging cluster running, its mbarriers initialised, before a peer pushes or multicasts into it
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;" ::: "memory");
#else
  __syncthreads();
#endif

  // x projection for the lane's items: xr for this step, xn loaded one step ahead so that its
  // latency hides behind a whole step instead of sitting on the critical path
  float xr[ITEMS][2][G], xn[ITEMS][2][G];
#define LOAD_X(dst, step)                                                                                              \
  _Pragma("unroll") for (int k = 0; k < ITEMS; ++k) _Pragma("unroll") for (int e = 0; e < 2; ++e)                      \
      _Pragma("unroll") for (int g = 0; g < G; ++g) {                                                                  \
    const int b_ = 2 * item_pair[k] + e;                                                                               \
    dst[k][e][g] = (item_unit[k] >= 0 && b_ < B) ? __ldg(&xproj[((size_t)(step)*B + b_) * (G * H) + g * H + item_unit[k]]) : 0.f; \
  }
#if SPRNN_RESIDENT
  __shared__ int resident_go;  // thread 0's verdict once the step is posted (after W_hh h): 1 run it, 0 leave
#if SPRNN_RESIDENT_COPIERS == 1
  __shared__ int res_posted;   // CTA 0: the posted count its pollers saw (first_step: none yet; negative: leave)
  if (threadIdx.x == 0) res_posted = first_step;
  __syncthreads();
#else
  __shared__ int res_copy;     // a copier CTA copies its slice of the step (1) or not (0)
#endif
#if SPRNN_RESIDENT_WIH_SMEM
  if (input_size != RES_I) {  // uniform: every CTA leaves before any barrier
    if (threadIdx.x == 0) record_fault(fault, SPRNN_FAULT_SHARED_MEMORY, cta, -1, input_size);
    return;
  }
  {  // the warp's rows of W_ih into shared memory, once a launch
    float4* dst = reinterpret_cast<float4*>(smem + OFF_RES_WIH) + (size_t)warp * (U * G) * (RES_I / 4);
#pragma unroll 1
    for (int j = 0; j < U; ++j) {
      const int u = warp_units[(size_t)gw * U + j];
      if (u < 0) continue;
#pragma unroll 1
      for (int g = 0; g < G; ++g) {
        const float4* src = reinterpret_cast<const float4*>(w_ih + (size_t)(g * H + u) * RES_I);
#pragma unroll 4
        for (int i = lane; i < RES_I / 4; i += 32) dst[(size_t)(j * G + g) * (RES_I / 4) + i] = __ldg(src + i);
      }
    }
    __syncwarp();  // the warp's lanes read each other's rows (the grouped projection, other warps' too: after the step's barriers)
  }
#endif
#else
  LOAD_X(xn, 0)
#endif
  for (int t = 0; t < steps; ++t) {
    const int cur = t & 1;
    // act buffer of this step: the grid barrier stages h_{t-1} only after every CTA has finished step t-1 (its
    // arrival follows a bar.sync), so one buffer serves every step; its address is then loop-invariant
    const int cur_act = SPRNN_EXCHANGE == 0 && !SPRNN_ACT_DOUBLE ? 0 : cur;
#if SPRNN_STALL_CTA >= 0
    if (cta == SPRNN_STALL_CTA && t == SPRNN_STALL_STEP) break;  // injected fault (uniform over the CTA)
#endif
#if !SPRNN_RESIDENT
#pragma unroll
    for (int k = 0; k < ITEMS; ++k)
#pragma unroll
      for (int e = 0; e < 2; ++e)
#pragma unroll
        for (int g = 0; g < G; ++g) xr[k][e][g] = xn[k][e][g];
    if (t + 1 < steps) {
      LOAD_X(xn, t + 1)
    }
#endif
    TRACE(0)

#if SPRNN_EXCHANGE == 0
    if (t > 0) {  // stage h_{t-1} from global memory (the grid barrier of step t-1 has passed)
#if SPRNN_STAGE_ASYNC != 2 || (H * ROW_BYTES) % 16 != 0
      const uint4* src = reinterpret_cast<const uint4*>(reinterpret_cast<const unsigned char*>(exchange) + (size_t)cur * EXCH_BUF_BYTES);
#endif
#if SPRNN_STAGE_ASYNC == 2
      const unsigned parity = (unsigned)(t - 1) & 1u;  // an mbarrier's phase k is the staging for step k + 1
      for (int p = 0; p < SP; ++p) {
        if (!mbar_wait_bounded(stage_bar + 8u * p, parity, 63u, fault, SPRNN_FAULT_BARRIER_WAIT, cta, t, -2 - p, timeout_ns)) {
          abort_flag = 1;
          break;
        }
      }
#elif SPRNN_STAGE_ASYNC
      uint4* dst = reinterpret_cast<uint4*>(smem + cur_act * ACT_BUF_BYTES);
      // cp.async: every 16-byte copy of the thread in flight at once, no registers (a plain load/store loop
      // waits one L2 round trip per iteration: 6 round trips per step at H=5760)
      for (int i = threadIdx.x; i < H * ROW_BYTES / 16; i += THREADS)
        asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"((unsigned)__cvta_generic_to_shared(dst + i)), "l"(src + i) : "memory");
      asm volatile("cp.async.wait_all;" ::: "memory");
#else
      // SPRNN_STAGE_BATCH 16-byte loads of a thread in flight before their stores (left to itself, ptxas kept two
      // in flight at H 5760, where the register tier leaves few registers: three L2 round trips per step)
      uint4* dst = reinterpret_cast<uint4*>(smem + cur_act * ACT_BUF_BYTES);
      for (int base = threadIdx.x; base < H * ROW_BYTES / 16; base += THREADS * SPRNN_STAGE_BATCH) {
        uint4 v[SPRNN_STAGE_BATCH];
#pragma unroll
        for (int q = 0; q < SPRNN_STAGE_BATCH; ++q)
          if (base + q * THREADS < H * ROW_BYTES / 16) v[q] = __ldcg(src + base + q * THREADS);
#pragma unroll
        for (int q = 0; q < SPRNN_STAGE_BATCH; ++q)
          if (base + q * THREADS < H * ROW_BYTES / 16) dst[base + q * THREADS] = v[q];
      }
#endif
#if (H * ROW_BYTES) % 16 != 0
      for (int i = (H * ROW_BYTES / 16) * 8 + threadIdx.x; i < H * PB; i += THREADS)
        act16[cur_act * (ACT_BUF_BYTES / 2) + i] = __ldcg(reinterpret_cast<const unsigned short*>(src) + i);
#endif
      __syncthreads();
#if SPRNN_STAGE_ASYNC == 2
      if (abort_flag) break;  // to the exit (a staging cluster's CTA leaves after its peers)
#endif
    }
#elif SPRNN_EXCHANGE == 1
    if (t > 0) {  // poll the words of h_{t-1} this CTA needs, stage each as it arrives
      const ExWord* slot = reinterpret_cast<const ExWord*>(exchange) + (size_t)(t - 1) * H * EX_WORDS_PER_UNIT;
      const int count = needed[(size_t)cta * (H + 1)] * EX_WORDS_PER_UNIT;
      const int* cols = needed + (size_t)cta * (H + 1) + 1;
      // act[cur] as [H+32][EX_WORDS_PER_UNIT] exchange words, addressed as shared memory explicitly (NVRTC otherwise
      // keeps generic addresses here and converts each store through SR_CgaCtaId behind a branch)
      const unsigned act_s = (unsigned)__cvta_generic_to_shared(smem + cur * ACT_BUF_BYTES);
      // SPRNN_POLL_BATCH loads in flight per thread; the words still empty are re-polled together (one round trip
      // per retry for all of them, not one per word)
      for (int base = threadIdx.x; base < count; base += THREADS * SPRNN_POLL_BATCH) {
        ExWord v[SPRNN_POLL_BATCH];
        int word[SPRNN_POLL_BATCH];  // index of the word in this step's slot (= of the word in act[cur]), -1: none
        unsigned pending = 0;
#pragma unroll
        for (int q = 0; q < SPRNN_POLL_BATCH; ++q) {
          const int i = base + q * THREADS;
          word[q] = i < count ? cols[i / EX_WORDS_PER_UNIT] * EX_WORDS_PER_UNIT + i % EX_WORDS_PER_UNIT : -1;
          v[q] = word[q] >= 0 ? ex_load_relaxed(slot + word[q]) : (ExWord)0;
        }
#pragma unroll
        for (int q = 0; q < SPRNN_POLL_BATCH; ++q)
          if (word[q] >= 0 && ex_empty(v[q])) pending |= 1u << q;
        if (pending) {
          const unsigned long long start = global_timer();
          unsigned spins = 0;
          while (pending) {
#if SPRNN_POLL_SLEEP_NS > 0
            asm volatile("nanosleep.u32 %0;" ::"r"((unsigned)SPRNN_POLL_SLEEP_NS));
#endif
#pragma unroll
            for (int q = 0; q < SPRNN_POLL_BATCH; ++q)
              if (pending & (1u << q)) v[q] = ex_load_relaxed(slot + word[q]);
#pragma unroll
            for (int q = 0; q < SPRNN_POLL_BATCH; ++q)
              if ((pending & (1u << q)) && !ex_empty(v[q])) pending &= ~(1u << q);
            if (pending && (++spins & 63u) == 0 && (load_volatile_int(fault) != 0 || global_timer() - start > timeout_ns)) {
              int col = -1;
#pragma unroll
              for (int q = 0; q < SPRNN_POLL_BATCH; ++q)
                if (col < 0 && (pending & (1u << q))) col = word[q] / EX_WORDS_PER_UNIT;
              record_fault(fault, SPRNN_FAULT_TIMESTAMP_WAIT, cta, t, col);
              abort_flag = 1;
              break;
            }
          }
        }
#pragma unroll
        for (int q = 0; q < SPRNN_POLL_BATCH; ++q)
          if (word[q] >= 0) ex_store_shared(act_s + (unsigned)sizeof(ExWord) * (unsigned)word[q], v[q]);  // [column][word]
      }
      __syncthreads();
      if (abort_flag) return;
    }
#elif SPRNN_EXCHANGE == 2 && SPRNN_CLUSTER_MBARRIER
    if (t > 0) {  // wait until every peer's block of h_{t-1} has landed in act[cur]
      const unsigned bar = mbar_local + 8u * cur;
      const unsigned parity = ((unsigned)(t - 1) >> 1) & 1u;
      const bool gave_up = !mbar_wait_bounded(bar, parity, 15u, fault, SPRNN_FAULT_CLUSTER_WAIT, cta, t, (int)parity, timeout_ns);
      // every thread has seen the phase before it is re-armed; on a fault the whole CTA leaves the step loop
      // together for the bounded exit below (peers may still push into this CTA's shared memory until then)
      if (__syncthreads_or(gave_up)) break;
      if (threadIdx.x == 0 && t + 2 < steps) mbar_arrive_expect_tx(bar, peer_bytes);
    }
#endif

    TRACE(1)
    // ---- sparse arithmetic: this warp's rows, one at a time, 32 lanes a row ----------------------------
#if !SPRNN_EXCHANGE_ONLY
    {
      const unsigned char* actb = smem + cur_act * ACT_BUF_BYTES;
      const unsigned actb_s = (unsigned)__cvta_generic_to_shared(actb);  // the same, as a shared address
      float acc[PB];
#pragma unroll
      for (int b = 0; b < PB; ++b) acc[b] = 0.f;
      int row = 0;
#if TAIL && !SPRNN_TAIL_SMEM
      float tail[PB];  // this lane's tail sums (row tail_row), from slot TAIL - 1 on
#elif TAIL
      // this lane's sum of batch column b at tail_s + 128 b ([WARPS][PB][32]: a warp's stores and loads conflict-free)
      const unsigned tail_s = (unsigned)__cvta_generic_to_shared(smem + OFF_CTAIL) + 4u * (unsigned)(warp * PB * 32 + lane);
#endif
#if DEFER
      float stash[STASH_N];
#pragma unroll
      for (int i = 0; i < STASH_N; ++i) stash[i] = 0.f;
#define FINISH_ROW() finish_row(acc, stash, row)
#else
#define FINISH_ROW() finish_row(acc, preact_s, row, lane)
#endif
      // every slot in one unrolled loop: the register tier from wreg[] (compile-time indices keep it in registers),
      // the shared tier's words loaded a group ahead with the group's activations, so neither waits on a load
      // chain per slot; row ends compiled in (SHARED_ENDS) or from the end_bits registers
#pragma unroll
      for (int j0 = 0; j0 < S; j0 += SPRNN_LOAD_AHEAD) {
        // warp-uniform: the warp's padding tail (never before a CTA tail's barrier)
        if (!SPRNN_UNIFORM_SLOTS && !SHARED_ENDS && j0 > last_end && j0 >= CTAIL) break;
        unsigned wv[SPRNN_LOAD_AHEAD];
#pragma unroll
        for (int c = 0; c < SPRNN_LOAD_AHEAD; ++c) {
          const int j = j0 + c;
#if S > R
          if (j >= R && j < S) wv[c] = tier2[(j >= R ? j - R : 0) * 32 + lane];
#endif
          if (j < R) wv[c] = wreg[j < R ? j : 0];
        }
        ActRaw raw[SPRNN_LOAD_AHEAD];
#pragma unroll
        for (int c = 0; c < SPRNN_LOAD_AHEAD; ++c)
#if SPRNN_DENSE
          if (j0 + c < S) raw[c] = load_act_dense((j0 + c) % DENSE_ROW_SLOTS, lane, actb_s);
#else
          if (j0 + c < S) raw[c] = load_act(wv[c], actb, actb_s);
#endif
#if SHARED_ENDS
        // row ends at compile-time slots: no test, no branch; with a tail, each row starts from its tail lanes' sums
#pragma unroll
        for (int c = 0; c < SPRNN_LOAD_AHEAD; ++c) {
          if (j0 + c < S) {
            fma_act(wv[c], raw[c], acc);
#if TAIL && !SPRNN_TAIL_SMEM
            if (j0 + c == TAIL - 1) {
#pragma unroll
              for (int b = 0; b < PB; ++b) {
                tail[b] = acc[b];
                acc[b] = tail_row == 0 ? tail[b] : 0.f;
              }
            }
#elif TAIL
            if (j0 + c == TAIL - 1) {
#pragma unroll
              for (int b = 0; b < PB; ++b) {
                st_shared_f32(tail_s + 128u * b, acc[b]);
                acc[b] = tail_row == 0 ? acc[b] : 0.f;
              }
            }
#endif
            if (SHARED_ROW_END(j0 + c)) {
              FINISH_ROW();
#if TAIL && !SPRNN_TAIL_SMEM
#pragma unroll
              for (int b = 0; b < PB; ++b) acc[b] = tail_row == row ? tail[b] : 0.f;  // row: the next one (compile-time)
#elif TAIL
              if (row < U * G) {  // compile-time after unrolling
#pragma unroll
                for (int b = 0; b < PB; ++b) {
                  const float v = ld_shared_f32(tail_s + 128u * b);
                  acc[b] = tail_row == row ? v : 0.f;
                }
              }
#endif
            }
          }
        }
#elif U * G == 1
        // one row per warp: it ends in the last group (the slots after its end hold padding, value 0), so no slot
        // tests for an end; the row is finished after the loop
#pragma unroll
        for (int c = 0; c < SPRNN_LOAD_AHEAD; ++c) {
          if (j0 + c < S) fma_act(wv[c], raw[c], acc);
#if CTAIL
          if (j0 + c == CTAIL - 1) {
            // this lane's tail sums to the CTA, the CTA's barrier, then the row starts from its tail lanes' sums
            float2* const buf = ctail2 + (size_t)cur * (PB / 2) * WARPS * 32;
#pragma unroll
            for (int b = 0; b < PB; b += 2) buf[(b / 2) * WARPS * 32 + warp * 32 + lane] = make_float2(acc[b], acc[b + 1]);
            __syncthreads();
#pragma unroll
            for (int b = 0; b < PB; ++b) acc[b] = 0.f;
#pragma unroll
            for (int k = 0; k < CTAIL_K; ++k) {
              if (csrc[k] >= 0) {
#pragma unroll
                for (int b = 0; b < PB; b += 2) {
                  const float2 v = buf[(b / 2) * WARPS * 32 + csrc[k]];
                  acc[b] += v.x;
                  acc[b + 1] += v.y;
                }
              }
            }
          }
#endif
        }
#else
        // the group's row ends (SPRNN_LOAD_AHEAD divides 32, so a group sits in one word of end_bits): a group
        // without one, the common case, runs its slots without a test each
        const unsigned gbits = (end_bits[j0 / 32] >> (j0 % 32)) & (SPRNN_LOAD_AHEAD == 32 ? ~0u : (1u << SPRNN_LOAD_AHEAD) - 1u);
        if (gbits == 0) {
#pragma unroll
          for (int c = 0; c < SPRNN_LOAD_AHEAD; ++c)
            if (j0 + c < S) fma_act(wv[c], raw[c], acc);
        } else {
#pragma unroll
          for (int c = 0; c < SPRNN_LOAD_AHEAD; ++c) {
            if (j0 + c < S) {
              fma_act(wv[c], raw[c], acc);
              if ((gbits >> c) & 1u) FINISH_ROW();  // warp-uniform; no load on the critical path
            }
          }
        }
#endif
      }
#if U * G == 1 && !SHARED_ENDS
      FINISH_ROW();
#endif
#if DEFER
      {
        const float sum = reduce_tree<STASH_N>(stash, lane);
        const int idx = lane / (32 / STASH_N);
        if ((lane & (32 / STASH_N - 1)) == 0 && idx < STASH_VALUES) PREACT_STORE(idx, sum);
      }
#endif
#undef FINISH_ROW
    }
#endif
    __syncwarp();
    TRACE(2)
    TRACE_WARP()

#if SPRNN_RESIDENT
    // ---- wait for the host's step, hand it on, project its input ---------------------------------------------
    // (after the recurrent arithmetic: W_hh h_{t-1} needs no input, so it is done before the host posts step t and
    // only the input's trip, its projection, the cell update and the exchange are left once it is posted)
    const int slot = (first_step + t) % ring;
    const int want = first_step + t + 1;  // the posted count that includes this step
#if SPRNN_RESIDENT_COPIERS == 1
    if (cta == 0) {
      constexpr int P = SPRNN_RESIDENT_POLLERS < WARPS ? SPRNN_RESIDENT_POLLERS : WARPS;
      if (lane == 0 && warp < P) {  // the pollers (see SPRNN_RESIDENT_POLLERS); the first to see the post tells the rest
        const int* mine = const_cast<const int*>(posted) + warp * RES_POSTED_STRIDE;
        volatile int* seen = &res_posted;
        if (warp > 0 && *seen >= 0 && *seen < want) __nanosleep(warp * SPRNN_RESIDENT_STAGGER_NS);
        const unsigned long long start = global_timer();
        unsigned spins = 0;
        for (;;) {
          const int other = *seen;
          if (other < 0 || other >= want) break;  // seen already (another poller, or a post of several steps): its
                                                  // acquire, then bar.sync, orders the reads of x after it
#if SPRNN_RESIDENT_POLL_ACQUIRE
          const int v = load_acquire_sys_int(mine);  // the host's inputs, written before `posted`, after it
#else
          const int v = *reinterpret_cast<const volatile int*>(mine);
#endif
          if (v < 0 || v >= want) {
#if !SPRNN_RESIDENT_POLL_ACQUIRE
            asm volatile("fence.acq_rel.sys;" ::: "memory");
#endif
            RTRACE(0, true)
            *seen = v;
            break;
          }
          // (a fault another CTA recorded is seen here, or by every CTA's bounded barrier wait of this step: no trip to
          // L2 for it on the way from the post to the step's hand-on)
          if ((++spins & 15u) == 0 && (global_timer() - start > idle_ns || load_volatile_int(fault) != 0)) break;
        }
      }
      __syncthreads();
      if (threadIdx.x == 0) {
        const int v = res_posted;
        resident_go = v >= want && t < SPRNN_RESIDENT_MAX_STEPS;
      }
    } else if (threadIdx.x == 0) {
      const unsigned long long start = global_timer();
      unsigned spins = 0;
      int v;
      {
        while ((v = (int)load_acquire_u32(reinterpret_cast<const unsigned*>(go))) >= 0 && v < want) {
          if ((++spins & 63u) == 0 && (load_volatile_int(fault) != 0 || global_timer() - start > idle_ns + timeout_ns)) {
            if (load_volatile_int(fault) == 0) record_fault(fault, SPRNN_FAULT_RESIDENT_WAIT, cta, t, v);
            break;
          }
        }
        resident_go = v >= want;
        RTRACE(2, cta == SPRNN_CTAS - 1)
      }
    }
    __syncthreads();
    if (cta == 0) {  // the step's input into device memory, then the hand-on (or the word to leave)
      if (resident_go) {  // few registers (the weights' register tier is live here): one round to batch 2
        const bool vec4 = ((B * input_size) & 3) == 0;
        copy_in_rounds<B >= 4 ? 4 : 2, THREADS>(x_host + (size_t)slot * B * input_size, x_dev + (size_t)slot * B * input_size,
                                                0, vec4 ? B * input_size / 4 : B * input_size, vec4);
      }
      __syncthreads();
      if (threadIdx.x == 0) {  // release: cumulative over the CTA's stores of x, ordered by the bar.sync above
        RTRACE(1, true)
        store_release_u32(reinterpret_cast<unsigned*>(go), resident_go ? (unsigned)(first_step + t + 1) : 0xFFFFFFFFu);
      }
    }
#else
    {  // SPRNN_RESIDENT_COPIERS > 1: copiers 0 .. C - 1 each poll the post and copy a slice; everyone counts the slices
      constexpr int C = SPRNN_RESIDENT_COPIERS;
      unsigned* go_count = reinterpret_cast<unsigned*>(go);     // slices copied in this launch (zeroed at its start)
      unsigned* go_leave = reinterpret_cast<unsigned*>(go) + 1; // nonzero once CTA 0 leaves
      if (cta < C) {
        if (threadIdx.x == 0) {
          const int* mine = const_cast<const int*>(posted) + (cta % RES_POSTED_COPIES) * RES_POSTED_STRIDE;
          const unsigned long long start = global_timer();
          unsigned spins = 0;
          int v;
          for (;;) {
            v = load_acquire_sys_int(mine);  // the host's inputs, written before `posted`, after it
            if (v < 0 || v >= want) break;
            if ((++spins & 15u) == 0) {
              if (load_volatile_int(fault) != 0) break;
              const unsigned long long waited = global_timer() - start;
              if (cta == 0) {
                if (waited > idle_ns) break;  // idle: CTA 0 decides to leave
              } else if (load_volatile_int(reinterpret_cast<const int*>(go_leave)) != 0) {
                break;
              } else if (waited > idle_ns + timeout_ns) {
                record_fault(fault, SPRNN_FAULT_RESIDENT_WAIT, cta, t, v);
                break;
              }
            }
          }
          RTRACE(0, cta == 0)
          res_copy = v >= want && (cta != 0 || t < SPRNN_RESIDENT_MAX_STEPS);
        }
        __syncthreads();
        if (res_copy) {
          const bool vec4 = ((B * input_size) & 3) == 0;
          const int n = vec4 ? B * input_size / 4 : B * input_size;
          const int lo = (int)((long long)n * cta / C), hi = (int)((long long)n * (cta + 1) / C);
          copy_in_rounds<B >= 4 ? 4 : 2, THREADS>(x_host + (size_t)slot * B * input_size, x_dev + (size_t)slot * B * input_size,
                                                  lo, hi, vec4);
        }
        __syncthreads();
        if (threadIdx.x == 0) {  // release: cumulative over the CTA's stores of its slice, ordered by the bar.sync above
          if (res_copy) {
            add_release_u32(go_count, 1u);
          } else if (cta == 0) {
            store_release_u32(go_leave, 1u);
          }
          RTRACE(1, cta == 0)
        }
      }
      if (threadIdx.x == 0) {  // every CTA: all C slices of this step in x_dev, or CTA 0's word to leave
        const unsigned target = (unsigned)C * (unsigned)(t + 1);
        const unsigned long long start = global_timer();
        unsigned spins = 0, n;
        bool ok = false;
        for (;;) {
          n = load_acquire_u32(go_count);
          if (n >= target) {
            ok = true;
            break;
          }
          if (load_volatile_int(reinterpret_cast<const int*>(go_leave)) != 0) break;
          if ((++spins & 63u) == 0 && (load_volatile_int(fault) != 0 || global_timer() - start > idle_ns + timeout_ns)) {
            if (load_volatile_int(fault) == 0) record_fault(fault, SPRNN_FAULT_RESIDENT_WAIT, cta, t, (int)n);
            break;
          }
        }
        resident_go = ok;
        RTRACE(2, cta == SPRNN_CTAS - 1)
      }
      __syncthreads();
    }
#endif
    if (!resident_go) break;  // uniform over the CTA; every CTA leaves at the same step
#pragma unroll
    for (int k = 0; k < ITEMS; ++k)
#pragma unroll
      for (int e = 0; e < 2; ++e)
#pragma unroll
        for (int g = 0; g < G; ++g) xr[k][e][g] = 0.f;
    {  // this warp's rows of W_ih x_t + b_ih: row g H + u for each of its units u, all lanes on a row, a shuffle sum
      // that leaves the row's sums in every lane, so each lane takes its own items' straight into xr (no round trip)
#if SPRNN_RESIDENT_WIH_SMEM
      // x_t into shared memory in one trip to L2 (the copy in x_dev), the rows from the warp's shared copy of W_ih
#if SPRNN_RESIDENT_X_SMEM
      float* xs = reinterpret_cast<float*>(smem + OFF_RES_X);
#pragma unroll 1
      for (int i = threadIdx.x; i < B * RES_I / 4; i += THREADS)
        reinterpret_cast<float4*>(xs)[i] = __ldcg(reinterpret_cast<const float4*>(x_dev + (size_t)slot * B * RES_I) + i);
      __syncthreads();
#define RES_X4(b, i) reinterpret_cast<const float4*>(xs + (size_t)(b) * RES_I)[i]
#elif SPRNN_RESIDENT_X_CHUNK == 0 || SPRNN_RESIDENT_PROJ_ROWS == 0
      const float* xs = x_dev + (size_t)slot * B * RES_I;
#define RES_X4(b, i) __ldcg(reinterpret_cast<const float4*>(xs + (size_t)(b) * RES_I) + (i))
#endif
// the grouped projection's pieces, x_t whole or in chunks: the rows a group (at most 8 accumulators, RP x B, beside
// the weights' register tier: fewer rows a group from batch 4, where 4 spilled), its accumulators zeroed and one
// column's products added (the loops over columns stay with each caller: their unrolling differs), a group's sums over
// the warp's lanes, and each lane's items from the sums (proj, [WARPS * U * G][B]) plus b_ih into xr
#define RES_GROUP_ROWS (SPRNN_RESIDENT_PROJ_ROWS * B <= 8 ? SPRNN_RESIDENT_PROJ_ROWS : (B >= 8 ? 1 : 8 / B))
#define RES_GROUP_SUM(acc)                                                                                  \
  _Pragma("unroll") for (int q = 0; q < RP; ++q) _Pragma("unroll") for (int b = 0; b < B; ++b)              \
      _Pragma("unroll") for (int o = 16; o > 0; o >>= 1) acc[q][b] += __shfl_xor_sync(0xffffffffu, acc[q][b], o);
#define RES_GROUP_ZERO(acc) \
  _Pragma("unroll") for (int q = 0; q < RP; ++q) _Pragma("unroll") for (int b = 0; b < B; ++b) acc[q][b] = 0.f;
// one float4 column of the group's rows: W4 the float4 of W_ih row r0 + q there, X4 that of x_b (expressions in q, b)
#define RES_GROUP_STEP(acc, W4, X4)                                                                        \
  {                                                                                                         \
    float4 w[RP]; /* the group's W_ih float4, then one x_b at a time (few registers at any batch) */        \
    _Pragma("unroll") for (int q = 0; q < RP; ++q)                                                          \
        w[q] = ROWS % RP == 0 || r0 + q < ROWS ? (W4) : make_float4(0.f, 0.f, 0.f, 0.f);                    \
    _Pragma("unroll") for (int b = 0; b < B; ++b) {                                                         \
      const float4 x = (X4);                                                                                \
      _Pragma("unroll") for (int q = 0; q < RP; ++q) acc[q][b] += w[q].x * x.x + w[q].y * x.y + w[q].z * x.z + w[q].w * x.w; \
    }                                                                                                       \
  }
#define RES_TAKE_SUMS(proj)                                                                                 \
  _Pragma("unroll") for (int k = 0; k < ITEMS; ++k) {                                                      \
    if (item_unit[k] < 0) continue;                                                                         \
    _Pragma("unroll") for (int e = 0; e < 2; ++e) {                                                        \
      const int b_ = 2 * item_pair[k] + e;                                                                  \
      if (b_ >= B) continue;                                                                                \
      _Pragma("unroll") for (int g = 0; g < G; ++g)                                                         \
          xr[k][e][g] = proj[(warp * U * G + item_row[k] + g) * B + b_] + __ldg(&b_ih[g * H + item_unit[k]]); \
    }                                                                                                       \
  }
#if SPRNN_RESIDENT_PROJ_ROWS > 0 && !SPRNN_RESIDENT_X_SMEM && SPRNN_RESIDENT_X_CHUNK > 0
      {  // the grouped projection (below) over x_t in chunks staged in shared memory, each chunk's part summed into proj
        constexpr int RP = RES_GROUP_ROWS;
        constexpr int ROWS = WARPS * U * G, GROUPS = (ROWS + RP - 1) / RP, N4 = RES_I / 4, CH = SPRNN_RESIDENT_X_CHUNK;
        float* proj = reinterpret_cast<float*>(smem + OFF_RES_PROJ);
        const float4* wall = reinterpret_cast<const float4*>(smem + OFF_RES_WIH);
        float4* xc = reinterpret_cast<float4*>(smem + OFF_RES_X);  // [B][CH]
        const float4* xg = reinterpret_cast<const float4*>(x_dev + (size_t)slot * B * RES_I);
#pragma unroll 1
        for (int c0 = 0; c0 < N4; c0 += CH) {
          const int cn = N4 - c0 < CH ? N4 - c0 : CH;
#pragma unroll 1
          for (int k = threadIdx.x; k < B * cn; k += THREADS) {
            const int b = k / cn, i = k - b * cn;
            xc[b * CH + i] = __ldcg(xg + (size_t)b * N4 + c0 + i);
          }
          __syncthreads();
#pragma unroll 1
          for (int grp = warp; grp < GROUPS; grp += WARPS) {
            const int r0 = grp * RP;
            float acc[RP][B];
            RES_GROUP_ZERO(acc)
#pragma unroll 1
            for (int i = lane; i < cn; i += 32) RES_GROUP_STEP(acc, wall[(size_t)(r0 + q) * N4 + c0 + i], xc[b * CH + i])
            RES_GROUP_SUM(acc)
            if (lane == 0) {
#pragma unroll
              for (int q = 0; q < RP; ++q)
#pragma unroll
                for (int b = 0; b < B; ++b)
                  if (ROWS % RP == 0 || r0 + q < ROWS) proj[(r0 + q) * B + b] = (c0 == 0 ? 0.f : proj[(r0 + q) * B + b]) + acc[q][b];
            }
          }
          __syncthreads();  // the chunk's reads done before the next chunk's stores; the last: proj complete
        }
        RES_TAKE_SUMS(proj)
      }
#endif
#if SPRNN_RESIDENT_PROJ_ROWS > 0 && SPRNN_RESIDENT_X_SMEM
      {  // groups of RP rows of the CTA ([WARPS][U*G] order, as W_ih's copy) a warp, every x_t float4 read once a group
        constexpr int RP = RES_GROUP_ROWS;
        constexpr int ROWS = WARPS * U * G, GROUPS = (ROWS + RP - 1) / RP;
        float* proj = reinterpret_cast<float*>(smem + OFF_RES_PROJ);
        const float4* wall = reinterpret_cast<const float4*>(smem + OFF_RES_WIH);
#pragma unroll 1
        for (int grp = warp; grp < GROUPS; grp += WARPS) {
          const int r0 = grp * RP;
          float acc[RP][B];
          RES_GROUP_ZERO(acc)
          constexpr int RES_GUNROLL = B <= 2 ? 2 : 1;  // x[B] and acc[RP][B] live: more spill at batch 4
#pragma unroll RES_GUNROLL
          for (int i = lane; i < RES_I / 4; i += 32) RES_GROUP_STEP(acc, wall[(size_t)(r0 + q) * (RES_I / 4) + i], RES_X4(b, i))
          RES_GROUP_SUM(acc)
          if (lane == 0) {
#pragma unroll
            for (int q = 0; q < RP; ++q)
#pragma unroll
              for (int b = 0; b < B; ++b)
                if (ROWS % RP == 0 || r0 + q < ROWS) proj[(r0 + q) * B + b] = acc[q][b];
          }
        }
        __syncthreads();
        RES_TAKE_SUMS(proj)
      }
#endif
#undef RES_GROUP_ROWS
#undef RES_GROUP_SUM
#undef RES_TAKE_SUMS
#else
      const float* xs = x_dev + (size_t)slot * B * input_size;
#endif
#if !(SPRNN_RESIDENT_WIH_SMEM && SPRNN_RESIDENT_PROJ_ROWS > 0 && (SPRNN_RESIDENT_X_SMEM || SPRNN_RESIDENT_X_CHUNK > 0))  // each warp its own rows
#if SPRNN_RESIDENT_WIH_SMEM
      const float* wsm = reinterpret_cast<const float*>(smem + OFF_RES_WIH) + (size_t)warp * (U * G) * RES_I;
#endif
#pragma unroll 1
      for (int j = 0; j < U; ++j) {
        const int u = warp_units[(size_t)gw * U + j];
        if (u < 0) continue;
#pragma unroll 1
        for (int g = 0; g < G; ++g) {
          float acc[B];
#pragma unroll
          for (int b = 0; b < B; ++b) acc[b] = 0.f;
#if SPRNN_RESIDENT_WIH_SMEM
          {  // shared memory: a float4 of the row and of each x_b a lane per round, consecutive lanes (no conflicts)
            const float4* w4 = reinterpret_cast<const float4*>(wsm + (size_t)(j * G + g) * RES_I);
            // rounds in flight: x from L2 holds B float4 a round in registers (more spill at batch 4)
            constexpr int RES_UNROLL = SPRNN_RESIDENT_X_SMEM || B <= 2 ? 4 : 2;
#pragma unroll RES_UNROLL
            for (int i = lane; i < RES_I / 4; i += 32) {
              const float4 w = w4[i];
#pragma unroll
              for (int b = 0; b < B; ++b) {
                const float4 x = RES_X4(b, i);
                acc[b] += w.x * x.x + w.y * x.y + w.z * x.z + w.w * x.w;
              }
            }
          }
#undef RES_X4
#else
          const float* wrow = w_ih + (size_t)(g * H + u) * input_size;
          if ((input_size & 3) == 0) {
            // XU float4 of the row (and of each x_b) a lane per round, all loads of a round in flight together: one L2
            // round trip per XU x 128 columns, not one per 128 (the loop is latency-bound, not bandwidth-bound)
            constexpr int XU = B <= 2 ? 4 : (B <= 4 ? 2 : 1);  // x[XU][B] float4 held at once: spills above
            const float4* w4 = reinterpret_cast<const float4*>(wrow);
            const int n4 = input_size / 4;
#pragma unroll 1
            for (int i0 = lane; i0 < n4; i0 += 32 * XU) {
              float4 w[XU], x[XU][B];
#pragma unroll
              for (int q = 0; q < XU; ++q) {
                const int i = i0 + 32 * q;
                const bool in = i < n4;
                w[q] = in ? __ldg(w4 + i) : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
                for (int b = 0; b < B; ++b)
                  x[q][b] = in ? __ldcg(reinterpret_cast<const float4*>(xs + (size_t)b * input_size) + i) : make_float4(0.f, 0.f, 0.f, 0.f);
              }
#pragma unroll
              for (int q = 0; q < XU; ++q)
#pragma unroll
                for (int b = 0; b < B; ++b) acc[b] += w[q].x * x[q][b].x + w[q].y * x[q][b].y + w[q].z * x[q][b].z + w[q].w * x[q][b].w;
            }
          } else {
#pragma unroll 1
            for (int i = lane; i < input_size; i += 32) {
              const float w = __ldg(wrow + i);
#pragma unroll
              for (int b = 0; b < B; ++b) acc[b] += w * __ldcg(xs + (size_t)b * input_size + i);
            }
          }
#endif
#pragma unroll
          for (int b = 0; b < B; ++b) {
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) acc[b] += __shfl_xor_sync(0xffffffffu, acc[b], o);
          }
          const float bias = __ldg(&b_ih[g * H + u]);
#pragma unroll
          for (int k = 0; k < ITEMS; ++k) {
            if (item_unit[k] < 0 || item_row[k] != j * G) continue;  // not this lane's item of unit u
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int b_ = 2 * item_pair[k] + e;
              float v = 0.f;
#pragma unroll
              for (int b = 0; b < B; ++b) v = b == b_ ? acc[b] + bias : v;  // registers, not a local array
#pragma unroll
              for (int gg = 0; gg < G; ++gg) xr[k][e][gg] = gg == g ? v : xr[k][e][gg];
            }
          }
        }
      }
#endif
#ifdef RES_X4
#undef RES_X4
#endif
    }
    RTRACE(3, cta == 0 && threadIdx.x == 0)
    RTRACE(4, cta == SPRNN_CTAS - 1 && threadIdx.x == 0)
#endif

    // ---- cell update of the warp's own units (cell_math.cuh: sigmoid_approx_f32, tanhf), publish h_t ----
#if SPRNN_RESIDENT
    float* out_t = out + (size_t)slot * B * H;
#else
    float* out_t = out + (size_t)t * B * H;
#endif
    // out[t] is written after this step's exchange has been signalled, so that no release waits for it
    float hout[ITEMS][2];
#define STORE_OUTS()                                                                        \
  _Pragma("unroll") for (int k = 0; k < ITEMS; ++k) _Pragma("unroll") for (int e = 0; e < 2; ++e) { \
    const int b_ = 2 * item_pair[k] + e;                                                    \
    if (item_unit[k] >= 0 && b_ < B) out_t[b_ * H + item_unit[k]] = hout[k][e];              \
  }
#if SPRNN_EXCHANGE == 2
    const unsigned nxt_local = (unsigned)__cvta_generic_to_shared(smem + (cur ^ 1) * ACT_BUF_BYTES);
#endif
#if SPRNN_EXCHANGE == 1
    unsigned packed_h[ITEMS];  // the item's h_t pair as fp16x2 (0 for no item)
#pragma unroll
    for (int k = 0; k < ITEMS; ++k) packed_h[k] = 0u;
#endif
#pragma unroll
    for (int k = 0; k < ITEMS; ++k) {
      const int u = item_unit[k];
      if (u < 0) continue;
      float hv[2];
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int b = 2 * item_pair[k] + e;
        float pre[G];
#pragma unroll
        for (int g = 0; g < G; ++g) {
#if SPRNN_EXCHANGE_ONLY
          pre[g] = 0.f;
#else
          pre[g] = PREACT_LOAD((item_row[k] + g) * PB + b);
#endif
        }
        float h;
#if SPRNN_LENGTHS && SPRNN_CELL == 3
        const float c_prev = cs[k][e];
#endif
#if SPRNN_CELL == 0
        h = fmaxf(xr[k][e][0] + pre[0] + bh[k][0], 0.f);
#elif SPRNN_CELL == 1
        h = tanhf(xr[k][e][0] + pre[0] + bh[k][0]);
#elif SPRNN_CELL == 2
        const float r = sigmoid_approx_f32(xr[k][e][0] + pre[0] + bh[k][0]);
        const float z = sigmoid_approx_f32(xr[k][e][1] + pre[1] + bh[k][1]);
        const float n = tanhf(xr[k][e][2] + r * (pre[2] + bh[k][2]));
        h = (1.f - z) * n + z * hs[k][e];
#else
        const float ig = sigmoid_approx_f32(xr[k][e][0] + pre[0] + bh[k][0]);
        const float fg = sigmoid_approx_f32(xr[k][e][1] + pre[1] + bh[k][1]);
        const float gg = tanhf(xr[k][e][2] + pre[2] + bh[k][2]);
        const float og = sigmoid_approx_f32(xr[k][e][3] + pre[3] + bh[k][3]);
        cs[k][e] = fg * cs[k][e] + ig * gg;
        h = og * tanhf(cs[k][e]);
#endif
#if SPRNN_LENGTHS
        const bool live = t < item_live[k][e];
        if (!live) {  // past its sequence's end: the state stays as it was at the last step, the output is zero
          h = hs[k][e];
#if SPRNN_CELL == 3
          cs[k][e] = c_prev;
#endif
        }
#endif
        if (b >= B) h = 0.f;
        hs[k][e] = h;
        hv[e] = h;
#if SPRNN_LENGTHS
        hout[k][e] = live ? h : 0.f;
#else
        hout[k][e] = h;
#endif
      }
      const unsigned packed = f32x2_to_half2_bits(hv[0], hv[1]);
#if SPRNN_EXCHANGE == 1
      packed_h[k] = packed;
#elif SPRNN_EXCHANGE == 0
      reinterpret_cast<unsigned*>(reinterpret_cast<unsigned char*>(exchange) + (size_t)(cur ^ 1) * EXCH_BUF_BYTES)[u * PAIRS + item_pair[k]] = packed;
#elif SPRNN_EXCHANGE == 2
      // into this CTA's own next buffer; the block is pushed to the other CTAs below
      reinterpret_cast<unsigned*>(smem + (cur ^ 1) * ACT_BUF_BYTES)[u * PAIRS + item_pair[k]] = packed;
#endif
    }
#if SPRNN_EXCHANGE == 1
    // publish h_t: one word per unit and EX_WORDS_PER_UNIT, written whole by one relaxed store, so a consumer that
    // sees it non-empty has all of its values (the word is the step's: slots are per step and emptied per launch)
#pragma unroll
    for (int k = 0; k < ITEMS; ++k) {
#if PAIRS == 1
      if (item_unit[k] >= 0)
        ex_store_relaxed(reinterpret_cast<ExWord*>(exchange) + (size_t)t * H + item_unit[k], ex_word_of(packed_h[k], 0u));
#else
      const unsigned odd = __shfl_xor_sync(0xffffffffu, packed_h[k], 1);  // the next pair of the same unit
      if (item_unit[k] >= 0 && (item_pair[k] & 1) == 0)
        ex_store_relaxed(reinterpret_cast<ExWord*>(exchange) + ((size_t)t * H + item_unit[k]) * EX_WORDS_PER_UNIT + item_pair[k] / 2,
                         ex_word_of(packed_h[k], odd));
#endif
    }
#endif
#if SPRNN_EXCHANGE == 2
    // push this CTA's contiguous block of h_t [unit_lo, unit_hi) to every other CTA of the cluster with
    // 16-byte DSMEM stores (the host aligns blocks to 16 bytes)
    __syncthreads();
    if (t + 1 < steps) {  // h_{T-1} is needed by no one
      const unsigned base = nxt_local + (unsigned)(unit_lo * ROW_BYTES);
#if SPRNN_CLUSTER_MBARRIER
      const unsigned bar_local = mbar_local + 8u * (cur ^ 1);
#endif
      const int bytes = (unit_hi - unit_lo) * ROW_BYTES;
      const int n16 = bytes / 16, n4 = (bytes % 16) / 4;
      const int per_rank = n16 + n4;
      for (int i = threadIdx.x; i < per_rank * (SPRNN_CTAS - 1); i += THREADS) {
        const int q = i / (SPRNN_CTAS - 1);
        unsigned r = (unsigned)(i % (SPRNN_CTAS - 1));
        r += r >= my_rank ? 1u : 0u;  // every rank but this one
        const unsigned local = q < n16 ? base + 16u * q : base + 16u * n16 + 4u * (q - n16);
        unsigned remote;
        asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote) : "r"(local), "r"(r));
#if SPRNN_CLUSTER_MBARRIER  // st.async, completing on the receiver's mbarrier
        unsigned remote_bar;
        asm volatile("mapa.shared::cluster.u32 %0, %1, %2;" : "=r"(remote_bar) : "r"(bar_local), "r"(r));
        if (q < n16) {
          const uint4 v = *reinterpret_cast<const uint4*>(smem + (local - smem_base));
          asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.v4.b32 [%0], {%1, %2, %3, %4}, [%5];"
                       ::"r"(remote), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w), "r"(remote_bar) : "memory");
        } else {
          const unsigned v = *reinterpret_cast<const unsigned*>(smem + (local - smem_base));
          asm volatile("st.async.shared::cluster.mbarrier::complete_tx::bytes.b32 [%0], %1, [%2];"
                       ::"r"(remote), "r"(v), "r"(remote_bar) : "memory");
        }
#else  // plain DSMEM stores, made visible by the step's barrier.cluster
        if (q < n16) {
          const uint4 v = *reinterpret_cast<const uint4*>(smem + (local - smem_base));
          asm volatile("st.shared::cluster.v4.u32 [%0], {%1, %2, %3, %4};" ::"r"(remote), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w) : "memory");
        } else {
          const unsigned v = *reinterpret_cast<const unsigned*>(smem + (local - smem_base));
          asm volatile("st.shared::cluster.u32 [%0], %1;" ::"r"(remote), "r"(v) : "memory");
        }
#endif
      }
    }
#endif

#if SPRNN_EXCHANGE == 0
    // grid barrier: one arrival per CTA on a monotone counter (or its own flag word), bounded spin
    TRACE(3)
    __syncthreads();
    if (threadIdx.x == 0) {
#if SPRNN_BARRIER_FENCE
      __threadfence();
#endif
#if SPRNN_BARRIER_FLAGS
      store_release_u32(counter + cta, (unsigned)(t + 1));  // release: cumulative over the CTA's stores (bar.sync above)
#else
      add_release_u32(counter, 1u);  // release: cumulative over the CTA's stores ordered by the bar.sync above
      TRACE(4)
#endif
    }
    STORE_OUTS()
#if SPRNN_BARRIER_FLAGS
    for (int i = threadIdx.x; i < SPRNN_CTAS; i += THREADS) {  // thread i waits for producer CTA i
      const unsigned target = (unsigned)(t + 1);
      unsigned long long start = 0;
      unsigned spins = 0;
      while (load_acquire_u32(counter + i) < target) {
        if ((++spins & 63u) == 0) {
          if (start == 0) start = global_timer();
          if (load_volatile_int(fault) != 0 || global_timer() - start > timeout_ns) {
            record_fault(fault, SPRNN_FAULT_BARRIER_WAIT, cta, t, i);
            abort_flag = 1;
            break;
          }
        }
      }
    }
#else
    if (threadIdx.x == 0) {
      const unsigned target = (unsigned)(t + 1) * SPRNN_CTAS;
      unsigned long long start = global_timer();
      unsigned spins = 0;
      unsigned seen;
      while ((seen = load_acquire_u32(counter)) < target) {
        if ((++spins & 63u) == 0 && (load_volatile_int(fault) != 0 || global_timer() - start > timeout_ns)) {
          record_fault(fault, SPRNN_FAULT_BARRIER_WAIT, cta, t, (int)seen);
          abort_flag = 1;
          break;
        }
      }
    }
#endif
    TRACE(5)
#if SPRNN_STAGE_ASYNC == 2
    if (warp == 0) {  // stage h_t for step t + 1 now: lane p issues phase p's bulk copies (thread 0's acquire above)
      __syncwarp();
      if (lane < SP && !abort_flag && t + 1 < steps) {
        const unsigned dst = (unsigned)__cvta_generic_to_shared(smem + (SPRNN_ACT_DOUBLE ? ((t + 1) & 1) * ACT_BUF_BYTES : 0));
        const unsigned char* src = reinterpret_cast<const unsigned char*>(exchange) + (size_t)((t + 1) & 1) * EXCH_BUF_BYTES;
        const unsigned bar = stage_bar + 8u * lane;
        int lo = STAGE_BYTE(lane) / 16, hi = STAGE_BYTE(lane + 1) / 16;  // the phase, in 16-byte units
        // peers' h_t (generic-proxy stores, acquired above) and this CTA's earlier reads of act[(t+1)&1] (step t-1,
        // ordered by the bar.sync above) before the async-proxy copy
        asm volatile("fence.proxy.async.global;" ::: "memory");
        asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#if SPRNN_MEASURE_SKIP_STAGE  // measurement only (exchange-only floor without the staging): no copy, an empty phase
        mbar_arrive_expect_tx(bar, 0u);
        hi = lo;
#else
        mbar_arrive_expect_tx(bar, (unsigned)(16 * (hi - lo)));  // the whole phase, from every rank of the cluster
#endif
#if SC > 1
        {  // this rank's part of the phase, into the same place of every CTA of the cluster
          const int n = hi - lo;
          hi = lo + n * (int)(my_rank + 1) / SC;
          lo = lo + n * (int)my_rank / SC;
        }
        if (hi > lo)
          asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1], %2, [%3], %4;"
                       ::"r"(dst + 16u * (unsigned)lo), "l"(src + 16 * lo), "r"((unsigned)(16 * (hi - lo))), "r"(bar),
                       "h"((unsigned short)((1u << SC) - 1u)) : "memory");
#else
        if (hi > lo)
          asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
                       ::"r"(dst + 16u * (unsigned)lo), "l"(src + 16 * lo), "r"((unsigned)(16 * (hi - lo))), "r"(bar) : "memory");
#endif
      }
    }
#endif
    __syncthreads();
    TRACE(6)
    if (abort_flag) break;  // to the exit (a staging cluster's CTA leaves after its peers)
#elif SPRNN_EXCHANGE == 2 && !SPRNN_CLUSTER_MBARRIER
    asm volatile("barrier.cluster.arrive.release.aligned;" ::: "memory");
    STORE_OUTS()
    asm volatile("barrier.cluster.wait.acquire.aligned;" ::: "memory");
#else
    STORE_OUTS()
#endif
#undef STORE_OUTS
#if SPRNN_RESIDENT
    // the step is done once every CTA's outputs are out: each CTA writes its own count of steps done into host
    // memory, which the host reads all of (thread 0's system-scope fence after the CTA barrier is cumulative over the
    // CTA's output stores, as the grid barrier's release): no atomic and no second fence on the way to the host
    __syncthreads();
    RTRACE(5, cta == 0 && threadIdx.x == 0)
    if (threadIdx.x == 0) {
      RTRACE(6, cta == 0)
      __threadfence_system();
      done[cta] = first_step + t + 1;
      RTRACE(7, cta == 0)
    }
#endif
  }

#if SPRNN_EXCHANGE == 2 && SPRNN_CLUSTER_MBARRIER
  cluster_exit(exit_bar, my_rank, SPRNN_CTAS, fault, cta, steps, timeout_ns);
#elif SC > 1
  // as the cluster exchange (a peer's multicast for a step this CTA left before it completed is bounded here)
  cluster_exit(exit_bar, my_rank, SC, fault, cta, steps, timeout_ns);
#elif SPRNN_EXCHANGE == 2
  // comparison variant (SPRNN_CLUSTER_MBARRIER=0, not used by the engine): an unbounded cluster barrier
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;" ::: "memory");
#endif
  // ---- final state ------------------------------------------------------------------------------------
#pragma unroll
  for (int k = 0; k < ITEMS; ++k) {
    const int u = item_unit[k];
    if (u < 0) continue;
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int b = 2 * item_pair[k] + e;
      if (b >= B) continue;
      h_n[b * H + u] = hs[k][e];
      if (SPRNN_CELL == 3) c_n[b * H + u] = cs[k][e];
    }
  }
}
