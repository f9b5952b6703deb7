//! Mini-batch plans: which sample indices make up each batch of an epoch.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::error::DataError;

/// Splits the indices `0..n` into batches of `batch_size`, the last one possibly smaller
/// (it is kept, never dropped).
///
/// With `shuffle_seed = Some(seed)` the indices are first shuffled by a ChaCha8 generator
/// seeded with `seed` (pass a different seed per epoch, e.g. `base + epoch`); with `None`
/// they stay in order, as for evaluation. Every index appears in exactly one batch.
///
/// # Errors
///
/// [`DataError::InvalidArgument`] when `batch_size` is 0.
pub fn batches(
    n: usize,
    batch_size: usize,
    shuffle_seed: Option<u64>,
) -> Result<Vec<Vec<usize>>, DataError> {
    if batch_size == 0 {
        return Err(DataError::argument(
            "batches",
            "batch_size must be at least 1",
        ));
    }

    let mut order: Vec<usize> = (0..n).collect();
    if let Some(seed) = shuffle_seed {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    Ok(order.chunks(batch_size).map(<[usize]>::to_vec).collect())
}
