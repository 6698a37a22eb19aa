//! `clipbench curves` end to end: every strategy, both formats, the JSON contract, and errors.

use std::process::Command;

type Res = Result<(), Box<dyn std::error::Error>>;

use clipbench_clip::strategy::REGISTRY;

/// Every registered strategy, as `clipbench strategies` lists them.
fn strategies() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let out = clipbench(&["strategies"])?;
    assert!(out.status.success());
    Ok(String::from_utf8(out.stdout)?
        .lines()
        .map(str::to_string)
        .collect())
}

#[test]
fn strategies_lists_the_registry_in_order_and_describes_it() -> Res {
    let names: Vec<&str> = REGISTRY.iter().map(|i| i.name).collect();
    assert_eq!(strategies()?, names);
    let json: serde_json::Value =
        serde_json::from_slice(&clipbench(&["strategies", "--json"])?.stdout)?;
    let entries = json.as_array().ok_or("not an array")?;
    assert_eq!(entries.len(), REGISTRY.len());
    assert_eq!(entries[5]["name"], REGISTRY[5].name);
    assert_eq!(entries[5]["learnable"], REGISTRY[5].learnable);
    let long = String::from_utf8(clipbench(&["strategies", "--long"])?.stdout)?;
    assert_eq!(long.lines().count(), REGISTRY.len() + 1);
    // A typo gets the closest name, and --help lists them all.
    let typo = clipbench(&["curves", "--strategy", "tanh-learnabel"])?;
    assert!(!typo.status.success());
    let err = String::from_utf8(typo.stderr)?;
    assert!(err.contains("'tanh-learnable'"), "{err}");
    let help = String::from_utf8(clipbench(&["train", "--help"])?.stdout)?;
    assert!(names.iter().all(|n| help.contains(n)), "{help}");
    Ok(())
}

fn clipbench(args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(args)
        .output()
}

#[test]
fn json_for_every_strategy_has_exactly_the_contract_keys() -> Res {
    for s in strategies()? {
        let s = s.as_str();
        let out = clipbench(&[
            "curves",
            "--strategy",
            s,
            "--threshold",
            "1.5",
            "--beta",
            "3",
            "--from",
            "-5",
            "--to",
            "5",
            "--points",
            "11",
            "--format",
            "json",
        ])?;
        assert!(
            out.status.success(),
            "{s}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let obj = v.as_object().ok_or("not an object")?;
        let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["dydt", "dydx", "strategy", "threshold", "x", "y"],
            "{s}"
        );
        assert_eq!(obj["strategy"], s);
        assert_eq!(obj["threshold"], 1.5);
        for k in ["x", "y", "dydx", "dydt"] {
            assert_eq!(obj[k].as_array().map(Vec::len), Some(11), "{s} {k}");
        }
        // At x = 5 > θ = 1.5 a hard clip returns θ, a smooth one something in (θ/2, θ], and
        // the relu-equivalent ones pass x through.
        let y_last = obj["y"][10].as_f64().ok_or("y")?;
        let info = clipbench_clip::strategy::lookup(s).ok_or("not registered")?;
        if info.relu_equivalent {
            assert!((y_last - 5.0).abs() < 1e-6, "{s}: y(5) = {y_last}");
        } else if info.identity_below_threshold {
            assert!((y_last - 1.5).abs() < 1e-6, "{s}: y(5) = {y_last}");
        } else {
            assert!(y_last > 0.75 && y_last <= 1.5, "{s}: y(5) = {y_last}");
        }
    }
    Ok(())
}

#[test]
fn csv_rows_match_json_points() -> Res {
    let args = [
        "curves",
        "--strategy",
        "pact",
        "--threshold",
        "2",
        "--from",
        "-1",
        "--to",
        "3",
    ];
    let csv = clipbench(&[&args[..], &["--points", "5", "--format", "csv"]].concat())?;
    assert!(csv.status.success());
    let text = String::from_utf8(csv.stdout)?;
    let rows: Vec<_> = text.lines().collect();
    assert_eq!(rows[0], "strategy,threshold,x,y,dydx,dydt");
    assert_eq!(
        rows[1..],
        [
            "pact,2,-1,0,0,0",
            "pact,2,0,0,0,0",
            "pact,2,1,1,1,0",
            "pact,2,2,2,0,1",
            "pact,2,3,2,0,1"
        ]
    );
    Ok(())
}

#[test]
fn bad_arguments_fail_with_a_clear_message() -> Res {
    let cases: [(&[&str], &str); 4] = [
        (
            &["curves", "--strategy", "tanh"],
            "possible values: none, hard-clamp",
        ),
        (
            &["curves", "--strategy", "pact", "--threshold", "-1"],
            "--threshold",
        ),
        (
            &["curves", "--strategy", "pact", "--points", "1"],
            "--points",
        ),
        (
            &["curves", "--strategy", "pact", "--from", "2", "--to", "1"],
            "--from",
        ),
    ];
    for (args, want) in cases {
        let out = clipbench(args)?;
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    Ok(())
}
