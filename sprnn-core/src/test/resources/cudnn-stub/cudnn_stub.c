// cudnn_stub.c — a stand-in libcudnn.so.9 for CudnnStubTest: the cuDNN 9 functions sprnn binds, with the C prototypes of
// cuDNN 9's cudnn_graph.h / cudnn_ops.h / cudnn_adv.h (enums as int, handles as void*), each recording the arguments it
// received so that the test can check that the Java side passes every argument in its place and type. No GPU, no
// arithmetic: descriptors are malloc'd structs, addresses are made up.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int cudnnStatus_t;
typedef void *cudnnHandle_t, *cudnnRNNDescriptor_t, *cudnnRNNDataDescriptor_t, *cudnnDropoutDescriptor_t, *cudaStream_t;

typedef struct { int type, nb, dims[8], strides[8]; } tensor_t;
typedef tensor_t *cudnnTensorDescriptor_t;

// the arguments of the last call of each function (at most 32 functions of at most 32 arguments)
static struct { const char *fn; int n; int64_t args[32]; } g_calls[32];
static const char *g_fn = "";
static int g_status;
static char g_last[512];
static int g_seq[64];

static void record(const char *fn, const int64_t *a, int n) {
    int i = 0;
    while (i < 31 && g_calls[i].fn && strcmp(g_calls[i].fn, fn) != 0) i++;
    g_calls[i].fn = fn; g_calls[i].n = n; memcpy(g_calls[i].args, a, n * sizeof *a);
    g_fn = fn;
}
#define RECORD(name, ...) do { int64_t a_[] = {__VA_ARGS__}; record(name, a_, (int)(sizeof a_ / sizeof a_[0])); } while (0)
static char g_fail_fn[64];
// the status of the call just recorded: the one stub_fail_next set for this function (once), else success
#define RETURN() do { if (g_status && strcmp(g_fn, g_fail_fn) == 0) { int s_ = g_status; g_status = 0; return s_; } return 0; } while (0)
#define P(x) ((int64_t)(intptr_t)(x))

// test controls
int stub_args(const char *fn, int64_t *out) { // the arguments of fn's last call; their count, or -1 if it was not called
    for (int i = 0; i < 32 && g_calls[i].fn; i++)
        if (strcmp(g_calls[i].fn, fn) == 0) { memcpy(out, g_calls[i].args, g_calls[i].n * sizeof *out); return g_calls[i].n; }
    return -1;
}
const char *stub_fn(void) { return g_fn; } // the last function called
void stub_fail_next(const char *fn, int status, const char *message) { // fn's next call fails with status and message
    strncpy(g_fail_fn, fn, sizeof g_fail_fn - 1); g_status = status; strncpy(g_last, message, sizeof g_last - 1);
}
int stub_seq(int i) { return g_seq[i]; }

size_t cudnnGetVersion(void) { return 91400; }
const char *cudnnGetErrorString(cudnnStatus_t s) { return s == 3000 ? "CUDNN_STATUS_NOT_SUPPORTED" : "CUDNN_STATUS_OTHER"; }
void cudnnGetLastErrorString(char *message, size_t max_size) { strncpy(message, g_last, max_size); g_last[0] = 0; }
cudnnStatus_t cudnnAdvVersionCheck(void) { return 0; }

cudnnStatus_t cudnnCreate(cudnnHandle_t *h) { *h = malloc(8); RECORD("cudnnCreate", P(h)); RETURN(); }
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) { RECORD("cudnnDestroy", P(h)); free(h); RETURN(); }
cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) { RECORD("cudnnSetStream", P(h), P(s)); RETURN(); }

cudnnStatus_t cudnnCreateRNNDescriptor(cudnnRNNDescriptor_t *d) { *d = malloc(8); RECORD("cudnnCreateRNNDescriptor", P(d)); RETURN(); }
cudnnStatus_t cudnnDestroyRNNDescriptor(cudnnRNNDescriptor_t d) { RECORD("cudnnDestroyRNNDescriptor", P(d)); free(d); RETURN(); }
cudnnStatus_t cudnnSetRNNDescriptor_v8(cudnnRNNDescriptor_t d, int algo, int cellMode, int biasMode, int dirMode, int inputMode,
                                       int dataType, int mathPrec, int mathType, int32_t inputSize, int32_t hiddenSize,
                                       int32_t projSize, int32_t numLayers, cudnnDropoutDescriptor_t dropout, uint32_t auxFlags) {
    RECORD("cudnnSetRNNDescriptor_v8", P(d), algo, cellMode, biasMode, dirMode, inputMode, dataType, mathPrec, mathType,
           inputSize, hiddenSize, projSize, numLayers, P(dropout), auxFlags);
    RETURN();
}
cudnnStatus_t cudnnBuildRNNDynamic(cudnnHandle_t h, cudnnRNNDescriptor_t d, int miniBatch) {
    RECORD("cudnnBuildRNNDynamic", P(h), P(d), miniBatch); RETURN();
}

cudnnStatus_t cudnnCreateRNNDataDescriptor(cudnnRNNDataDescriptor_t *d) { *d = malloc(8); RECORD("cudnnCreateRNNDataDescriptor", P(d)); RETURN(); }
cudnnStatus_t cudnnDestroyRNNDataDescriptor(cudnnRNNDataDescriptor_t d) { RECORD("cudnnDestroyRNNDataDescriptor", P(d)); free(d); RETURN(); }
cudnnStatus_t cudnnSetRNNDataDescriptor(cudnnRNNDataDescriptor_t d, int dataType, int layout, int maxSeqLength, int batchSize,
                                        int vectorSize, const int seqLengthArray[], void *paddingFill) {
    for (int i = 0; i < batchSize && i < 64; i++) g_seq[i] = seqLengthArray[i];
    RECORD("cudnnSetRNNDataDescriptor", P(d), dataType, layout, maxSeqLength, batchSize, vectorSize, P(seqLengthArray), P(paddingFill));
    RETURN();
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d) { *d = calloc(1, sizeof(tensor_t)); RECORD("cudnnCreateTensorDescriptor", P(d)); RETURN(); }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { RECORD("cudnnDestroyTensorDescriptor", P(d)); free(d); RETURN(); }
cudnnStatus_t cudnnSetTensorNdDescriptor(cudnnTensorDescriptor_t d, int dataType, int nbDims, const int dimA[], const int strideA[]) {
    d->type = dataType; d->nb = nbDims;
    for (int i = 0; i < nbDims && i < 8; i++) { d->dims[i] = dimA[i]; d->strides[i] = strideA[i]; }
    RECORD("cudnnSetTensorNdDescriptor", P(d), dataType, nbDims, P(dimA), P(strideA));
    RETURN();
}
cudnnStatus_t cudnnGetTensorNdDescriptor(const cudnnTensorDescriptor_t d, int nbDimsRequested, int *dataType, int *nbDims,
                                         int dimA[], int strideA[]) {
    *dataType = d->type; *nbDims = d->nb;
    for (int i = 0; i < d->nb && i < nbDimsRequested; i++) { dimA[i] = d->dims[i]; strideA[i] = d->strides[i]; }
    return 0; // not recorded: the test reads the call before it
}

cudnnStatus_t cudnnGetRNNWeightSpaceSize(cudnnHandle_t h, cudnnRNNDescriptor_t d, size_t *size) {
    *size = 123456; RECORD("cudnnGetRNNWeightSpaceSize", P(h), P(d), P(size)); RETURN();
}
cudnnStatus_t cudnnGetRNNTempSpaceSizes(cudnnHandle_t h, cudnnRNNDescriptor_t d, int fwdMode, cudnnRNNDataDescriptor_t x,
                                        size_t *work, size_t *reserve) {
    *work = 777; if (reserve) *reserve = 0;
    RECORD("cudnnGetRNNTempSpaceSizes", P(h), P(d), fwdMode, P(x), P(work), P(reserve)); RETURN();
}
// the matrix at space + 1000·linLayerID + 100000·pseudoLayer, described [1, 5, 3] row-major (hidden 5, 3 columns); the bias
// 500 bytes after it, [1, 5, 1]; linLayerID 0 of layer 0 has no matrix (as with CUDNN_SKIP_INPUT)
cudnnStatus_t cudnnGetRNNWeightParams(cudnnHandle_t h, cudnnRNNDescriptor_t d, int32_t pseudoLayer, size_t weightSpaceSize,
                                      const void *weightSpace, int32_t linLayerID, cudnnTensorDescriptor_t mDesc, void **mAddr,
                                      cudnnTensorDescriptor_t bDesc, void **bAddr) {
    RECORD("cudnnGetRNNWeightParams", P(h), P(d), pseudoLayer, (int64_t)weightSpaceSize, P(weightSpace), linLayerID, P(mDesc),
           P(mAddr), P(bDesc), P(bAddr));
    char *m = (char *)weightSpace + 1000 * linLayerID + 100000 * pseudoLayer;
    *mAddr = (pseudoLayer == 0 && linLayerID == 0) ? NULL : m;
    *bAddr = m + 500;
    int md[3] = {1, 5, 3}, ms[3] = {15, 3, 1}, bd[3] = {1, 5, 1}, bs[3] = {5, 1, 1};
    mDesc->type = 2; mDesc->nb = 3; bDesc->type = 2; bDesc->nb = 3;
    for (int i = 0; i < 3; i++) { mDesc->dims[i] = md[i]; mDesc->strides[i] = ms[i]; bDesc->dims[i] = bd[i]; bDesc->strides[i] = bs[i]; }
    RETURN();
}
cudnnStatus_t cudnnRNNForward(cudnnHandle_t h, cudnnRNNDescriptor_t d, int fwdMode, const int32_t devSeqLengths[],
                              cudnnRNNDataDescriptor_t xDesc, const void *x, cudnnRNNDataDescriptor_t yDesc, void *y,
                              cudnnTensorDescriptor_t hDesc, const void *hx, void *hy, cudnnTensorDescriptor_t cDesc, const void *cx,
                              void *cy, size_t weightSpaceSize, const void *weightSpace, size_t workSpaceSize, void *workSpace,
                              size_t reserveSpaceSize, void *reserveSpace) {
    RECORD("cudnnRNNForward", P(h), P(d), fwdMode, P(devSeqLengths), P(xDesc), P(x), P(yDesc), P(y), P(hDesc), P(hx), P(hy),
           P(cDesc), P(cx), P(cy), (int64_t)weightSpaceSize, P(weightSpace), (int64_t)workSpaceSize, P(workSpace),
           (int64_t)reserveSpaceSize, P(reserveSpace));
    RETURN();
}
