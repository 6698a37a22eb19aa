//! The outputs researchers use directly, end to end on the synthetic smoke fixture
//! (tests/fixtures/tiny, made by the real `clipbench train`): per-step figures that say how
//! they are smoothed and mark the epochs, the paired-difference figure beside the paired
//! table, a PDF of every figure that renders like its PNG with its font embedded, and a
//! `paper.tex` that compiles with pdflatex.
//!
//! Rendering and compiling need poppler-utils (pdftoppm, pdffonts) and pdflatex with booktabs
//! (`scripts/install-tex.sh`, which CI runs); without them those checks print why and skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use clipbench_analysis::figures::Format;
use clipbench_analysis::{Analysis, FigureFile, Options, TableFiles};
use common::*;

type Res<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Logged steps per run in the stretched study, and its epochs.
const STEPS: usize = 250;
const EPOCHS: usize = 5;

/// The final test accuracy the stretched study gives each run: `hard-clamp` beats `none` by
/// 5 pp or more on every seed (significant even after Holm), every other strategy ties.
fn final_acc(strategy: &str, seed: u64) -> f64 {
    let s = seed as f64;
    0.3 + 0.01 * s
        + if strategy == "hard-clamp" {
            0.05 + 0.0005 * s * s
        } else {
            0.0
        }
}

/// The tiny study with each run's step records stretched to `STEPS` logged steps (a loss
/// that falls with batch noise, from the run's own first record) and its two epoch records
/// repeated to `EPOCHS` epochs ending every STEPS/EPOCHS steps: long enough to be smoothed.
/// Final accuracies as [`final_acc`] says.
fn stretched() -> Res<(tempfile::TempDir, PathBuf)> {
    let (tmp, root) = copy_fixture("tiny")?;
    for e in std::fs::read_dir(root.join("runs"))? {
        let dir = e?.path();
        let summary_path = dir.join("summary.json");
        let mut summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary_path)?)?;
        let acc = final_acc(
            summary["strategy"].as_str().ok_or("strategy")?,
            summary["seed"].as_u64().ok_or("seed")?,
        );
        summary["final_test_acc"] = acc.into();
        summary["best_test_acc"] = acc.into();
        std::fs::write(&summary_path, summary.to_string())?;
        let path = dir.join("metrics.jsonl");
        let text = std::fs::read_to_string(&path)?;
        let recs: Vec<serde_json::Value> = text
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        let step0 = recs
            .iter()
            .find(|r| r["kind"] == "step")
            .ok_or("no step record")?;
        let epochs: Vec<&serde_json::Value> =
            recs.iter().filter(|r| r["kind"] == "epoch").collect();
        let mut out = String::new();
        for i in 1..=STEPS {
            let mut r = step0.clone();
            // Deterministic "batch noise": ±0.2 around a falling loss.
            let noise = 0.2 * ((i * 7919 % 101) as f64 / 50.0 - 1.0);
            r["step"] = i.into();
            r["epoch"] = ((i - 1) * EPOCHS / STEPS).into();
            r["loss"] = (2.3 - 1.5 * i as f64 / STEPS as f64 + noise).into();
            // θ drifts (where the run has one), so the strategies that train it show it.
            if let Some(theta) = r["theta"].as_object_mut() {
                for v in theta.values_mut() {
                    *v = (v.as_f64().unwrap_or(1.0) + 1e-3 * i as f64).into();
                }
            }
            out.push_str(&format!("{r}\n"));
            if i.is_multiple_of(STEPS / EPOCHS) {
                let k = i / (STEPS / EPOCHS) - 1;
                let mut ep = epochs[k.min(epochs.len() - 1)].clone();
                ep["epoch"] = k.into();
                ep["step"] = i.into();
                if k + 1 == EPOCHS {
                    ep["test_acc"] = acc.into();
                }
                out.push_str(&format!("{ep}\n"));
            }
        }
        std::fs::write(&path, out)?;
    }
    Ok((tmp, root))
}

struct Outputs {
    root: PathBuf,
    tables: TableFiles,
    figures: Vec<FigureFile>,
    report: String,
    _tmp: tempfile::TempDir,
}

fn analyse((tmp, root): (tempfile::TempDir, PathBuf)) -> Res<Outputs> {
    let a = Analysis::load(&root, &Options::default())?;
    let tables = a.write_tables()?;
    let figures = a.plot(None, &Format::ALL)?;
    let report = std::fs::read_to_string(a.write_report(&tables, &figures)?.markdown)?;
    a.write_paper(&tables, &figures)?;
    if let Some(keep) = std::env::var_os("CLIPBENCH_KEEP_TEST_OUTPUT") {
        // For a look at the figures: `CLIPBENCH_KEEP_TEST_OUTPUT=/tmp/x cargo test ...`.
        let _ = Command::new("cp").arg("-r").arg(&root).arg(keep).status();
    }
    Ok(Outputs {
        root,
        tables,
        figures,
        report,
        _tmp: tmp,
    })
}

fn caption_of<'a>(o: &'a Outputs, stem: &str) -> Res<&'a str> {
    o.figures
        .iter()
        .find(|f| f.path.file_stem().is_some_and(|s| s == stem))
        .map(|f| f.caption.as_str())
        .ok_or_else(|| format!("no figure {stem}").into())
}

/// Whether `tool` runs at all (`-v` prints its version).
fn have(tool: &str) -> bool {
    Command::new(tool).arg("-v").output().is_ok()
}

#[test]
fn per_step_figures_say_how_they_are_smoothed_and_mark_epochs() -> Res {
    let o = analyse(stretched()?)?;
    // The window: about 1/12 of the logged points, odd (250 → 20 → 21), stated with the
    // steps it spans; the same words in the report.
    let want = {
        let w = (STEPS / 12).max(1) | 1;
        format!("centred moving average over {w} logged points (≈ {w} steps)")
    };
    for stem in ["loss", "grad_norm"] {
        let c = caption_of(&o, stem)?;
        assert!(c.contains(&want), "{stem}: {c}");
        assert!(c.contains("Thin grey verticals: ends of epochs"), "{c}");
        assert!(o.report.contains(c), "report has the {stem} caption");
    }
    // θ is not noisy: its figure says it is not smoothed.
    assert!(caption_of(&o, "theta")?.contains("not smoothed"));
    // One grey vertical per epoch end, in every per-step figure (theta: one per layer panel).
    for (stem, panels) in [("loss", 1), ("grad_norm", 1), ("theta", 2)] {
        let svg = std::fs::read_to_string(o.root.join(format!("figures/{stem}.svg")))?;
        let marks = svg.matches(EPOCH_MARK).count();
        assert_eq!(marks, EPOCHS * panels, "{stem}: epoch marks");
    }
    // The raw tiny study (5 logged steps) is too short to smooth, and says so.
    let raw = analyse(copy_fixture("tiny")?)?;
    assert!(caption_of(&raw, "loss")?.contains("not smoothed"));
    Ok(())
}

#[test]
fn paired_difference_figure_marks_holm_significant_strategies() -> Res {
    let o = analyse(stretched()?)?;
    for ext in ["png", "svg", "pdf"] {
        assert!(
            o.root.join(format!("figures/paired_diff.{ext}")).is_file(),
            "{ext}"
        );
    }
    // In the report with the paired table (where final accuracy is discussed), once.
    let at = |pat: &str| o.report.find(pat).ok_or(format!("report lacks {pat:?}"));
    let link = "](figures/paired_diff.png)";
    let fig = at(link)?;
    assert!(at("### Against `none`")? < fig && fig < at("### Seeds needed")?);
    assert_eq!(o.report.matches(link).count(), 1);
    let caption = caption_of(&o, "paired_diff")?;
    assert!(
        caption.contains("95% t-interval") && caption.contains("Holm"),
        "{caption}"
    );

    // One row per strategy against none, its shared seeds counted from the runs.
    let raw = read_runs(&o.root)?;
    let svg = std::fs::read_to_string(o.root.join("figures/paired_diff.svg"))?;
    let paired = read_csv(&o.root.join("tables/paired.csv"))?;
    let mut significant = Vec::new();
    for row in &paired {
        let s = row["strategy"].as_str();
        let seeds = |name: &str| -> Vec<u64> {
            raw.iter()
                .filter(|r| r.strategy == name && r.final_acc.is_some())
                .map(|r| r.seed)
                .collect()
        };
        let n = seeds(s)
            .iter()
            .filter(|x| seeds("none").contains(x))
            .count();
        // plotters writes each text on a line of its own.
        assert!(
            svg.contains(&format!("\n{s} (n = {n})\n")),
            "row {s} (n = {n})"
        );
        if num(row, "p_holm") < 0.05 {
            significant.push(s.to_string());
        }
    }
    // The study was built so that exactly hard-clamp wins on every seed.
    assert_eq!(significant, ["hard-clamp"], "{paired:?}");
    // A star (two 10-point polygons: white rim, filled star) per significant strategy.
    let stars = svg
        .split("<polygon")
        .skip(1)
        .filter(|p| {
            p.split("points=\"")
                .nth(1)
                .and_then(|q| q.split('"').next())
                .is_some_and(|q| q.split_whitespace().count() == 10)
        })
        .count();
    assert_eq!(stars, 2 * significant.len(), "stars in paired_diff.svg");
    Ok(())
}

/// Inked share of a page: pixels with a channel below 200 of 255 (lines, markers, text; not
/// the light band tints, whose blending the two rasterisers round differently).
fn ink(pixels: &[u8], channels: usize) -> f64 {
    let px = pixels.chunks(channels);
    let n = px.len().max(1);
    px.filter(|p| p.iter().take(3).any(|&c| c < 200)).count() as f64 / n as f64
}

/// Width, height and ink of a PNG file.
fn png_ink(path: &Path) -> Res<(u32, u32, f64)> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path)?));
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    let channels = info.color_type.samples();
    Ok((
        info.width,
        info.height,
        ink(&buf[..info.buffer_size()], channels),
    ))
}

#[test]
fn every_figure_has_a_pdf_that_renders_like_its_png() -> Res {
    let o = analyse(stretched()?)?;
    let render = have("pdftoppm");
    let fonts = have("pdffonts");
    if !render || !fonts {
        println!(
            "SKIPPED (partly): pdftoppm {render}, pdffonts {fonts}: install poppler-utils \
             (scripts/install-tex.sh) to render the PDFs and list their fonts"
        );
    }
    let tmp = tempfile::tempdir()?;
    assert!(o.figures.len() >= 5, "{:?}", o.figures);
    for f in &o.figures {
        let pdf = f.path.with_extension("pdf");
        let bytes = std::fs::read(&pdf)?;
        let name = pdf.display();
        assert!(bytes.starts_with(b"%PDF-"), "{name}");
        // Vector: no raster image inside.
        assert!(
            !bytes.windows(13).any(|w| w == b"/Subtype /Image"),
            "{name}"
        );
        if fonts {
            let out = Command::new("pdffonts").arg(&pdf).output()?;
            let text = String::from_utf8(out.stdout)?;
            let mut lines = text.lines();
            let header = lines.next().ok_or("pdffonts: no header")?;
            let emb = header.find("emb").ok_or("pdffonts: no emb column")?;
            let rows: Vec<&str> = lines.skip(1).collect();
            assert!(!rows.is_empty(), "{name}: no fonts:\n{text}");
            for r in rows {
                assert!(r.contains("DejaVuSans"), "{name}: {r}");
                assert_eq!(
                    r.get(emb..emb + 3),
                    Some("yes"),
                    "{name}: not embedded: {r}"
                );
            }
        } else {
            assert!(
                bytes.windows(9).any(|w| w == b"/FontFile"),
                "{name}: no font"
            );
        }
        if !render {
            continue;
        }
        // 1 SVG px = 1 pt, so 72 dpi renders the PDF at the PNG's size.
        let prefix = tmp.path().join("page");
        let st = Command::new("pdftoppm")
            .args(["-r", "72", "-f", "1", "-l", "1", "-png", "-singlefile"])
            .arg(&pdf)
            .arg(&prefix)
            .status()?;
        assert!(st.success(), "pdftoppm {name}");
        let (pw, ph, pink) = png_ink(&prefix.with_extension("png"))?;
        let (w, h, ink) = png_ink(&f.path)?;
        assert!(
            pw.abs_diff(w) <= 1 && ph.abs_diff(h) <= 1,
            "{name}: {pw}×{ph} vs PNG {w}×{h}"
        );
        // Same content: the share of inked pixels within 40% (poppler anti-aliases 2 px
        // strokes lighter than plotters' bitmap backend: up to a third less ink measured on
        // the same figure; a blank page or missing text is far outside).
        assert!(
            (pink - ink).abs() <= 0.4 * ink.max(pink) + 0.002,
            "{name}: ink {pink:.4} vs PNG {ink:.4}"
        );
        println!("{name}: {pw}×{ph}, ink {pink:.4} (PNG {ink:.4})");
    }
    Ok(())
}

#[test]
fn paper_tex_inputs_every_table_and_figure_and_compiles() -> Res {
    let o = analyse(stretched()?)?;
    let paper = std::fs::read_to_string(o.root.join("paper.tex"))?;
    let tex_tables: Vec<&PathBuf> = o
        .tables
        .written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tex"))
        .collect();
    assert!(tex_tables.len() >= 2, "summary and paired tables");
    for t in tex_tables {
        let rel = t.strip_prefix(&o.root)?.display().to_string();
        assert!(
            paper.contains(&format!("\\input{{\\clipbenchdir/{rel}}}")),
            "{rel}"
        );
    }
    for f in &o.figures {
        let rel = f.path.with_extension("pdf");
        let rel = rel.strip_prefix(&o.root)?.display().to_string();
        assert!(
            paper.contains(&format!("{{\\clipbenchdir/{rel}}}")),
            "{rel}"
        );
        // The caption is the report's, as LaTeX.
        let cap = clipbench_analysis::paper::caption_tex(&f.caption);
        assert!(paper.contains(&format!("\\caption{{{cap}}}")), "{cap}");
        assert!(o.report.contains(&f.caption));
    }
    if !have("pdflatex") {
        println!(
            "SKIPPED: no pdflatex (scripts/install-tex.sh installs it): paper.tex not compiled"
        );
        return Ok(());
    }
    // Compiled where it lies (its paths are relative to the study), output elsewhere.
    let out = tempfile::tempdir()?;
    let run = Command::new("pdflatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", "-recorder"])
        .arg("-output-directory")
        .arg(out.path())
        .arg("paper-standalone.tex")
        .current_dir(&o.root)
        .output()?;
    let log = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "pdflatex failed:\n{log}");
    let pdf = std::fs::read(out.path().join("paper-standalone.pdf"))?;
    assert!(pdf.starts_with(b"%PDF-"));
    // Every table and figure was read (`-recorder` lists the files TeX opened) and no
    // character was lost.
    let fls = std::fs::read_to_string(out.path().join("paper-standalone.fls"))?;
    for f in o
        .figures
        .iter()
        .map(|f| f.path.with_extension("pdf"))
        .chain(
            o.tables
                .written
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "tex"))
                .cloned(),
        )
    {
        let rel = f.strip_prefix(&o.root)?.display().to_string();
        assert!(
            fls.contains(&format!("INPUT ./{rel}\n")),
            "{rel} not read:\n{fls}"
        );
    }
    assert!(!log.contains("Missing character"), "{log}");
    Ok(())
}

/// How plotters writes an epoch mark (a black line at 18% opacity) in SVG.
const EPOCH_MARK: &str = r##"opacity="0.18" stroke="#000000""##;
