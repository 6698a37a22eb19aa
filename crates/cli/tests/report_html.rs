//! report.html on the synthetic smoke study, through the `clipbench` binary: the same
//! sections as report.md, every Markdown table with the same columns and cells, every run
//! listed with its status and a link to its directory, every figure inlined as SVG, nothing
//! fetched from anywhere, a bounded size; and text that looks like markup (a run directory
//! named with `<`, `&`, quotes) escaped, with PNG-only figures inlined as data: images. (The
//! browser check is report_browser.rs.)
#![cfg(feature = "analysis")]

mod html_common;

use std::path::Path;

use html_common::*;

const STUDY_DIR: &str = "report-html-e2e";

fn read(path: &Path) -> Res<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

#[test]
fn report_html_has_the_markdown_sections_tables_runs_and_figures() -> Res {
    let root = smoke_study(STUDY_DIR);
    let html = read(&root.join("report.html"))?;
    let md = read(&root.join("report.md"))?;
    assert!(html.starts_with("<!DOCTYPE html>\n") && html.ends_with("</html>\n"));
    for tag in [
        "table", "thead", "tbody", "tr", "figure", "svg", "ul", "li", "p", "script",
    ] {
        let opened =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        let closed = html.matches(&format!("</{tag}>")).count();
        assert_eq!(
            opened, closed,
            "<{tag}> opened {opened} times, closed {closed}"
        );
    }

    // The same sections, in the same order; the run table is the HTML's own.
    let md_sections: Vec<String> = md
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.replace('`', ""))
        .collect();
    let html_sections: Vec<String> = html
        .split("<h2 ")
        .skip(1)
        .map(|h| text(&h[h.find('>').unwrap_or(0) + 1..h.find("</h2>").unwrap_or(0)]))
        .filter(|h| h != "Runs")
        .collect();
    assert_eq!(html_sections, md_sections);
    for h in ["The answer", "Setup", "Findings", "Tables", "Figures"] {
        assert!(md_sections.iter().any(|s| s == h), "report.md lacks {h}");
    }
    let md_findings = md.lines().filter(|l| l.starts_with("- ")).count();
    let html_items = html.matches("<li>").count();
    assert_eq!(
        html_items, md_findings,
        "every list item of report.md is in the page"
    );

    // Every Markdown table under tables/ has its HTML twin, cell for cell.
    let mut n_tables = 0;
    for name in ["summary", "paired", "lr", "stable_lr", "power"] {
        let file = root.join(format!("tables/{name}.md"));
        if !file.is_file() {
            continue;
        }
        n_tables += 1;
        let want = markdown_table(&read(&file)?);
        let id = format!("table-{}", name.replace('_', "-"));
        let table = element(&html, "table", &id).ok_or(format!("no table {id}"))?;
        assert!(table.contains("class=\"sortable\""), "{id} is sortable");
        let got: Vec<Vec<String>> = rows(table)
            .iter()
            .map(|r| r.iter().map(|c| text(c)).collect())
            .collect();
        assert_eq!(got[0], want[0], "{id}: the Markdown table's columns");
        assert_eq!(got, want, "{id}: every cell");
    }
    assert!(n_tables >= 3, "summary, paired and power at least");

    // Every run directory: one row with a link to it, its status and numbers.
    let runs_dir = root.join("runs");
    let mut ids: Vec<String> = std::fs::read_dir(&runs_dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    assert_eq!(ids.len(), 16, "8 strategies × 2 seeds");
    let table = element(&html, "table", "table-runs").ok_or("no table-runs")?;
    let body: Vec<Vec<&str>> = rows(table).into_iter().skip(1).collect();
    assert_eq!(body.len(), ids.len(), "one row per run directory");
    let header: Vec<String> = rows(table)[0].iter().map(|c| text(c)).collect();
    let col = |h: &str| {
        header
            .iter()
            .position(|x| x == h)
            .ok_or(format!("no column {h}"))
    };
    let (status_col, acc_col) = (col("Status")?, col("Test acc @ sel. (%)")?);
    for id in &ids {
        let row = body
            .iter()
            .find(|r| text(r[0]) == *id)
            .ok_or(format!("run {id} is not listed"))?;
        assert!(
            row[0].contains(&format!("<a href=\"runs/{id}/\">")),
            "run {id} links its directory: {}",
            row[0]
        );
        let summary: serde_json::Value =
            serde_json::from_str(&read(&runs_dir.join(id).join("summary.json"))?)?;
        let status = summary["status"].as_str().ok_or("summary.json status")?;
        assert!(text(row[status_col]).starts_with(status), "{id}: {status}");
        let acc = summary["test_acc_at_selected"]
            .as_f64()
            .ok_or("test_acc_at_selected")?;
        assert_eq!(text(row[acc_col]), format!("{:.2}", 100.0 * acc), "{id}");
    }

    // Every figure written as SVG is inline, once, with its caption.
    let mut stems: Vec<String> = std::fs::read_dir(root.join("figures"))?
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".svg").map(String::from)
        })
        .collect();
    stems.sort();
    assert!(stems.len() >= 6, "{stems:?}");
    for stem in &stems {
        let fig = element(&html, "figure", &format!("fig-{stem}"))
            .ok_or(format!("figure {stem} is not in the page"))?;
        assert!(
            fig.contains("<svg ") && fig.contains("</svg>"),
            "{stem} inline"
        );
        assert!(fig.contains("<figcaption>"), "{stem} captioned");
    }
    assert_eq!(html.matches("<figure ").count(), stems.len());
    assert_eq!(html.matches("<figure ").count(), md.matches("![").count());

    // Self-contained: nothing to fetch, no URL at all.
    for bad in [
        "://", "src=\"", "url(", "<link", "<iframe", "@import", "<base",
    ] {
        assert!(!html.contains(bad), "report.html contains {bad:?}");
    }
    let svg_bytes: u64 = stems
        .iter()
        .map(|s| std::fs::metadata(root.join(format!("figures/{s}.svg"))).map(|m| m.len()))
        .sum::<Result<u64, _>>()?;
    let size = html.len() as u64;
    assert!(
        size < svg_bytes + 150_000 && size < 2_000_000,
        "report.html is {size} bytes for {svg_bytes} bytes of SVG"
    );
    Ok(())
}

#[test]
fn names_that_look_like_markup_are_escaped() -> Res {
    // A copy of the smoke study's runs plus an incomplete run directory with a hostile name.
    let tmp = tempfile::tempdir()?;
    let study = tmp.path().join("odd");
    let runs = study.join("runs");
    std::fs::create_dir_all(&runs)?;
    let src = smoke_study(STUDY_DIR).join("runs");
    for e in std::fs::read_dir(&src)?.flatten() {
        let to = runs.join(e.file_name());
        std::fs::create_dir(&to)?;
        for f in std::fs::read_dir(e.path())?.flatten() {
            std::fs::copy(f.path(), to.join(f.file_name()))?;
        }
    }
    let hostile = "zz<img src=x onerror=alert(1)>&\"q\"'";
    std::fs::create_dir(runs.join(hostile))?;
    clipbench(
        tmp.path(),
        &["report", "odd", "--no-shapes", "--format", "svg"],
    )?;
    let html = read(&study.join("report.html"))?;
    assert!(
        !html.contains(hostile) && !html.contains("<img"),
        "no markup from a name"
    );
    let escaped = "zz&lt;img src=x onerror=alert(1)&gt;&amp;&quot;q&quot;&#39;";
    assert!(html.contains(escaped), "the skipped run is listed, escaped");
    assert!(
        html.contains("href=\"runs/zz%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%26%22q%22%27/\""),
        "its link is percent-encoded"
    );
    let table = element(&html, "table", "table-runs").ok_or("no table-runs")?;
    assert_eq!(rows(table).len(), 1 + 16 + 1, "header, 16 runs, 1 skipped");
    assert!(
        text(table).contains("skipped: "),
        "the skipped run says why"
    );
    Ok(())
}
