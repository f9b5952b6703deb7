//! The CPU twin of the device's normal generator: Philox-4x32-10 and Box-Muller.
//!
//! `kernels/reparameterize.cu` (`standard_normal`) and this file implement the same stream:
//! the integers are bit-identical, the normals agree up to the rounding of `logf`, `sqrtf` and
//! `sincospif` on the device (a few ulp), so tests compare them with a tolerance.
//!
//! Philox-4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2,
//! 3", SC 2011) is a counter-based generator: block `k` of the stream is a keyed bijection of
//! the counter `k`, so any position is computed directly and streams never share state.

/// Multipliers of the two Philox S-boxes.
const MULTIPLIERS: [u32; 2] = [0xD251_1F53, 0xCD9E_8D57];

/// Weyl increments added to the key between rounds.
const KEY_BUMPS: [u32; 2] = [0x9E37_79B9, 0xBB67_AE85];

/// Applies the ten Philox rounds to a 128-bit `counter` under a 64-bit `key`.
///
/// One round, with `hi`/`lo` the halves of a 32x32->64 product:
/// `(c0, c1, c2, c3) -> (hi(M1 c2) ^ c1 ^ k0, lo(M1 c2), hi(M0 c0) ^ c3 ^ k1, lo(M0 c0))`.
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = counter;
    let mut k = key;

    for _ in 0..10 {
        let p0 = u64::from(MULTIPLIERS[0]) * u64::from(c[0]);
        let p1 = u64::from(MULTIPLIERS[1]) * u64::from(c[2]);
        c = [
            (p1 >> 32) as u32 ^ c[1] ^ k[0],
            p1 as u32,
            (p0 >> 32) as u32 ^ c[3] ^ k[1],
            p0 as u32,
        ];
        k = [
            k[0].wrapping_add(KEY_BUMPS[0]),
            k[1].wrapping_add(KEY_BUMPS[1]),
        ];
    }
    c
}

/// A uniform in the open interval (0, 1) from the top 24 bits of `x`: `(x >> 8 + 1/2) / 2^24`,
/// exact in f32, never 0 (so its logarithm is finite) and never 1.
pub fn unit_open(x: u32) -> f32 {
    ((x >> 8) as f32 + 0.5) * (1.0 / 16_777_216.0)
}

/// Box-Muller: two independent standard normals `r cos(2 pi u2)` and `r sin(2 pi u2)`, with
/// `r = sqrt(-2 ln u1)`, from the uniforms of the words `a` and `b`.
///
/// Computed in f64 and rounded once, so this side is the accurate one of the comparison.
pub fn box_muller(a: u32, b: u32) -> [f32; 2] {
    let radius = (-2.0 * f64::from(unit_open(a)).ln()).sqrt();
    let angle = 2.0 * std::f64::consts::PI * f64::from(unit_open(b));
    [(radius * angle.cos()) as f32, (radius * angle.sin()) as f32]
}

/// The four normals of Philox block `block` of stream `seed`.
pub fn normal_block(seed: u64, block: u64) -> [f32; 4] {
    let counter = [block as u32, (block >> 32) as u32, 0, 0];
    let key = [seed as u32, (seed >> 32) as u32];
    let words = philox4x32_10(counter, key);
    let [z0, z1] = box_muller(words[0], words[1]);
    let [z2, z3] = box_muller(words[2], words[3]);
    [z0, z1, z2, z3]
}

/// Fills `out` with normals `offset..offset + out.len()` of stream `seed`, exactly the
/// positions the device's `standard_normal(out, n, seed, offset)` writes.
///
/// Position `p` is lane `p % 4` of block `p / 4`.
pub fn fill_standard_normal(out: &mut [f32], seed: u64, offset: u64) {
    let mut cached: Option<(u64, [f32; 4])> = None;

    for (j, slot) in out.iter_mut().enumerate() {
        let position = offset + j as u64;
        let block = position / 4;
        let values = match cached {
            Some((b, values)) if b == block => values,
            _ => {
                let values = normal_block(seed, block);
                cached = Some((block, values));
                values
            }
        };
        *slot = values[(position % 4) as usize];
    }
}
