// Reparameterisation of a diagonal Gaussian, z = mu + exp(logvar / 2) * eps, its backward,
// and a counter-based generator of standard normal eps (Philox-4x32-10 + Box-Muller).
//
// Bandwidth: every element-wise kernel walks its input with a grid-stride loop. When all its
// pointers are 16-byte aligned (cudarc's allocations are 256-byte aligned, so whole buffers
// always are), the main loop moves float4s, one 128-bit load per input and thread; the last
// n % 4 elements, or everything when a pointer is misaligned, take the scalar loop.

// u32, u64, aligned16, thread_index and thread_count come from common.cuh, which
// src/cuda/compile.rs puts in front of this file.

// z = mu + sigma * eps with sigma = exp(logvar / 2).
__device__ __forceinline__ float reparam(float mu, float logvar, float eps) {
    return fmaf(expf(0.5f * logvar), eps, mu);
}

// dz/dlogvar = eps * sigma / 2.
__device__ __forceinline__ float reparam_dlogvar(float dz, float logvar, float eps) {
    return dz * eps * 0.5f * expf(0.5f * logvar);
}

extern "C" __global__ void reparameterize_forward(
    const float *__restrict__ mu, const float *__restrict__ logvar,
    const float *__restrict__ eps, float *__restrict__ z, u64 n) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 tail = 0;

    if (aligned16(mu) && aligned16(logvar) && aligned16(eps) && aligned16(z)) {
        u64 n4 = n / 4;
        const float4 *mu4 = reinterpret_cast<const float4 *>(mu);
        const float4 *lv4 = reinterpret_cast<const float4 *>(logvar);
        const float4 *eps4 = reinterpret_cast<const float4 *>(eps);
        float4 *z4 = reinterpret_cast<float4 *>(z);
        for (u64 i = start; i < n4; i += stride) {
            float4 m = mu4[i];
            float4 l = lv4[i];
            float4 e = eps4[i];
            z4[i] = make_float4(reparam(m.x, l.x, e.x), reparam(m.y, l.y, e.y),
                                reparam(m.z, l.z, e.z), reparam(m.w, l.w, e.w));
        }
        tail = n4 * 4;
    }

    for (u64 i = tail + start; i < n; i += stride) {
        z[i] = reparam(mu[i], logvar[i], eps[i]);
    }
}

// dmu = dz, dlogvar = dz * eps * exp(logvar / 2) / 2.
extern "C" __global__ void reparameterize_backward(
    const float *__restrict__ dz, const float *__restrict__ logvar,
    const float *__restrict__ eps, float *__restrict__ dmu, float *__restrict__ dlogvar,
    u64 n) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 tail = 0;

    if (aligned16(dz) && aligned16(logvar) && aligned16(eps) && aligned16(dmu) &&
        aligned16(dlogvar)) {
        u64 n4 = n / 4;
        const float4 *dz4 = reinterpret_cast<const float4 *>(dz);
        const float4 *lv4 = reinterpret_cast<const float4 *>(logvar);
        const float4 *eps4 = reinterpret_cast<const float4 *>(eps);
        float4 *dmu4 = reinterpret_cast<float4 *>(dmu);
        float4 *dlv4 = reinterpret_cast<float4 *>(dlogvar);
        for (u64 i = start; i < n4; i += stride) {
            float4 g = dz4[i];
            float4 l = lv4[i];
            float4 e = eps4[i];
            dmu4[i] = g;
            dlv4[i] = make_float4(
                reparam_dlogvar(g.x, l.x, e.x), reparam_dlogvar(g.y, l.y, e.y),
                reparam_dlogvar(g.z, l.z, e.z), reparam_dlogvar(g.w, l.w, e.w));
        }
        tail = n4 * 4;
    }

    for (u64 i = tail + start; i < n; i += stride) {
        dmu[i] = dz[i];
        dlogvar[i] = reparam_dlogvar(dz[i], logvar[i], eps[i]);
    }
}

// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
// ten rounds of two 32x32->64 multiplications mixing a 128-bit counter under a 64-bit key
// that is bumped by the Weyl constants between rounds. The Rust twin is
// `src/cuda/philox.rs`; both must stay bit-identical.
__device__ __forceinline__ void philox4x32_10(u32 ctr[4], u32 k0, u32 k1) {
    const u32 M0 = 0xD2511F53u;
    const u32 M1 = 0xCD9E8D57u;
    const u32 W0 = 0x9E3779B9u;
    const u32 W1 = 0xBB67AE85u;

    for (int round = 0; round < 10; ++round) {
        u32 hi0 = __umulhi(M0, ctr[0]);
        u32 lo0 = M0 * ctr[0];
        u32 hi1 = __umulhi(M1, ctr[2]);
        u32 lo1 = M1 * ctr[2];
        u32 c1 = ctr[1];
        u32 c3 = ctr[3];
        ctr[0] = hi1 ^ c1 ^ k0;
        ctr[1] = lo1;
        ctr[2] = hi0 ^ c3 ^ k1;
        ctr[3] = lo0;
        k0 += W0;
        k1 += W1;
    }
}

// A uniform in (0, 1) from the top 24 bits of x: exact in f32 and never 0 or 1.
__device__ __forceinline__ float unit_open(u32 x) {
    return (static_cast<float>(x >> 8) + 0.5f) * 5.9604644775390625e-8f;
}

// Box-Muller: two uniforms to two independent standard normals.
__device__ __forceinline__ void box_muller(u32 a, u32 b, float *z0, float *z1) {
    float radius = sqrtf(-2.0f * logf(unit_open(a)));
    float s;
    float c;
    sincospif(2.0f * unit_open(b), &s, &c);
    *z0 = radius * c;
    *z1 = radius * s;
}

// out[j] = normal number `offset + j` of the stream selected by `seed`, for j < n.
//
// Stream position p comes from Philox block p / 4 (counter = (p / 4) as two words, then 0, 0;
// key = seed as two words), lane p % 4: lanes 0 and 1 are the cosine and sine of Box-Muller
// on words 0 and 1, lanes 2 and 3 the same on words 2 and 3. Each thread makes one block and
// stores the lanes that fall in [offset, offset + n), so any offset works. n must be > 0.
extern "C" __global__ void standard_normal(float *__restrict__ out, u64 n, u64 seed, u64 offset) {
    u64 first = offset / 4;
    u64 last = (offset + n - 1) / 4;
    u32 k0 = static_cast<u32>(seed);
    u32 k1 = static_cast<u32>(seed >> 32);

    for (u64 block = first + thread_index(); block <= last; block += thread_count()) {
        u32 ctr[4] = {static_cast<u32>(block), static_cast<u32>(block >> 32), 0u, 0u};
        philox4x32_10(ctr, k0, k1);

        float z[4];
        box_muller(ctr[0], ctr[1], &z[0], &z[1]);
        box_muller(ctr[2], ctr[3], &z[2], &z[3]);

        for (u32 lane = 0; lane < 4; ++lane) {
            u64 position = block * 4 + lane;
            if (position >= offset && position - offset < n) {
                out[position - offset] = z[lane];
            }
        }
    }
}
