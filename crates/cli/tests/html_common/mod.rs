//! Shared by the report.html tests: the synthetic smoke study (experiments/smoke.toml) run and
//! reported once per test binary through the real `clipbench` binary, and a few string
//! helpers that read HTML (the page's own simple markup and Chromium's DOM dump; no HTML
//! parser is a dependency of the workspace).

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn clipbench(dir: &Path, args: &[&str]) -> Res<std::process::Output> {
    let out = Command::new(env!("CARGO_BIN_EXE_clipbench"))
        .args(args)
        .current_dir(dir)
        .output()?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if !out.status.success() {
        return Err(format!(
            "clipbench {args:?} failed:\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
        .into());
    }
    Ok(out)
}

/// `results/smoke/` of experiments/smoke.toml, run and reported once per test binary (in
/// `name` under the target's test scratch directory, cleared first).
pub fn smoke_study(name: &str) -> &'static Path {
    static STUDY: OnceLock<PathBuf> = OnceLock::new();
    STUDY.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the test's scratch directory");
        let toml = repo_root().join("experiments/smoke.toml");
        let toml = toml.to_str().expect("a UTF-8 repository path");
        clipbench(&dir, &["run", toml, "--results", "results", "--jobs", "2"])
            .expect("running the smoke study");
        clipbench(&dir, &["report", "results/smoke"]).expect("reporting the smoke study");
        dir.join("results/smoke")
    })
}

/// The text of an HTML fragment: tags dropped, the five entities the page writes (and
/// Chromium's `&nbsp;`) decoded.
pub fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// The five entities the page writes, and Chromium's `&nbsp;`, decoded.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The element `<tag ... id="id" ...>...</tag>` (not nested in itself), or None.
pub fn element<'a>(html: &'a str, tag: &str, id: &str) -> Option<&'a str> {
    let open = format!("<{tag} ");
    let mut from = 0;
    while let Some(i) = html[from..].find(&open) {
        let start = from + i;
        let head_end = start + html[start..].find('>')?;
        if html[start..head_end].contains(&format!("id=\"{id}\"")) {
            let close = format!("</{tag}>");
            let end = head_end + html[head_end..].find(&close)? + close.len();
            return Some(&html[start..end]);
        }
        from = head_end;
    }
    None
}

/// Rows of a `<table>` element as cell fragments (th and td, inner HTML).
pub fn rows(table: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    for tr in table.split("<tr").skip(1) {
        let tr = tr.split("</tr>").next().unwrap_or("");
        let mut cells = Vec::new();
        for part in tr.split("<t").skip(1) {
            if !(part.starts_with('d') || part.starts_with('h')) {
                continue;
            }
            let Some(body_start) = part.find('>') else {
                continue;
            };
            let body = &part[body_start + 1..];
            let end = body.find("</t").unwrap_or(body.len());
            cells.push(&body[..end]);
        }
        out.push(cells);
    }
    out
}

/// The value of attribute `name` in the first tag starting with `tag_start` (e.g. "<html").
pub fn attr<'a>(html: &'a str, tag_start: &str, name: &str) -> Option<&'a str> {
    let i = html.find(tag_start)?;
    let head = &html[i..i + html[i..].find('>')?];
    let key = format!(" {name}=\"");
    let j = head.find(&key)? + key.len();
    Some(&head[j..j + head[j..].find('"')?])
}

/// Cells of a Markdown table file: header, then rows, `**`, `\|` and outer pipes removed.
pub fn markdown_table(md: &str) -> Vec<Vec<String>> {
    md.lines()
        .filter(|l| l.starts_with('|'))
        .enumerate()
        .filter(|(i, _)| *i != 1) // the |---| line
        .map(|(_, l)| {
            let inner = l.trim().trim_start_matches('|').trim_end_matches('|');
            inner
                .replace("\\|", "\u{1}")
                .split('|')
                .map(|c| c.trim().replace('\u{1}', "|").replace("**", ""))
                .collect()
        })
        .collect()
}
