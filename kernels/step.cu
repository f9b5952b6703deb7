// The primitives of DMIL's explicit training step (src/step/) that are not matrix products:
// each kernel here is the device twin of one method of src/step/cpu.rs, which states the
// maths; src/cuda/backend.rs launches them. Matrix products go through cuBLAS.
//
// Element-wise kernels use grid-stride loops over n elements. Reductions into the loss
// statistics (`stats[slot]`) sum per block with block_sum and add one atomic per block, so
// their last bits may vary from run to run. Every kernel that reduces must be launched with
// blockDim.x a multiple of 32 (src/cuda/device.rs uses 256).

// u32, u64, thread_index, thread_count, warp_sum and block_sum come from common.cuh, which
// src/cuda/compile.rs puts in front of this file.

// The clamp of every log-variance inside the KL terms (crate::nn::loss::LOGVAR_RANGE).
#define LOGVAR_LO -30.0f
#define LOGVAR_HI 30.0f

// -infinity, the identity of max (NVRTC has no <math.h> INFINITY).
#define NEG_INF __int_as_float(0xff800000)

// ---- layers ----------------------------------------------------------------------------

// x[r, c] += bias[c] for x of [rows, cols]; n = rows * cols.
extern "C" __global__ void add_bias(float *__restrict__ x, const float *__restrict__ bias,
                                    u64 n, u64 cols) {
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        x[i] += bias[i % cols];
    }
}

// out[c] += sum over rows of x[r, c]. Item t of the grid sums column t % cols over the rows
// of chunk t / cols (chunks of `chunk` rows), then adds its partial sum atomically.
extern "C" __global__ void add_column_sums(const float *__restrict__ x, float *__restrict__ out,
                                           u64 rows, u64 cols, u64 chunk) {
    u64 chunks = (rows + chunk - 1) / chunk;
    for (u64 t = thread_index(); t < chunks * cols; t += thread_count()) {
        u64 c = t % cols;
        u64 first = (t / cols) * chunk;
        u64 last = min(first + chunk, rows);
        float acc = 0.0f;
        for (u64 r = first; r < last; ++r) {
            acc += x[r * cols + c];
        }
        atomicAdd(out + c, acc);
    }
}

extern "C" __global__ void relu_forward(float *__restrict__ x, u64 n) {
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        x[i] = fmaxf(x[i], 0.0f);
    }
}

// dy *= (y > 0): the gradient at 0 is 0.
extern "C" __global__ void relu_backward(const float *__restrict__ y, float *__restrict__ dy,
                                         u64 n) {
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    }
}

// x *= mask: dropout forward and backward with a supplied mask.
extern "C" __global__ void mul_assign(float *__restrict__ x, const float *__restrict__ mask,
                                      u64 n) {
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        x[i] *= mask[i];
    }
}

// Turns standard normals into an inverted-dropout mask in place: an element is kept (set to
// 1 / (1 - p)) when Phi(z) >= p, which for a standard normal z happens with probability
// 1 - p; otherwise it is set to 0.
extern "C" __global__ void dropout_mask(float *__restrict__ z, u64 n, float p) {
    float keep = 1.0f / (1.0f - p);
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        z[i] = normcdff(z[i]) >= p ? keep : 0.0f;
    }
}

// dst[r, offset + j] = src[r, j] for src of [rows, width], dst of [rows, dst_cols].
extern "C" __global__ void put_columns(const float *__restrict__ src, float *__restrict__ dst,
                                       u64 rows, u64 width, u64 dst_cols, u64 offset) {
    u64 n = rows * width;
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        dst[(i / width) * dst_cols + offset + i % width] = src[i];
    }
}

// dst[r, j] += src[r, offset + j] for src of [rows, src_cols], dst of [rows, width].
extern "C" __global__ void add_columns(const float *__restrict__ src, float *__restrict__ dst,
                                       u64 rows, u64 width, u64 src_cols, u64 offset) {
    u64 n = rows * width;
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        dst[i] += src[(i / width) * src_cols + offset + i % width];
    }
}

// ---- sampling and synergy --------------------------------------------------------------

// dmu += dz, dlv += dz * eps * exp(lv / 2) / 2.
extern "C" __global__ void reparameterize_backward_add(
    const float *__restrict__ dz, const float *__restrict__ lv, const float *__restrict__ eps,
    float *__restrict__ dmu, float *__restrict__ dlv, u64 n) {
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        dmu[i] += dz[i];
        dlv[i] += dz[i] * eps[i] * 0.5f * expf(0.5f * lv[i]);
    }
}

// da += dp * b, db += dp * a.
extern "C" __global__ void product_backward_add(
    const float *__restrict__ dp, const float *__restrict__ a, const float *__restrict__ b,
    float *__restrict__ da, float *__restrict__ db, u64 n) {
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        da[i] += dp[i] * b[i];
        db[i] += dp[i] * a[i];
    }
}

// ---- losses ----------------------------------------------------------------------------

// One warp per row of logits [rows, cols]: the row's log-sum-exp by warp reductions, the
// gradient scale * (softmax - onehot) written, and the row's loss summed over the block into
// stats[slot] with one atomic.
extern "C" __global__ void cross_entropy(
    const float *__restrict__ logits, const float *__restrict__ labels, u64 rows, u64 cols,
    float scale, float *__restrict__ stats, u64 slot, float *__restrict__ dlogits) {
    u64 warps = thread_count() / 32;
    u32 lane = threadIdx.x % 32;
    float acc = 0.0f;

    for (u64 r = thread_index() / 32; r < rows; r += warps) {
        const float *x = logits + r * cols;
        float *d = dlogits + r * cols;
        u64 label = static_cast<u64>(labels[r]);

        float max = NEG_INF;
        for (u64 c = lane; c < cols; c += 32) {
            max = fmaxf(max, x[c]);
        }
        for (int delta = 16; delta > 0; delta /= 2) {
            max = fmaxf(max, __shfl_xor_sync(FULL_MASK, max, delta));
        }
        float sum = 0.0f;
        for (u64 c = lane; c < cols; c += 32) {
            sum += expf(x[c] - max);
        }
        float log_sum = max + logf(warp_sum(sum));

        for (u64 c = lane; c < cols; c += 32) {
            float onehot = c == label ? 1.0f : 0.0f;
            d[c] = scale * (expf(x[c] - log_sum) - onehot);
        }
        if (lane == 0) {
            acc += log_sum - x[label];
        }
    }

    acc = block_sum(acc);
    if (threadIdx.x == 0) {
        atomicAdd(stats + slot, scale * acc);
    }
}

// lv clamped to the log-variance range; *inside = 1 within it, 0 outside (the clamp's
// derivative).
__device__ __forceinline__ float clamp_logvar(float lv, float *inside) {
    *inside = (lv >= LOGVAR_LO && lv <= LOGVAR_HI) ? 1.0f : 0.0f;
    return fminf(fmaxf(lv, LOGVAR_LO), LOGVAR_HI);
}

// KL(N(mu, e^lv) || N(0, 1)) summed, times scale, into stats[slot]; gradients added.
extern "C" __global__ void kl_standard_normal(
    const float *__restrict__ mu, const float *__restrict__ lv, u64 n, float scale,
    float *__restrict__ stats, u64 slot, float *__restrict__ dmu, float *__restrict__ dlv) {
    float acc = 0.0f;
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        float inside;
        float l = clamp_logvar(lv[i], &inside);
        float var = expf(l);
        acc += 0.5f * (var + mu[i] * mu[i] - 1.0f - l);
        dmu[i] += scale * mu[i];
        dlv[i] += scale * inside * 0.5f * (var - 1.0f);
    }

    acc = block_sum(acc);
    if (threadIdx.x == 0) {
        atomicAdd(stats + slot, scale * acc);
    }
}

// KL(N(mq, e^lq) || N(mp, e^lp)) summed, times scale, into stats[slot]; gradients added to
// all four inputs.
extern "C" __global__ void kl_gaussians(
    const float *__restrict__ mq, const float *__restrict__ lq, const float *__restrict__ mp,
    const float *__restrict__ lp, u64 n, float scale, float *__restrict__ stats, u64 slot,
    float *__restrict__ dmq, float *__restrict__ dlq, float *__restrict__ dmp,
    float *__restrict__ dlp) {
    float acc = 0.0f;
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        float in_q;
        float in_p;
        float q = clamp_logvar(lq[i], &in_q);
        float p = clamp_logvar(lp[i], &in_p);
        float d = mq[i] - mp[i];
        float ratio = expf(q - p);
        float inv_vp = expf(-p);
        acc += 0.5f * (p - q + ratio + d * d * inv_vp - 1.0f);

        float g_mean = scale * d * inv_vp;
        dmq[i] += g_mean;
        dmp[i] -= g_mean;
        dlq[i] += scale * in_q * 0.5f * (ratio - 1.0f);
        dlp[i] += scale * in_p * 0.5f * (1.0f - ratio - d * d * inv_vp);
    }

    acc = block_sum(acc);
    if (threadIdx.x == 0) {
        atomicAdd(stats + slot, scale * acc);
    }
}

// Squared error summed, times scale, into stats[slot]; dpred = 2 scale (pred - target).
extern "C" __global__ void mse(const float *__restrict__ pred, const float *__restrict__ target,
                               u64 n, float scale, float *__restrict__ stats, u64 slot,
                               float *__restrict__ dpred) {
    float acc = 0.0f;
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        float d = pred[i] - target[i];
        acc += d * d;
        dpred[i] = 2.0f * scale * d;
    }

    acc = block_sum(acc);
    if (threadIdx.x == 0) {
        atomicAdd(stats + slot, scale * acc);
    }
}

// ---- the gate --------------------------------------------------------------------------

// One thread per row: weights = softmax(gate_logits[r]) over k components, and
// logits[r, c] = sum_j weights[r, j] stacked[r, j * classes + c].
extern "C" __global__ void gate_forward(
    const float *__restrict__ gate_logits, const float *__restrict__ stacked, u64 rows, u64 k,
    u64 classes, float *__restrict__ weights, float *__restrict__ logits) {
    for (u64 r = thread_index(); r < rows; r += thread_count()) {
        const float *g = gate_logits + r * k;
        float *w = weights + r * k;
        float max = NEG_INF;
        for (u64 j = 0; j < k; ++j) {
            max = fmaxf(max, g[j]);
        }
        float sum = 0.0f;
        for (u64 j = 0; j < k; ++j) {
            w[j] = expf(g[j] - max);
            sum += w[j];
        }
        for (u64 j = 0; j < k; ++j) {
            w[j] /= sum;
        }

        const float *s = stacked + r * k * classes;
        for (u64 c = 0; c < classes; ++c) {
            float acc = 0.0f;
            for (u64 j = 0; j < k; ++j) {
                acc += w[j] * s[j * classes + c];
            }
            logits[r * classes + c] = acc;
        }
    }
}

// One thread per row: dstacked[r, j C + c] = w[r, j] dlogits[r, c], and the softmax's
// backward dgate[r, j] = w[r, j] (dw[r, j] - sum_i w[r, i] dw[r, i]) with
// dw[r, j] = sum_c dlogits[r, c] stacked[r, j C + c].
extern "C" __global__ void gate_backward(
    const float *__restrict__ dlogits, const float *__restrict__ weights,
    const float *__restrict__ stacked, u64 rows, u64 k, u64 classes,
    float *__restrict__ dstacked, float *__restrict__ dgate) {
    for (u64 r = thread_index(); r < rows; r += thread_count()) {
        const float *dl = dlogits + r * classes;
        const float *w = weights + r * k;
        const float *s = stacked + r * k * classes;
        float *ds = dstacked + r * k * classes;
        float *dg = dgate + r * k;

        float dot = 0.0f;
        for (u64 j = 0; j < k; ++j) {
            float dw = 0.0f;
            for (u64 c = 0; c < classes; ++c) {
                ds[j * classes + c] = w[j] * dl[c];
                dw += dl[c] * s[j * classes + c];
            }
            dg[j] = dw;
            dot += w[j] * dw;
        }
        for (u64 j = 0; j < k; ++j) {
            dg[j] = w[j] * (dg[j] - dot);
        }
    }
}

// ---- the optimizer ---------------------------------------------------------------------

// stats[slot] += sum g^2.
extern "C" __global__ void sum_squares(const float *__restrict__ g, u64 n,
                                       float *__restrict__ stats, u64 slot) {
    float acc = 0.0f;
    for (u64 i = thread_index(); i < n; i += thread_count()) {
        acc += g[i] * g[i];
    }

    acc = block_sum(acc);
    if (threadIdx.x == 0) {
        atomicAdd(stats + slot, acc);
    }
}

// One Adam update with an L2 penalty, after scaling the gradient to a global norm of at most
// max_norm (when max_norm > 0); nothing happens when the loss terms stats[0..loss_slots] or
// the squared norm stats[norm_slot] are not finite.
extern "C" __global__ void adam(
    float *__restrict__ p, const float *__restrict__ g, float *__restrict__ m,
    float *__restrict__ v, u64 n, const float *__restrict__ stats, u64 norm_slot,
    u64 loss_slots, float step_size, float root_correction2, float beta1, float beta2,
    float eps, float weight_decay, float max_norm) {
    float loss = 0.0f;
    for (u64 s = 0; s < loss_slots; ++s) {
        loss += stats[s];
    }
    float squares = stats[norm_slot];
    if (!isfinite(loss) || !isfinite(squares)) {
        return;
    }
    float clip = 1.0f;
    if (max_norm > 0.0f) {
        double scale = (double)max_norm / (sqrt((double)squares) + 1e-6);
        clip = scale < 1.0 ? (float)scale : 1.0f;
    }

    for (u64 i = thread_index(); i < n; i += thread_count()) {
        float grad = g[i] * clip + weight_decay * p[i];
        m[i] = beta1 * m[i] + (1.0f - beta1) * grad;
        v[i] = beta2 * v[i] + (1.0f - beta2) * grad * grad;
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / root_correction2 + eps);
    }
}
