// Helpers shared by every kernel file. src/cuda/compile.rs puts this text in front of each
// file before NVRTC compiles it, followed by a #line directive, so diagnostics still name the
// kernel file and its own line numbers.

typedef unsigned int u32;
typedef unsigned long long u64;

// True when p can be read and written as float4 (16-byte aligned).
__device__ __forceinline__ bool aligned16(const void *p) {
    return (reinterpret_cast<u64>(p) & 15ull) == 0;
}

// This thread's index in the whole grid: the start of its grid-stride loop.
__device__ __forceinline__ u64 thread_index() {
    return static_cast<u64>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// Threads in the whole grid: the step of a grid-stride loop.
__device__ __forceinline__ u64 thread_count() {
    return static_cast<u64>(gridDim.x) * blockDim.x;
}

#define FULL_MASK 0xffffffffu

// Sum over the 32 lanes of a warp; every lane gets the result.
__device__ __forceinline__ float warp_sum(float v) {
    for (int delta = 16; delta > 0; delta /= 2) {
        v += __shfl_xor_sync(FULL_MASK, v, delta);
    }
    return v;
}

// Sum over the block; the result is valid in thread 0. blockDim.x must be a multiple of 32,
// and every thread of the block must call it.
__device__ float block_sum(float v) {
    __shared__ float partial[32];
    u32 lane = threadIdx.x % 32;
    u32 warp = threadIdx.x / 32;

    v = warp_sum(v);
    if (lane == 0) {
        partial[warp] = v;
    }
    __syncthreads();

    if (warp == 0) {
        v = lane < blockDim.x / 32 ? partial[lane] : 0.0f;
        v = warp_sum(v);
    }
    return v;
}
