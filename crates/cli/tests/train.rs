//! `clipbench train`, `verify` and `bench-train` end to end through the binary.

use std::process::Command;

type Res = Result<(), Box<dyn std::error::Error>>;

fn clipbench(args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(args)
        .output()
}

#[test]
fn train_then_verify_reproduces_the_run() -> Res {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("run");
    let out_s = out.to_str().ok_or("path")?;
    let train = clipbench(&[
        "train",
        "--dataset",
        "synthetic",
        "--strategy",
        "pact",
        "--theta0",
        "3,4",
        "--seed",
        "5",
        "--epochs",
        "1",
        "--train-limit",
        "192",
        "--test-limit",
        "64",
        "--input",
        "1x28x28",
        "--out",
        out_s,
    ])?;
    assert!(
        train.status.success(),
        "{}",
        String::from_utf8_lossy(&train.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&train.stdout)?;
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["strategy"], "pact");
    for f in [
        "manifest.json",
        "metrics.jsonl",
        "timing.jsonl",
        "summary.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let verify = clipbench(&["verify", out_s])?;
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8(verify.stdout)?.contains("byte for byte"));
    Ok(())
}

#[test]
fn bad_train_arguments_fail_with_the_problem_named() -> Res {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("run");
    let out_s = out.to_str().ok_or("path")?;
    let cases: [(&[&str], &str); 4] = [
        (&["--epochs", "0"], "epochs"),
        (&["--lr", "-1"], "optimizer.lr"),
        (&["--input", "3x30x30"], "model.input"),
        (&["--theta0", "0,1"], "θ0 = 0"),
    ];
    for (extra, want) in cases {
        let base = [
            "train",
            "--dataset",
            "synthetic",
            "--strategy",
            "tanh-learnable",
            "--seed",
            "1",
            "--out",
            out_s,
        ];
        let o = clipbench(&[&base[..], extra].concat())?;
        assert!(!o.status.success(), "{extra:?} succeeded");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(want) && !err.contains("panicked"),
            "{extra:?}: {err}"
        );
        assert!(!out.join("summary.json").exists());
    }
    Ok(())
}

#[test]
fn bench_train_prints_one_json_object_per_thread_count() -> Res {
    let o = clipbench(&[
        "bench-train",
        "--strategy",
        "softplus-learnable",
        "--batch",
        "8",
        "--steps",
        "2",
        "--input",
        "1x28x28",
        "--threads",
        "1,2",
    ])?;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout)?;
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 2);
    for (l, t) in lines.iter().zip([1, 2]) {
        assert_eq!(l["threads"], t);
        assert!(l["train_images_per_s"].as_f64().unwrap_or(0.0) > 0.0);
        assert!(l["forward_images_per_s"].as_f64().unwrap_or(0.0) > 0.0);
    }
    Ok(())
}
