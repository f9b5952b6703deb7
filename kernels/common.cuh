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
