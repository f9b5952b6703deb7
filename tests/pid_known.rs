//! Exact PID on distributions whose decomposition is known in closed form, and the paper's
//! Table 5 "truth" row.

use dmil::pid::{decompose, paper_truth, pooled_mixture, ExactPid, JointDistribution, PidError};

/// Two uniform input bits and y = f(x1, x2).
fn gate(f: fn(usize, usize) -> usize) -> JointDistribution {
    JointDistribution::from_fn(2, 2, 2, |a, b, y| if f(a, b) == y { 1.0 } else { 0.0 }).unwrap()
}

fn and() -> JointDistribution {
    gate(|a, b| a & b)
}
fn or() -> JointDistribution {
    gate(|a, b| a | b)
}
fn xor() -> JointDistribution {
    gate(|a, b| a ^ b)
}

/// Asserts R, U1, U2, S in bits to 1e-4.
fn assert_bits(p: &JointDistribution, expected: [f64; 4]) {
    let b = decompose(p).bits;
    let got = [b.redundancy, b.uniqueness[0], b.uniqueness[1], b.synergy];
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() < 1e-4, "got {got:?}, expected {expected:?}");
    }
}

// R = I(X1; Y) = 1 - (3/4) log2(3) + ... = 0.3113; S = I(X1, X2; Y) - R = 0.8113 - 0.3113.
#[test]
fn and_and_or() {
    assert_bits(&and(), [0.3113, 0.0, 0.0, 0.5]);
    assert_bits(&or(), [0.3113, 0.0, 0.0, 0.5]);
}

#[test]
fn xor_is_pure_synergy() {
    assert_bits(&xor(), [0.0, 0.0, 0.0, 1.0]);
}

#[test]
fn copy_of_one_source_is_unique() {
    let p = JointDistribution::from_fn(2, 2, 2, |a, _, y| if a == y { 1.0 } else { 0.0 }).unwrap();
    assert_bits(&p, [0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn identical_sources_are_redundant() {
    let p = JointDistribution::from_fn(2, 2, 2, |a, b, y| if a == b && b == y { 1.0 } else { 0.0 })
        .unwrap();
    assert_bits(&p, [1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn pair_as_target_gives_two_unique_bits() {
    let p = JointDistribution::from_fn(2, 2, 4, |a, b, y| if 2 * a + b == y { 1.0 } else { 0.0 })
        .unwrap();
    assert_bits(&p, [0.0, 1.0, 1.0, 0.0]);
}

#[test]
fn degenerate_target_is_all_zero() {
    let constant = JointDistribution::from_fn(3, 2, 1, |_, _, _| 1.0).unwrap();
    let independent = JointDistribution::from_fn(3, 2, 2, |a, _, _| (a + 1) as f64).unwrap();
    for p in [constant, independent] {
        let r = decompose(&p);
        let b = r.bits;
        for v in [
            b.redundancy,
            b.uniqueness[0],
            b.uniqueness[1],
            b.synergy,
            b.total,
        ] {
            assert!(v.is_finite() && v.abs() < 1e-12, "{b:?}");
        }
        let pc = r.percent;
        assert_eq!(
            [
                pc.redundancy,
                pc.uniqueness[0],
                pc.uniqueness[1],
                pc.synergy
            ],
            [0.0; 4]
        );
    }
}

#[test]
fn table5_truth_row() {
    let cases: [(Vec<JointDistribution>, f64, f64); 4] = [
        (vec![and()], 38.3, 61.7),
        (vec![and(), xor()], 19.1, 80.9),
        (vec![or(), xor()], 19.1, 80.9),
        (vec![and(), or(), xor()], 25.5, 74.5),
    ];
    for (gates, r, s) in cases {
        let t = paper_truth(&gates).unwrap();
        println!("truth: R {:.3} S {:.3}", t.redundancy, t.synergy);
        assert!((t.redundancy - r).abs() < 0.1, "{t:?}");
        assert!((t.synergy - s).abs() < 0.1, "{t:?}");
        assert!(
            t.uniqueness[0].abs() < 1e-3 && t.uniqueness[1].abs() < 1e-3,
            "{t:?}"
        );
    }

    // The exact AND values behind the rounded 38.3 / 61.7.
    let exact = decompose(&and()).percent;
    assert!((exact.redundancy - 38.37).abs() < 0.005 && (exact.synergy - 61.63).abs() < 0.005);
}

#[test]
fn pooled_and_xor_differs_from_truth() {
    let pooled = pooled_mixture(&[and(), xor()]).unwrap().percent;
    println!(
        "pooled AND+XOR: R {:.4} S {:.4}",
        pooled.redundancy, pooled.synergy
    );
    assert!((pooled.redundancy - 23.87).abs() < 0.05, "{pooled:?}");
    assert!((pooled.synergy - 76.13).abs() < 0.05, "{pooled:?}");
}

#[test]
fn bad_input_is_an_error() {
    assert!(matches!(
        JointDistribution::new(1, 1, 2, vec![0.5, -0.1]),
        Err(PidError::InvalidEntry { .. })
    ));
    assert!(matches!(
        JointDistribution::new(1, 1, 2, vec![0.5, f64::NAN]),
        Err(PidError::InvalidEntry { .. })
    ));
    assert!(matches!(
        JointDistribution::new(1, 1, 2, vec![0.0, 0.0]),
        Err(PidError::ZeroMass { .. })
    ));
    assert!(matches!(
        JointDistribution::new(0, 1, 2, vec![]),
        Err(PidError::Empty { .. })
    ));
    assert!(matches!(
        JointDistribution::new(2, 1, 2, vec![1.0]),
        Err(PidError::TableLength { .. })
    ));
    assert!(matches!(
        JointDistribution::from_samples(&[0, 1], &[0], &[0, 1]),
        Err(PidError::LengthMismatch { .. })
    ));
    assert!(matches!(
        JointDistribution::from_samples(&[], &[], &[]),
        Err(PidError::Empty { .. })
    ));
    assert!(paper_truth(&[]).is_err());
}

#[test]
fn samples_and_mixtures_build_the_expected_tables() {
    let p = JointDistribution::from_samples(&[0, 1, 1, 1], &[0, 0, 1, 1], &[0, 0, 1, 1]).unwrap();
    assert_eq!(p.dims(), (2, 2, 2));
    assert!((p.prob(1, 1, 1) - 0.5).abs() < 1e-15 && (p.prob(0, 0, 0) - 0.25).abs() < 1e-15);

    // Weights 1 and 3: the result is (1 * and + 3 * xor) / 4, cell by cell.
    let m = JointDistribution::mixture(&[(1.0, and()), (3.0, xor())]).unwrap();
    let expected = 0.25 * and().prob(1, 0, 0) + 0.75 * xor().prob(1, 0, 0);
    assert!((m.prob(1, 0, 0) - expected).abs() < 1e-15);
}

/// A sparse table on which the final marginal fit once stopped 1.6e-9 off p(x1, y) (found by
/// the property suite): the optimum must keep both pair marginals to rounding.
#[test]
fn a_sparse_table_keeps_its_marginals_to_rounding() {
    #[rustfmt::skip]
    let v = vec![
        0.04080173083407045, 0.0, 0.0, 0.0012072539351907965, 0.0, 0.0, 0.0, 0.0, 0.0,
        0.06995790467743783, 0.016419839473086343, 0.0, 0.0, 0.0, 0.0012072539351907965, 0.0, 0.0,
        0.0, 0.0, 0.1114693250512985, 0.053989561141929536, 0.022343664250731168, 0.0, 0.0, 0.0,
        0.11302106491568906, 0.0, 0.0, 0.07601543040307368, 0.0, 0.0012072539351907965, 0.0, 0.0,
        0.011635534970127339, 0.06305758719280177, 0.0, 0.0, 0.010158865483878836,
        0.04258597655815519, 0.0, 0.0, 0.0, 0.06651743132591485, 0.0972862915509483,
        0.1061068773110617, 0.0, 0.0, 0.0938038991190323, 0.0, 0.0012072539351907965,
    ];
    let p = JointDistribution::new(5, 5, 2, v).unwrap();
    let q = ExactPid::default().solve(&p).optimum;
    let worst = |a: Vec<f64>, b: Vec<f64>| {
        a.iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    };
    assert!(worst(q.marginal_x1_y(), p.marginal_x1_y()) < 1e-12);
    assert!(worst(q.marginal_x2_y(), p.marginal_x2_y()) < 1e-12);
}
