//! Seeded, stratified splitting of a dataset into training and validation parts.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::dataset::Dataset;
use super::error::DataError;

/// Splits `dataset` into `(train, validation)`, putting about `fraction` of each class into
/// validation, so both parts keep the class proportions.
///
/// Per class with `n_c` samples, `round(fraction * n_c)` go to validation, but at least one
/// when `n_c >= 2` and `fraction > 0`, and never all of them, so every class seen in the data
/// stays in training. Which samples go where is drawn with a ChaCha8 generator seeded by
/// `seed`, so the split is the same on every platform. Both parts keep the original sample
/// order.
///
/// # Errors
///
/// [`DataError::InvalidArgument`] when `fraction` is not in `[0, 1)` or the dataset is empty.
pub fn stratified_split(
    dataset: &Dataset,
    fraction: f64,
    seed: u64,
) -> Result<(Dataset, Dataset), DataError> {
    let op = "validation split";
    if !(0.0..1.0).contains(&fraction) {
        return Err(DataError::argument(
            op,
            format!("fraction {fraction} is not in [0, 1)"),
        ));
    }
    if dataset.num_samples() == 0 {
        return Err(DataError::argument(op, "the dataset has no samples"));
    }

    // Group sample indices by class.
    let mut by_class = vec![Vec::new(); dataset.num_classes];
    for (i, &y) in dataset.labels.iter().enumerate() {
        by_class[y].push(i);
    }

    // Shuffle each class and take its share for validation.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut in_validation = vec![false; dataset.num_samples()];
    for members in &mut by_class {
        members.shuffle(&mut rng);
        let n = members.len();
        let mut take = (fraction * n as f64).round() as usize;
        if fraction > 0.0 && n >= 2 {
            take = take.max(1);
        }
        take = take.min(n.saturating_sub(1));
        for &i in &members[..take] {
            in_validation[i] = true;
        }
    }

    // Keep the original order inside each part.
    let (validation, train): (Vec<usize>, Vec<usize>) =
        (0..dataset.num_samples()).partition(|&i| in_validation[i]);
    Ok((dataset.subset(&train)?, dataset.subset(&validation)?))
}
