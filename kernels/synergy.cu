// The synergy feature of DMIL: the element-wise product p = a * b of two modality codes, and
// the fused concatenation S = [a, b, a * b] along the last axis of row-major [rows, cols]
// inputs (the input of the synergy head, Linear([N1, N2, N1 * N2])), with their backwards.
//
// Grid-stride loops throughout. When every pointer is 16-byte aligned (cudarc's allocations
// are 256-byte aligned) the main loop moves float4s; for the fused kernels cols % 4 == 0 is
// needed as well, so that the three output segments of a row stay 16-byte aligned and a float4
// never straddles two rows. Everything else takes the scalar loop.

// u32, u64, aligned16, thread_index and thread_count come from common.cuh, which
// src/cuda/compile.rs puts in front of this file.

__device__ __forceinline__ float4 mul4(float4 a, float4 b) {
    return make_float4(a.x * b.x, a.y * b.y, a.z * b.z, a.w * b.w);
}

// a * b + c, lane by lane.
__device__ __forceinline__ float4 fma4(float4 a, float4 b, float4 c) {
    return make_float4(fmaf(a.x, b.x, c.x), fmaf(a.y, b.y, c.y), fmaf(a.z, b.z, c.z),
                       fmaf(a.w, b.w, c.w));
}

// p = a * b.
extern "C" __global__ void product_forward(
    const float *__restrict__ a, const float *__restrict__ b, float *__restrict__ p, u64 n) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 tail = 0;

    if (aligned16(a) && aligned16(b) && aligned16(p)) {
        u64 n4 = n / 4;
        const float4 *a4 = reinterpret_cast<const float4 *>(a);
        const float4 *b4 = reinterpret_cast<const float4 *>(b);
        float4 *p4 = reinterpret_cast<float4 *>(p);
        for (u64 i = start; i < n4; i += stride) {
            p4[i] = mul4(a4[i], b4[i]);
        }
        tail = n4 * 4;
    }

    for (u64 i = tail + start; i < n; i += stride) {
        p[i] = a[i] * b[i];
    }
}

// da = dp * b, db = dp * a.
extern "C" __global__ void product_backward(
    const float *__restrict__ dp, const float *__restrict__ a, const float *__restrict__ b,
    float *__restrict__ da, float *__restrict__ db, u64 n) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 tail = 0;

    if (aligned16(dp) && aligned16(a) && aligned16(b) && aligned16(da) && aligned16(db)) {
        u64 n4 = n / 4;
        const float4 *dp4 = reinterpret_cast<const float4 *>(dp);
        const float4 *a4 = reinterpret_cast<const float4 *>(a);
        const float4 *b4 = reinterpret_cast<const float4 *>(b);
        float4 *da4 = reinterpret_cast<float4 *>(da);
        float4 *db4 = reinterpret_cast<float4 *>(db);
        for (u64 i = start; i < n4; i += stride) {
            float4 g = dp4[i];
            da4[i] = mul4(g, b4[i]);
            db4[i] = mul4(g, a4[i]);
        }
        tail = n4 * 4;
    }

    for (u64 i = tail + start; i < n; i += stride) {
        da[i] = dp[i] * b[i];
        db[i] = dp[i] * a[i];
    }
}

// s[r, 0..cols] = a[r], s[r, cols..2 cols] = b[r], s[r, 2 cols..3 cols] = a[r] * b[r].
extern "C" __global__ void features_forward(
    const float *__restrict__ a, const float *__restrict__ b, float *__restrict__ s, u64 rows,
    u64 cols) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 n = rows * cols;

    if (aligned16(a) && aligned16(b) && aligned16(s) && cols % 4 == 0) {
        const float4 *a4 = reinterpret_cast<const float4 *>(a);
        const float4 *b4 = reinterpret_cast<const float4 *>(b);
        float4 *s4 = reinterpret_cast<float4 *>(s);
        u64 cols4 = cols / 4;
        for (u64 i = start; i < n / 4; i += stride) {
            u64 r = i / cols4;
            u64 c = i - r * cols4;
            float4 x = a4[i];
            float4 y = b4[i];
            float4 *row = s4 + r * 3 * cols4;
            row[c] = x;
            row[cols4 + c] = y;
            row[2 * cols4 + c] = mul4(x, y);
        }
        return;
    }

    for (u64 i = start; i < n; i += stride) {
        u64 r = i / cols;
        u64 c = i - r * cols;
        float x = a[i];
        float y = b[i];
        float *row = s + r * 3 * cols;
        row[c] = x;
        row[cols + c] = y;
        row[2 * cols + c] = x * y;
    }
}

// With ds split into the three segments [dsa, dsb, dsp] of each row:
//   da = dsa + dsp * b,   db = dsb + dsp * a.
extern "C" __global__ void features_backward(
    const float *__restrict__ ds, const float *__restrict__ a, const float *__restrict__ b,
    float *__restrict__ da, float *__restrict__ db, u64 rows, u64 cols) {
    u64 start = thread_index();
    u64 stride = thread_count();
    u64 n = rows * cols;

    if (aligned16(ds) && aligned16(a) && aligned16(b) && aligned16(da) && aligned16(db) &&
        cols % 4 == 0) {
        const float4 *ds4 = reinterpret_cast<const float4 *>(ds);
        const float4 *a4 = reinterpret_cast<const float4 *>(a);
        const float4 *b4 = reinterpret_cast<const float4 *>(b);
        float4 *da4 = reinterpret_cast<float4 *>(da);
        float4 *db4 = reinterpret_cast<float4 *>(db);
        u64 cols4 = cols / 4;
        for (u64 i = start; i < n / 4; i += stride) {
            u64 r = i / cols4;
            u64 c = i - r * cols4;
            const float4 *row = ds4 + r * 3 * cols4;
            float4 gp = row[2 * cols4 + c];
            da4[i] = fma4(gp, b4[i], row[c]);
            db4[i] = fma4(gp, a4[i], row[cols4 + c]);
        }
        return;
    }

    for (u64 i = start; i < n; i += stride) {
        u64 r = i / cols;
        u64 c = i - r * cols;
        const float *row = ds + r * 3 * cols;
        float gp = row[2 * cols + c];
        da[i] = fmaf(gp, b[i], row[c]);
        db[i] = fmaf(gp, a[i], row[cols + c]);
    }
}
