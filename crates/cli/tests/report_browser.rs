//! report.html in a real browser: headless Chromium (the distribution's package,
//! `scripts/install-chromium.sh`) loads the smoke study's page from disk, and
//! - `--dump-dom` gives the DOM after the scripts ran: every table and figure of the file is
//!   an element there, the page's last script marked it ready (so the scripts ran to the
//!   end), and the page's error recorder (catch.js: script errors, failed loads, policy
//!   violations, console.error) wrote nothing;
//! - Chromium's own log (`--enable-logging=stderr --v=0`) shows no console message from the
//!   page (the page logs nothing, so any message is an error the recorder could not see);
//! - a copy of the page with one extra script clicks every column header of every sortable
//!   table and writes the orders into the DOM: each must be sorted by the cells' numbers
//!   (or text), "–" last;
//! - `--screenshot` renders it to a PNG (`CLIPBENCH_UPDATE_SCREENSHOT=1` copies it to
//!   docs/report-html.png, the README's picture).
//!
//! Without Chromium the test says so on stderr and passes, unless
//! `CLIPBENCH_REQUIRE_BROWSER=1` (CI sets it after installing Chromium). Chromium runs with
//! `--no-sandbox` because CI runs as root, where its sandbox refuses to start.
#![cfg(feature = "analysis")]

mod html_common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use html_common::*;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CLIPBENCH_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs Chromium headless on `page` with `args`; (stdout, stderr). Killed after 120 s.
fn run_chromium(bin: &Path, profile: &Path, page: &Path, args: &[&str]) -> Res<(String, String)> {
    let url = format!("file://{}", page.canonicalize()?.display());
    let out_path = profile.with_extension("out");
    let err_path = profile.with_extension("err");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(["--no-first-run", "--disable-extensions", "--mute-audio"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--enable-logging=stderr", "--v=0"])
        .args(args)
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?)
        .spawn()?;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill()?;
            child.wait()?;
            return Err(format!("{} did not finish within 120 s", bin.display()).into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path)?;
    let stderr = std::fs::read_to_string(&err_path)?;
    if !status.success() {
        return Err(format!("{} {args:?} failed ({status}):\n{stderr}", bin.display()).into());
    }
    Ok((stdout, stderr))
}

/// Console messages of `page` in Chromium's log ("...:CONSOLE...] "msg", source: file://...").
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// Clicks every header of every sortable table twice and records the orders (cell
/// data-sort or text, "\u{1}" between cells) as data-test-* attributes on <html>.
const SORT_PROBE: &str = r#"<script>
(function () {
  var out = [];
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
    Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th, c) {
      function order() {
        return Array.prototype.map.call(t.tBodies[0].rows, function (r) {
          var td = r.cells[c];
          var k = td.getAttribute("data-sort");
          return td.classList.contains("na") ? "NA:" : k !== null ? "N:" + k : "T:" + td.textContent;
        }).join("\u0001");
      }
      th.click(); var up = order(); th.click(); var down = order();
      out.push(t.id + "\u0002" + c + "\u0002" + up + "\u0002" + down);
    });
  });
  document.documentElement.setAttribute("data-test-sorts", out.join("\u0003"));
})();
</script>
</body>"#;

#[derive(Debug)]
enum Key {
    Na,
    Num(f64),
    Text,
}

fn parse_key(cell: &str) -> Key {
    if cell.starts_with("NA:") {
        Key::Na
    } else if let Some(num) = cell.strip_prefix("N:") {
        // Rust reads JavaScript's "Infinity" too.
        Key::Num(num.parse::<f64>().unwrap_or(f64::NAN))
    } else {
        Key::Text
    }
}

/// Checks one column's two orders; true when its numbers, in order, are out of order as plain
/// text (so the column would catch a sorter that compared the cells' text).
fn check_sorted(what: &str, up: &[Key], down: &[Key]) -> bool {
    let na_last = |v: &[Key]| {
        let first_na = v
            .iter()
            .position(|k| matches!(k, Key::Na))
            .unwrap_or(v.len());
        v[first_na..].iter().all(|k| matches!(k, Key::Na))
    };
    assert!(na_last(up) && na_last(down), "{what}: – cells last");
    let nums = |v: &[Key]| -> Option<Vec<f64>> {
        v.iter()
            .filter(|k| !matches!(k, Key::Na))
            .map(|k| match k {
                Key::Num(x) => Some(*x),
                _ => None,
            })
            .collect()
    };
    match (nums(up), nums(down)) {
        (Some(u), Some(d)) => {
            assert!(
                u.windows(2).all(|w| w[0] <= w[1]),
                "{what}: ascending {u:?}"
            );
            assert!(
                d.windows(2).all(|w| w[0] >= w[1]),
                "{what}: descending {d:?}"
            );
            let as_text: Vec<String> = u.iter().map(|x| x.to_string()).collect();
            as_text.windows(2).any(|w| w[0] > w[1])
        }
        _ => false, // a text column: ordering by the browser's collation is not re-derived here
    }
}

#[test]
fn report_html_renders_in_chromium_without_errors() -> Res {
    let Some(bin) = chromium() else {
        let msg = "report_browser: SKIPPED: no Chromium on PATH (chromium, chromium-browser, \
                   google-chrome) and CLIPBENCH_CHROMIUM unset; install it with \
                   `sudo bash scripts/install-chromium.sh`";
        // Written to the process's stderr, which the test harness does not capture.
        let _ = writeln!(std::io::stderr(), "{msg}");
        assert!(
            std::env::var_os("CLIPBENCH_REQUIRE_BROWSER").is_none(),
            "{msg}, but CLIPBENCH_REQUIRE_BROWSER is set"
        );
        return Ok(());
    };
    let root = smoke_study("report-html-browser");
    let page = root.join("report.html");
    let source = std::fs::read_to_string(&page)?;
    let scratch = tempfile::tempdir()?;

    // The DOM after load.
    let (dom, log) = run_chromium(&bin, &scratch.path().join("p1"), &page, &["--dump-dom"])?;
    assert_eq!(
        attr(&dom, "<html", "data-report"),
        Some("ready"),
        "the scripts ran to the end"
    );
    assert_eq!(
        attr(&dom, "<html", "data-report-errors"),
        None,
        "the page recorded errors"
    );
    let console = console_lines(&log);
    assert!(
        console.is_empty(),
        "console messages from the page:\n{}",
        console.join("\n")
    );
    let sortable = source.matches("class=\"sortable\"").count();
    assert_eq!(
        attr(&dom, "<html", "data-sortable-tables"),
        Some(sortable.to_string().as_str())
    );
    let ids = |html: &str, prefix: &str| -> Vec<String> {
        html.split(&format!("id=\"{prefix}"))
            .skip(1)
            .filter_map(|s| s.split('"').next())
            .map(|s| format!("{prefix}{s}"))
            .collect()
    };
    let tables = ids(&source, "table-");
    let figures = ids(&source, "fig-");
    assert!(
        tables.len() >= 5 && figures.len() >= 6,
        "{tables:?} {figures:?}"
    );
    for id in &tables {
        let t = element(&dom, "table", id).ok_or(format!("table {id} is not in the DOM"))?;
        assert_eq!(
            rows(t).len(),
            rows(element(&source, "table", id).ok_or("source table")?).len(),
            "{id}: every row in the DOM"
        );
    }
    for id in &figures {
        let f = element(&dom, "figure", id).ok_or(format!("figure {id} is not in the DOM"))?;
        assert!(f.contains("<svg ") && f.contains("<figcaption>"), "{id}");
    }
    assert_eq!(
        dom.matches("<svg ").count(),
        figures.len(),
        "one SVG per figure"
    );

    // Sorting: every column of every sortable table, both ways.
    let probe = scratch.path().join("probe.html");
    std::fs::write(&probe, source.replacen("</body>", SORT_PROBE, 1))?;
    let (dom, log) = run_chromium(&bin, &scratch.path().join("p2"), &probe, &["--dump-dom"])?;
    assert!(console_lines(&log).is_empty() && attr(&dom, "<html", "data-report-errors").is_none());
    let sorts = attr(&dom, "<html", "data-test-sorts").ok_or("the sort probe did not run")?;
    let sorts = unescape(sorts);
    let mut numeric_differs = false;
    let mut n_cols = 0;
    for col in sorts.split('\u{3}') {
        let parts: Vec<&str> = col.split('\u{2}').collect();
        assert_eq!(parts.len(), 4, "{col}");
        let keys = |s: &str| s.split('\u{1}').map(parse_key).collect::<Vec<_>>();
        numeric_differs |= check_sorted(
            &format!("{} column {}", parts[0], parts[1]),
            &keys(parts[2]),
            &keys(parts[3]),
        );
        n_cols += 1;
    }
    assert!(n_cols > 20, "{n_cols} columns sorted");
    assert!(
        numeric_differs,
        "no column's numbers are out of order as plain text: the probe proves nothing numeric"
    );

    // The screenshot.
    let png = scratch.path().join("report-html.png");
    run_chromium(
        &bin,
        &scratch.path().join("p3"),
        &page,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,1400",
        ],
    )?;
    let bytes = std::fs::read(&png)?;
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR");
    let be = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    assert_eq!((be(16), be(20)), (1200, 1400), "the window's size");
    assert!(
        bytes.len() > 40_000,
        "a page with content, not a blank one ({} bytes)",
        bytes.len()
    );
    if std::env::var_os("CLIPBENCH_UPDATE_SCREENSHOT").is_some() {
        let to = repo_root().join("docs/report-html.png");
        std::fs::create_dir_all(to.parent().ok_or("docs/")?)?;
        std::fs::copy(&png, &to)?;
        let _ = writeln!(std::io::stderr(), "report_browser: wrote {}", to.display());
    }
    Ok(())
}
