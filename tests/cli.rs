//! The `dmil` program end to end: JSON on stdout, exit status 1 with a located message on bad
//! input, checkpoints that `eval` and `predict` can use, and results that a failed run leaves
//! alone.

use std::path::Path;
use std::process::{Command, Output};

fn dmil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmil"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout_json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

/// Exit status 1, a message naming `needle`, and no panic.
fn assert_user_error(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const QUICK: [&str; 4] = ["--epochs", "3,3,2", "--seed", "1"];

#[test]
fn train_json_has_the_contracted_keys() {
    let mut args = vec!["train", "--data", "synthetic:and", "--json"];
    args.extend(QUICK);
    let json = stdout_json(&dmil(&args));
    assert_eq!(json["model"], "dmil");
    assert_eq!(json["data"], "synthetic:and");
    assert!(json["test"]["acc"].as_f64().unwrap() > 0.5);
    assert!(json["test"]["map"].is_number());
    assert_eq!(json["weights"]["uniqueness"].as_array().unwrap().len(), 2);
    assert!(json["seconds"].is_number());
}

#[test]
fn checkpoints_serve_eval_and_predict_and_survive_a_failed_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("xor");
    let run = dir.path().join("run");
    let (data_s, run_s) = (data.to_str().unwrap(), run.to_str().unwrap());

    assert!(
        dmil(&["synth", "xor", "--out", data_s, "--train", "300", "--test", "100"])
            .status
            .success()
    );
    let mut args = vec!["train", "--data", data_s, "--out", run_s, "--json"];
    args.extend(QUICK);
    let trained = stdout_json(&dmil(&args));

    let checkpoint = run.join("model.safetensors");
    let evaluated = stdout_json(&dmil(&[
        "eval",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--data",
        data_s,
        "--json",
    ]));
    assert_eq!(evaluated["test"]["acc"], trained["test"]["acc"]);

    let predicted = stdout_json(&dmil(&[
        "predict",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--data",
        data_s,
        "--format",
        "json",
    ]));
    let rows = predicted["predictions"].as_array().unwrap();
    assert_eq!(rows.len(), 100);
    assert_eq!(rows[0]["probabilities"].as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["weights"].as_array().unwrap().len(), 4);

    // Prediction needs only the test features: no labels, no training files. (`--json` is
    // `--format json`, as in the other commands.)
    let unlabelled = dir.path().join("unlabelled");
    std::fs::create_dir(&unlabelled).unwrap();
    for m in 1..=2 {
        let name = format!("{m}_te.csv");
        std::fs::copy(data.join(&name), unlabelled.join(&name)).unwrap();
    }
    let from_features = stdout_json(&dmil(&[
        "predict",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--data",
        unlabelled.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(from_features["predictions"], predicted["predictions"]);

    // A failing run with the same --out leaves the earlier results as they were.
    let before = std::fs::read(run.join("metrics.json")).unwrap();
    let failed = dmil(&["train", "--data", "/no/such/folder", "--out", run_s]);
    assert_user_error(&failed, "/no/such/folder");
    assert_eq!(std::fs::read(run.join("metrics.json")).unwrap(), before);
    assert!(checkpoint.exists());
}

#[test]
fn bad_input_is_a_located_error_with_exit_status_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data_s = data.to_str().unwrap();
    assert!(
        dmil(&["synth", "and", "--out", data_s, "--train", "50", "--test", "20"])
            .status
            .success()
    );
    let labels = data.join("labels_tr.csv");
    let text = std::fs::read_to_string(&labels).unwrap();
    std::fs::write(&labels, text.replacen('\n', "\n2.5\n", 1)).unwrap();

    assert_user_error(&dmil(&["train", "--data", data_s]), "labels_tr.csv");
    assert_user_error(&dmil(&["train", "--data", "synthetic:nope"]), "nope");
    assert_user_error(&dmil(&["train", "--device", "cuda"]), "cuda");
    assert_user_error(&dmil(&["bench", "--device", "cuda"]), "cuda");
    assert_user_error(&dmil(&["train", "--model", "transformer"]), "transformer");
    assert_user_error(&dmil(&["train", "--epochs", "1,2"]), "--epochs");
    assert_user_error(&dmil(&["train", "--modalities", "1"]), "modalities");
}

#[test]
fn pid_of_a_table_prints_its_exact_decomposition() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("xor.json");
    std::fs::write(&table, "[[[0.25,0],[0,0.25]],[[0,0.25],[0.25,0]]]").unwrap();
    let json = stdout_json(&dmil(&[
        "pid",
        "--table",
        table.to_str().unwrap(),
        "--json",
    ]));
    assert!((json["bits"]["synergy"].as_f64().unwrap() - 1.0).abs() < 1e-4);
    assert!((json["percent"]["synergy"].as_f64().unwrap() - 100.0).abs() < 1e-2);

    std::fs::write(&table, "[[[0.5,-0.1]]]").unwrap();
    assert_user_error(
        &dmil(&["pid", "--table", table.to_str().unwrap()]),
        "non-negative",
    );
    assert_user_error(
        &dmil(&["pid", "--table", table.to_str().unwrap()]),
        "xor.json",
    );
    assert!(Path::new(&table).exists());
}

#[test]
fn guards_against_input_that_would_panic_hang_or_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data_s = data.to_str().unwrap();
    assert!(
        dmil(&["synth", "and", "--out", data_s, "--train", "40", "--test", "20"])
            .status
            .success()
    );

    // An existing dataset is not overwritten without --force.
    assert_user_error(&dmil(&["synth", "xor", "--out", data_s]), "not empty");

    // Synthetic modalities are numbered from 1, like a folder's.
    let mut args = vec![
        "train",
        "--data",
        "synthetic:and",
        "--modalities",
        "1,2",
        "--json",
    ];
    args.extend(QUICK);
    stdout_json(&dmil(&args));
    assert_user_error(&dmil(&["train", "--modalities", "0,1"]), "--modalities");

    // Sizes that would exhaust memory are refused up front.
    assert_user_error(
        &dmil(&["train", "--latent", "100000000000"]),
        "above the supported",
    );
    let huge = dir.path().join("huge");
    let huge_s = huge.to_str().unwrap();
    assert_user_error(
        &dmil(&["synth", "xor", "--out", huge_s, "--train", "4000000000"]),
        "samples per split",
    );

    // A single training class, or a stray huge label, is a clear error.
    let labels = data.join("labels_tr.csv");
    let ones: String = std::fs::read_to_string(&labels)
        .unwrap()
        .lines()
        .map(|_| "1\n")
        .collect();
    std::fs::write(&labels, &ones).unwrap();
    assert_user_error(&dmil(&["train", "--data", data_s]), "distinct");
    std::fs::write(
        &labels,
        ones.replacen('1', "100000", 1).replacen("1\n", "0\n", 1),
    )
    .unwrap();
    assert_user_error(&dmil(&["train", "--data", data_s]), "implying");

    // Negative numbers reach the range checks.
    assert_user_error(&dmil(&["train", "--lr", "-1"]), "learning rates");
}

/// Runs the binary in `dir`, so relative paths resolve there.
fn dmil_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmil"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Writes a small synthetic dataset to `dir/name` and returns its path.
fn synth(dir: &Path, name: &str, train: &str, test: &str) -> std::path::PathBuf {
    let data = dir.join(name);
    let out = dmil(&[
        "synth",
        "and",
        "--out",
        data.to_str().unwrap(),
        "--train",
        train,
        "--test",
        test,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    data
}

#[test]
fn a_checkpoint_finds_its_relative_data_from_another_folder() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), "d", "60", "20");
    let mut args = vec!["train", "--data", "d", "--out", "run", "--json"];
    args.extend(QUICK);
    let trained = stdout_json(&dmil_in(dir.path(), &args));

    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let checkpoint = "../run/model.safetensors";
    let evaluated = stdout_json(&dmil_in(
        &elsewhere,
        &["eval", "--checkpoint", checkpoint, "--json"],
    ));
    assert_eq!(evaluated["test"]["acc"], trained["test"]["acc"]);

    // Data moved away: the message says where the path came from and what to do.
    std::fs::rename(dir.path().join("d"), dir.path().join("moved")).unwrap();
    let failed = dmil_in(&elsewhere, &["eval", "--checkpoint", checkpoint]);
    assert_user_error(&failed, "stored in the checkpoint");
    assert_user_error(&failed, "--data");
}

/// True when a run got as far as training (its epoch lines are on stderr).
fn trained(output: &Output) -> bool {
    String::from_utf8_lossy(&output.stderr).contains(" epoch ")
}

#[test]
fn an_unusable_out_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let failed = dmil(&[
        "train",
        "--out",
        file.to_str().unwrap(),
        "--epochs",
        "1,1,1",
    ]);
    assert_user_error(&failed, file.to_str().unwrap());
    assert!(!trained(&failed));

    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("model.safetensors")).unwrap();
    let failed = dmil(&["train", "--out", run.to_str().unwrap(), "--epochs", "1,1,1"]);
    assert_user_error(&failed, "model.safetensors");
    assert!(!trained(&failed));
}

#[test]
fn a_second_run_on_a_locked_out_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let lock = std::fs::File::create(run.join(".dmil.lock")).unwrap();
    lock.try_lock().unwrap();
    let failed = dmil(&["train", "--out", run.to_str().unwrap(), "--epochs", "1,1,1"]);
    assert_user_error(&failed, "another dmil run is writing to");
    assert!(!trained(&failed));
    lock.unlock().unwrap();

    let mut args = vec!["train", "--out", run.to_str().unwrap(), "--json"];
    args.extend(QUICK);
    stdout_json(&dmil(&args));
    let left: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staged") || n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn classes_without_training_samples_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "d", "40", "20");
    let data_s = data.to_str().unwrap();
    let test_labels = data.join("labels_te.csv");
    let original = std::fs::read_to_string(&test_labels).unwrap();
    std::fs::write(&test_labels, original.replacen('\n', "\n5\n", 1)).unwrap();
    let lines: Vec<&str> = original.lines().collect();
    let mut short: Vec<&str> = lines.clone();
    short[1] = "5";
    std::fs::write(&test_labels, short.join("\n") + "\n").unwrap();
    assert_user_error(&dmil(&["train", "--data", data_s]), "labels_te.csv");
    std::fs::write(&test_labels, &original).unwrap();

    let train_labels = data.join("labels_tr.csv");
    let text = std::fs::read_to_string(&train_labels).unwrap();
    let mut rows: Vec<&str> = text.lines().collect();
    rows[0] = "7";
    std::fs::write(&train_labels, rows.join("\n") + "\n").unwrap();
    let failed = dmil(&["train", "--data", data_s]);
    assert_user_error(&failed, "labels_tr.csv");
    assert_user_error(&failed, "class 2");
}

#[test]
fn pid_refuses_cluster_counts_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "d", "50", "20");
    let data_s = data.to_str().unwrap();
    let args = ["pid", "--no-train", "--data", data_s, "--clusters"];
    let failed = dmil(&[&args[..], &["50"]].concat());
    assert_user_error(&failed, "--clusters 50");
    assert_user_error(&failed, "50 training samples");
    let failed = dmil(&["pid", "--no-train", "--clusters", "1000"]);
    assert_user_error(&failed, "cells");
    assert_user_error(&dmil(&[&args[..], &["0"]].concat()), "--clusters");
}

#[test]
fn bench_repeats_has_a_range() {
    for repeats in ["0", "100000000000000"] {
        let failed = dmil(&["bench", "--repeats", repeats]);
        assert_user_error(&failed, "--repeats");
    }
}

#[test]
fn special_and_huge_files_are_refused() {
    let failed = dmil(&["eval", "--checkpoint", "/dev/zero"]);
    assert_user_error(&failed, "/dev/zero");
    assert_user_error(&failed, "not a regular file");
    let failed = dmil(&["pid", "--table", "/dev/urandom"]);
    assert_user_error(&failed, "/dev/urandom");
    assert_user_error(&failed, "not a regular file");

    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("big.json");
    let file = std::fs::File::create(&table).unwrap();
    file.set_len(65 << 20).unwrap();
    let failed = dmil(&["pid", "--table", table.to_str().unwrap()]);
    assert_user_error(&failed, "big.json");
    assert_user_error(&failed, "MiB");
    let checkpoint = dir.path().join("big.safetensors");
    let file = std::fs::File::create(&checkpoint).unwrap();
    file.set_len(9 << 30).unwrap();
    let failed = dmil(&["eval", "--checkpoint", checkpoint.to_str().unwrap()]);
    assert_user_error(&failed, "big.safetensors");
    assert_user_error(&failed, "GiB");
}

#[test]
fn an_explicit_list_of_all_modalities_matches_a_checkpoint_of_all() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "d", "60", "20");
    let run = dir.path().join("run");
    let mut args = vec!["train", "--data", data.to_str().unwrap(), "--out"];
    args.extend([run.to_str().unwrap(), "--json"]);
    args.extend(QUICK);
    let trained = stdout_json(&dmil(&args));
    let checkpoint = run.join("model.safetensors");
    let c = checkpoint.to_str().unwrap();
    let evaluated = stdout_json(&dmil(&[
        "eval",
        "--checkpoint",
        c,
        "--modalities",
        "1,2",
        "--json",
    ]));
    assert_eq!(evaluated["test"]["acc"], trained["test"]["acc"]);
    assert_user_error(
        &dmil(&["eval", "--checkpoint", c, "--modalities", "1"]),
        "modalities",
    );
}

#[test]
fn a_closed_stderr_ends_compare_without_a_panic() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_dmil"))
        .args([
            "compare",
            "--seeds",
            "2",
            "--epochs",
            "2,2,2",
            "--data",
            "synthetic:and",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!first.contains("panicked"), "{first}");
    assert_ne!(status.code(), Some(101), "first line: {first}");
}

#[test]
fn compare_refuses_a_model_listed_twice() {
    assert_user_error(&dmil(&["compare", "--models", "dmil,dmil"]), "dmil");
    assert_user_error(&dmil(&["compare", "--models", "dmil,dmil"]), "twice");
}

#[test]
fn cuda_limits_come_before_the_driver() {
    for extra in [["--model", "joint"], ["--optimizer", "sgd"]] {
        let failed = dmil(&[&["train", "--device", "cuda"][..], &extra].concat());
        assert_user_error(&failed, "--device cuda trains DMIL with Adam only");
    }
}

#[test]
fn errors_speak_of_inputs_not_functions() {
    let dir = tempfile::tempdir().unwrap();
    let data = synth(dir.path(), "d", "40", "20");
    let data_s = data.to_str().unwrap();
    let failed = dmil(&["train", "--data", data_s, "--modalities", "1,1"]);
    assert_user_error(&failed, "--modalities");
    assert!(!String::from_utf8_lossy(&failed.stderr).contains("load_dir"));
    let x = dir.path().join("x");
    let failed = dmil(&["synth", "xor", "--out", x.to_str().unwrap(), "--train", "0"]);
    assert_user_error(&failed, "--train");
    assert!(!String::from_utf8_lossy(&failed.stderr).contains("::"));

    let labels = data.join("labels_tr.csv");
    let text = std::fs::read_to_string(&labels).unwrap();
    std::fs::write(&labels, text.replacen('\n', "\n1,0\n", 1)).unwrap();
    let failed = dmil(&["train", "--data", data_s]);
    assert_user_error(&failed, "line 2");
    assert_user_error(&failed, "one label per line");
    std::fs::write(&labels, text.replacen('\n', "\n2000000\n", 1)).unwrap();
    assert_user_error(&dmil(&["train", "--data", data_s]), "at most 1000000");
}
