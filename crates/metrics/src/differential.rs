//! The scanner against serde_json: on generated records (the trainer's lines and unusual but
//! valid ones) and on byte-level mutations of them, whenever the scanner reads a line it must
//! read it exactly as serde_json does (bit for bit, same record, same error); and it must
//! read every line of the trainer's form, or it is no faster.

use std::fmt::Write as _;

use crate::line::{slow, Row};
use crate::records::{EpochRecords, Layout, StepRecords};
use crate::scan;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
}

fn layout() -> Layout {
    Layout {
        weight_layers: vec!["conv1".into(), "conv2".into(), "fc".into()],
        clip_layers: vec!["clip1".into(), "clip2".into()],
        channels: vec![("clip1".into(), 3)],
    }
}

/// A number as text: what the trainer writes (serde_json's shortest form of an f64), or one
/// of the forms that reach the edges of the grammar and of f64.
fn number(r: &mut Rng, odd: bool) -> String {
    let pick = if odd {
        r.below(12)
    } else {
        [2, 3, 11, 11][r.below(4) as usize]
    };
    match pick {
        0 => "0".into(),
        1 => "-0".into(),
        2 => "-0.0".into(),
        3 => "0.0".into(),
        4 => format!("{}", r.below(1 << 20)),
        5 => format!("-{}", r.below(1 << 20)),
        6 => format!("{}e{}", r.below(1000), r.below(600) as i64 - 300),
        7 => format!("{}.{:03}E+{}", r.below(10), r.below(1000), r.below(30)),
        8 => "1e400".into(),
        9 => "123456789012345678901234567890".into(),
        10 => "4.9e-324".into(),
        _ => {
            let v = f64::from_bits(r.next());
            if v.is_finite() {
                serde_json::to_string(&v).unwrap_or_default()
            } else {
                serde_json::to_string(&(r.next() as f64 / 7.0)).unwrap_or_default()
            }
        }
    }
}

fn value(r: &mut Rng, odd: bool) -> String {
    if r.chance(0.05) {
        "null".into()
    } else {
        number(r, odd)
    }
}

fn object(r: &mut Rng, layers: &[&str], odd: bool) -> String {
    let mut s = String::from("{");
    let mut first = true;
    for l in layers {
        if r.chance(0.05) {
            continue;
        }
        if !first {
            s.push(',');
        }
        first = false;
        let _ = write!(s, "\"{l}\":{}", value(r, odd));
        if r.chance(0.03) {
            let _ = write!(s, ",\"{l}\":{}", value(r, odd)); // a duplicate key
        }
    }
    if odd && r.chance(0.05) {
        if !first {
            s.push(',');
        }
        let _ = write!(s, "\"stray{}\":1.5", r.below(3));
    }
    s.push('}');
    s
}

/// A line of the trainer's form (`odd` adds the unusual but valid forms too).
fn record(r: &mut Rng, odd: bool) -> String {
    let mut fields: Vec<String> = Vec::new();
    let kind = match r.below(10) {
        0..=6 => "step",
        7 | 8 => "epoch",
        _ => "diverged",
    };
    fields.push(format!("\"kind\":\"{kind}\""));
    let int = |r: &mut Rng| -> String {
        if odd && r.chance(0.05) {
            ["null", "1.5", "-3", "99999999999999999999", "7e2"][r.below(5) as usize].into()
        } else {
            format!("{}", r.below(100_000))
        }
    };
    let (st, ep) = (int(r), int(r));
    fields.push(format!("\"step\":{st}"));
    fields.push(format!("\"epoch\":{ep}"));
    let weights = ["conv1", "conv2", "fc"];
    let clips = ["clip1", "clip2"];
    match kind {
        "step" => {
            for k in ["loss", "lr", "grad_norm"] {
                if !(odd && r.chance(0.03)) {
                    fields.push(format!("\"{k}\":{}", value(r, odd)));
                }
            }
            fields.push(format!(
                "\"grad_norm_by_layer\":{}",
                object(r, &weights, odd)
            ));
            for k in ["theta", "theta_grad", "clip_fraction"] {
                fields.push(format!("\"{k}\":{}", object(r, &clips, odd)));
            }
            if r.chance(0.3) {
                fields.push(format!(
                    "\"theta_projected\":{{\"clip1\":{},\"clip2\":{}}}",
                    r.below(50),
                    r.below(50)
                ));
            }
            if r.chance(0.3) {
                let n = if odd { r.below(5) } else { 3 };
                let vals: Vec<String> = (0..n).map(|_| value(r, odd)).collect();
                fields.push(format!(
                    "\"theta_channels\":{{\"clip1\":[{}]}}",
                    vals.join(",")
                ));
            }
        }
        "epoch" => {
            for k in crate::records::EPOCH_VALUES {
                if !r.chance(0.1) {
                    fields.push(format!("\"{k}\":{}", value(r, odd)));
                }
            }
        }
        _ => fields.push("\"reason\":\"gradient of conv1\"".into()),
    }
    if odd {
        if r.chance(0.1) {
            fields.push("\"extra\":{\"a\":[1,2,{\"b\":null}],\"c\":\"x\",\"d\":true}".into());
        }
        if r.chance(0.05) {
            fields.push("\"loss\":1.0".into()); // a duplicate field
        }
        if r.chance(0.05) {
            fields.push("\"n\\u00e9\":1".into()); // an escape
        }
        if r.chance(0.05) {
            fields.push("\"theta\":null".into());
        }
        if r.chance(0.02) {
            fields[0] = "\"kind\":\"other\"".into();
        }
        let k = r.below(fields.len() as u64) as usize;
        fields.swap(0, k);
    }
    let sep = if odd && r.chance(0.1) { " , " } else { "," };
    let mut s = format!("{{{}}}", fields.join(sep));
    if odd && r.chance(0.1) {
        s = format!("  {s}\r");
    }
    s
}

fn mutate(r: &mut Rng, line: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"{}[]\",:0123456789.eE+- \\nultrfa\x01\xc3";
    let mut b = line.as_bytes().to_vec();
    for _ in 0..1 + r.below(3) {
        if b.is_empty() {
            break;
        }
        let i = r.below(b.len() as u64) as usize;
        let c = ALPHABET[r.below(ALPHABET.len() as u64) as usize];
        match r.below(3) {
            0 => {
                b.remove(i);
            }
            1 => b.insert(i, c),
            _ => b[i] = c,
        }
    }
    b
}

fn same_row(a: &Row, b: &Row) -> bool {
    let bits = |x: &[f64], y: &[f64]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
    };
    a.kind == b.kind
        && a.step == b.step
        && a.epoch == b.epoch
        && bits(&a.scalars, &b.scalars)
        && bits(&a.layers, &b.layers)
        && a.seen == b.seen
        && bits(&a.channels, &b.channels)
        && a.stray == b.stray
}

/// Runs both parsers on `line`; returns whether the scanner read it.
fn check(line: &[u8], layout: &Layout, fast: &mut Row, slow_row: &mut Row) -> bool {
    let shown = String::from_utf8_lossy(line);
    if scan::parse(line, layout, fast).is_err() {
        return false;
    }
    let s = slow::parse(line, layout, slow_row);
    assert!(
        s.is_ok(),
        "scanner read a line serde_json refuses ({s:?}): {shown}"
    );
    assert!(
        same_row(fast, slow_row),
        "rows differ on {shown}:\n{fast:?}\n{slow_row:?}"
    );
    let (mut s1, mut e1) = (StepRecords::new(layout), EpochRecords::default());
    let (mut s2, mut e2) = (StepRecords::new(layout), EpochRecords::default());
    assert_eq!(
        fast.push(&mut s1, &mut e1),
        slow_row.push(&mut s2, &mut e2),
        "{shown}"
    );
    true
}

#[test]
fn scanner_reads_the_trainers_lines_as_serde_json_does() {
    let layout = layout();
    let (mut a, mut b) = (Row::new(&layout), Row::new(&layout));
    let mut r = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..20_000 {
        let line = record(&mut r, false);
        let ok = check(line.as_bytes(), &layout, &mut a, &mut b);
        assert!(ok, "the scanner gave up on a trainer line: {line}");
    }
}

#[test]
fn scanner_agrees_with_serde_json_on_odd_and_broken_lines() {
    let layout = layout();
    let (mut a, mut b) = (Row::new(&layout), Row::new(&layout));
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut read, mut total) = (0, 0);
    for _ in 0..20_000 {
        let line = record(&mut r, true);
        total += 1;
        read += usize::from(check(line.as_bytes(), &layout, &mut a, &mut b));
        for _ in 0..5 {
            let m = mutate(&mut r, &line);
            total += 1;
            read += usize::from(check(&m, &layout, &mut a, &mut b));
        }
    }
    // Both outcomes must be exercised: lines read by the scanner, and lines it leaves.
    assert!(
        read > total / 20 && read < total,
        "{read} of {total} read by the scanner"
    );
}

#[test]
fn whole_files_read_the_same_either_way_at_any_block_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("metrics.jsonl");
    let mut r = Rng(7);
    // The first step record names every layer (the layout); then only lines that make a
    // valid file (no value out of f64's range, no step record without its loss or norm).
    let mut text = String::from(
        "{\"kind\":\"step\",\"step\":1,\"epoch\":0,\"loss\":1.0,\"grad_norm\":1.0,\
         \"grad_norm_by_layer\":{\"conv1\":1,\"conv2\":1,\"fc\":1},\"theta\":{\"clip1\":1,\"clip2\":1},\
         \"theta_channels\":{\"clip1\":[1,2,3]}}\n",
    );
    let mut n = 0;
    while n < 3000 {
        let line = record(&mut r, false);
        let step = line.contains("\"kind\":\"step\"");
        if step && (line.contains("\"loss\":null") || line.contains("\"grad_norm\":null")) {
            continue;
        }
        text.push_str(&line);
        text.push('\n');
        if n % 500 == 0 {
            text.push('\n'); // blank lines are skipped
        }
        n += 1;
    }
    std::fs::write(&path, &text).expect("write");
    let want = crate::read::parse_run_with(&path, 1 << 20, false).expect("serde_json");
    assert!(want.steps.len() > 1500 && want.epochs.len() > 300);
    for block in [64, 1000, 4096, 1 << 20] {
        let got = crate::read::parse_run_with(&path, block, true).expect("scanner");
        assert!(got.same_bits(&want), "block size {block}");
    }
}

#[test]
fn errors_name_the_same_line_either_way() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("metrics.jsonl");
    let good = "{\"kind\":\"step\",\"step\":1,\"epoch\":0,\"loss\":1.0,\"lr\":0.1,\"grad_norm\":2.0,\"grad_norm_by_layer\":{\"fc\":1.0},\"theta\":{\"clip1\":1.0},\"theta_grad\":{},\"clip_fraction\":{}}";
    let cases = [
        ("{\"kind\":\"step\",\"step\":2,\"epoch\":0,\"loss\":1.0,\"grad_norm\":2.0,\"theta\":{\"clip9\":1.0}}", "theta.clip9: a layer that the run's first step record does not have"),
        ("{\"kind\":\"step\",\"step\":2,\"epoch\":0,\"grad_norm\":2.0}", "step record without \"loss\""),
        ("{\"kind\":\"epoch\",\"epoch\":0}", "epoch record without \"step\""),
        ("{\"kind\":\"bogus\"}", "unknown record kind \"bogus\""),
        ("{\"kind\":\"step\",\"step\":2,", "EOF while parsing"),
    ];
    for (bad, message) in cases {
        std::fs::write(&path, format!("{good}\n{good}\n\n{bad}\n{good}\n")).expect("write");
        for fast in [true, false] {
            let e = crate::read::parse_run_with(&path, 64, fast)
                .expect_err("a bad line")
                .to_string();
            assert!(e.contains("metrics.jsonl:4:"), "{e}");
            assert!(e.contains(message), "{e} (wanted {message})");
        }
    }
}
