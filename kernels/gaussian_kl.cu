// KL divergences of diagonal Gaussians and their gradients, on row-major [rows, cols] inputs.
//
//   standard: KL(N(mu, exp(lv)) || N(0, I))       = 0.5 * sum(exp(lv) + mu^2 - 1 - lv)
//   pair:     KL(N(mq, exp(lq)) || N(mp, exp(lp))) = 0.5 * sum(lp - lq + (exp(lq) + (mq - mp)^2)
//                                                              / exp(lp) - 1)
//
// Each comes reduced per row (`*_rows`: one warp per row, lanes read consecutive columns, a
// warp shuffle sums them, output [rows]) or over everything (`*_sum`: grid-stride partial sums,
// a block reduction, then one atomicAdd per block into out[0], which the caller zeroes first;
// the order of those atomics varies, so the last bits of the sum may vary between runs).
//
// Backward kernels are element-wise: g is the upstream gradient, one value per row
// (per_row = 1, g has [rows]) or a single value (per_row = 0). Loads are float4 when every
// pointer is 16-byte aligned (and, for per-row kernels, cols % 4 == 0, so a float4 never
// straddles two rows); otherwise, and for the tail, scalar.

// u32, u64, aligned16, thread_index, thread_count, warp_sum and block_sum come from
// common.cuh, which src/cuda/compile.rs puts in front of this file.

// The summands, before the factor 0.5.
__device__ __forceinline__ float std_term(float mu, float lv) {
    return expf(lv) + mu * mu - 1.0f - lv;
}

// (exp(lq) + d^2) / exp(lp) is computed as exp(lq - lp) + d^2 * exp(-lp), which neither
// overflows nor loses precision when both variances are large or small together.
__device__ __forceinline__ float pair_term(float mq, float lq, float mp, float lp) {
    float d = mq - mp;
    return lp - lq + expf(lq - lp) + d * d * expf(-lp) - 1.0f;
}

__device__ __forceinline__ float std_term4(float4 m, float4 l) {
    return std_term(m.x, l.x) + std_term(m.y, l.y) + std_term(m.z, l.z) + std_term(m.w, l.w);
}

__device__ __forceinline__ float pair_term4(float4 mq, float4 lq, float4 mp, float4 lp) {
    return pair_term(mq.x, lq.x, mp.x, lp.x) + pair_term(mq.y, lq.y, mp.y, lp.y) +
           pair_term(mq.z, lq.z, mp.z, lp.z) + pair_term(mq.w, lq.w, mp.w, lp.w);
}

// ---- standard normal prior ----------------------------------------------------------------

extern "C" __global__ void kl_std_sum(
    const float *__restrict__ mu, const float *__restrict__ lv, float *__restrict__ out, u64 n) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 tail = 0;
    float acc = 0.0f;

    if (aligned16(mu) && aligned16(lv)) {
        u64 n4 = n / 4;
        const float4 *mu4 = reinterpret_cast<const float4 *>(mu);
        const float4 *lv4 = reinterpret_cast<const float4 *>(lv);
        for (u64 i = start; i < n4; i += stride) {
            acc += std_term4(mu4[i], lv4[i]);
        }
        tail = n4 * 4;
    }
    for (u64 i = tail + start; i < n; i += stride) {
        acc += std_term(mu[i], lv[i]);
    }

    acc = block_sum(acc);
    if (threadIdx.x == 0) {
        atomicAdd(out, 0.5f * acc);
    }
}

extern "C" __global__ void kl_std_rows(
    const float *__restrict__ mu, const float *__restrict__ lv, float *__restrict__ out,
    u64 rows, u64 cols) {
    u64 first_warp = thread_index() / 32;
    u64 warps = thread_count() / 32;
    u32 lane = threadIdx.x % 32;
    bool vec = aligned16(mu) && aligned16(lv) && cols % 4 == 0;

    for (u64 r = first_warp; r < rows; r += warps) {
        const float *m = mu + r * cols;
        const float *l = lv + r * cols;
        float acc = 0.0f;
        if (vec) {
            const float4 *m4 = reinterpret_cast<const float4 *>(m);
            const float4 *l4 = reinterpret_cast<const float4 *>(l);
            for (u64 c = lane; c < cols / 4; c += 32) {
                acc += std_term4(m4[c], l4[c]);
            }
        } else {
            for (u64 c = lane; c < cols; c += 32) {
                acc += std_term(m[c], l[c]);
            }
        }

        acc = warp_sum(acc);
        if (lane == 0) {
            out[r] = 0.5f * acc;
        }
    }
}

// dmu = g * mu, dlv = g * (exp(lv) - 1) / 2.
extern "C" __global__ void kl_std_backward(
    const float *__restrict__ g, const float *__restrict__ mu, const float *__restrict__ lv,
    float *__restrict__ dmu, float *__restrict__ dlv, u64 n, u64 cols, u32 per_row) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 tail = 0;

    if (aligned16(mu) && aligned16(lv) && aligned16(dmu) && aligned16(dlv) &&
        (per_row == 0 || cols % 4 == 0)) {
        u64 n4 = n / 4;
        const float4 *mu4 = reinterpret_cast<const float4 *>(mu);
        const float4 *lv4 = reinterpret_cast<const float4 *>(lv);
        float4 *dmu4 = reinterpret_cast<float4 *>(dmu);
        float4 *dlv4 = reinterpret_cast<float4 *>(dlv);
        for (u64 i = start; i < n4; i += stride) {
            float gi = per_row ? g[i * 4 / cols] : g[0];
            float4 m = mu4[i];
            float4 l = lv4[i];
            dmu4[i] = make_float4(gi * m.x, gi * m.y, gi * m.z, gi * m.w);
            float h = 0.5f * gi;
            dlv4[i] = make_float4(h * (expf(l.x) - 1.0f), h * (expf(l.y) - 1.0f),
                                  h * (expf(l.z) - 1.0f), h * (expf(l.w) - 1.0f));
        }
        tail = n4 * 4;
    }

    for (u64 i = tail + start; i < n; i += stride) {
        float gi = per_row ? g[i / cols] : g[0];
        dmu[i] = gi * mu[i];
        dlv[i] = 0.5f * gi * (expf(lv[i]) - 1.0f);
    }
}

// ---- two diagonal Gaussians ---------------------------------------------------------------

extern "C" __global__ void kl_pair_sum(
    const float *__restrict__ mq, const float *__restrict__ lq, const float *__restrict__ mp,
    const float *__restrict__ lp, float *__restrict__ out, u64 n) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 tail = 0;
    float acc = 0.0f;

    if (aligned16(mq) && aligned16(lq) && aligned16(mp) && aligned16(lp)) {
        u64 n4 = n / 4;
        const float4 *mq4 = reinterpret_cast<const float4 *>(mq);
        const float4 *lq4 = reinterpret_cast<const float4 *>(lq);
        const float4 *mp4 = reinterpret_cast<const float4 *>(mp);
        const float4 *lp4 = reinterpret_cast<const float4 *>(lp);
        for (u64 i = start; i < n4; i += stride) {
            acc += pair_term4(mq4[i], lq4[i], mp4[i], lp4[i]);
        }
        tail = n4 * 4;
    }
    for (u64 i = tail + start; i < n; i += stride) {
        acc += pair_term(mq[i], lq[i], mp[i], lp[i]);
    }

    acc = block_sum(acc);
    if (threadIdx.x == 0) {
        atomicAdd(out, 0.5f * acc);
    }
}

extern "C" __global__ void kl_pair_rows(
    const float *__restrict__ mq, const float *__restrict__ lq, const float *__restrict__ mp,
    const float *__restrict__ lp, float *__restrict__ out, u64 rows, u64 cols) {
    u64 first_warp = thread_index() / 32;
    u64 warps = thread_count() / 32;
    u32 lane = threadIdx.x % 32;
    bool vec = aligned16(mq) && aligned16(lq) && aligned16(mp) && aligned16(lp) &&
               cols % 4 == 0;

    for (u64 r = first_warp; r < rows; r += warps) {
        u64 base = r * cols;
        float acc = 0.0f;
        if (vec) {
            const float4 *mq4 = reinterpret_cast<const float4 *>(mq + base);
            const float4 *lq4 = reinterpret_cast<const float4 *>(lq + base);
            const float4 *mp4 = reinterpret_cast<const float4 *>(mp + base);
            const float4 *lp4 = reinterpret_cast<const float4 *>(lp + base);
            for (u64 c = lane; c < cols / 4; c += 32) {
                acc += pair_term4(mq4[c], lq4[c], mp4[c], lp4[c]);
            }
        } else {
            for (u64 c = lane; c < cols; c += 32) {
                acc += pair_term(mq[base + c], lq[base + c], mp[base + c], lp[base + c]);
            }
        }

        acc = warp_sum(acc);
        if (lane == 0) {
            out[r] = 0.5f * acc;
        }
    }
}

// With d = mq - mp and r = exp(lq - lp):
//   dmq = g * d / exp(lp)              dmp = -dmq
//   dlq = g * (r - 1) / 2              dlp = g * (1 - r - d^2 / exp(lp)) / 2
struct PairGrad {
    float dmq;
    float dlq;
    float dmp;
    float dlp;
};

__device__ __forceinline__ PairGrad pair_grad(float g, float mq, float lq, float mp, float lp) {
    float d = mq - mp;
    float inv_vp = expf(-lp);
    float ratio = expf(lq - lp);
    PairGrad out;
    out.dmq = g * d * inv_vp;
    out.dmp = -out.dmq;
    out.dlq = 0.5f * g * (ratio - 1.0f);
    out.dlp = 0.5f * g * (1.0f - ratio - d * d * inv_vp);
    return out;
}

extern "C" __global__ void kl_pair_backward(
    const float *__restrict__ g, const float *__restrict__ mq, const float *__restrict__ lq,
    const float *__restrict__ mp, const float *__restrict__ lp, float *__restrict__ dmq,
    float *__restrict__ dlq, float *__restrict__ dmp, float *__restrict__ dlp, u64 n, u64 cols,
    u32 per_row) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 tail = 0;

    if (aligned16(mq) && aligned16(lq) && aligned16(mp) && aligned16(lp) && aligned16(dmq) &&
        aligned16(dlq) && aligned16(dmp) && aligned16(dlp) && (per_row == 0 || cols % 4 == 0)) {
        u64 n4 = n / 4;
        for (u64 i = start; i < n4; i += stride) {
            float gi = per_row ? g[i * 4 / cols] : g[0];
            float4 a = reinterpret_cast<const float4 *>(mq)[i];
            float4 b = reinterpret_cast<const float4 *>(lq)[i];
            float4 c = reinterpret_cast<const float4 *>(mp)[i];
            float4 d = reinterpret_cast<const float4 *>(lp)[i];
            PairGrad x = pair_grad(gi, a.x, b.x, c.x, d.x);
            PairGrad y = pair_grad(gi, a.y, b.y, c.y, d.y);
            PairGrad z = pair_grad(gi, a.z, b.z, c.z, d.z);
            PairGrad w = pair_grad(gi, a.w, b.w, c.w, d.w);
            reinterpret_cast<float4 *>(dmq)[i] = make_float4(x.dmq, y.dmq, z.dmq, w.dmq);
            reinterpret_cast<float4 *>(dlq)[i] = make_float4(x.dlq, y.dlq, z.dlq, w.dlq);
            reinterpret_cast<float4 *>(dmp)[i] = make_float4(x.dmp, y.dmp, z.dmp, w.dmp);
            reinterpret_cast<float4 *>(dlp)[i] = make_float4(x.dlp, y.dlp, z.dlp, w.dlp);
        }
        tail = n4 * 4;
    }

    for (u64 i = tail + start; i < n; i += stride) {
        float gi = per_row ? g[i / cols] : g[0];
        PairGrad x = pair_grad(gi, mq[i], lq[i], mp[i], lp[i]);
        dmq[i] = x.dmq;
        dlq[i] = x.dlq;
        dmp[i] = x.dmp;
        dlp[i] = x.dlp;
    }
}
