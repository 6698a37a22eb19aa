//! report.html's table of every run directory: its status, its final numbers and a link to
//! the directory, including the skipped (incomplete) ones. report.md leaves it out: at a
//! hundred runs it would drown the report, and `tables/runs.csv` has the same numbers.

use std::path::Path;

use crate::report::doc::{Block, Marked, TableBlock};
use crate::study::{grid_label, Study};
use crate::tables::fmt::{fixed, pct, sig};
use crate::tables::text::TextTable;

/// `dir` relative to the study directory, with a trailing slash (a link to the folder).
fn rel_dir(study: &Study, dir: &Path) -> String {
    let rel = dir.strip_prefix(&study.root).unwrap_or(dir);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("{}/", parts.join("/"))
}

pub(super) fn runs(study: &Study) -> Vec<Block> {
    let has_grid = !study.grid_keys.is_empty();
    let mut header: Vec<(String, bool)> =
        vec![("Run directory".into(), false), ("Strategy".into(), false)];
    if has_grid {
        header.push(("Grid".into(), false));
    }
    for (h, num) in [
        ("Seed", true),
        ("Status", false),
        ("Selected epoch", true),
        ("Val acc @ sel. (%)", true),
        ("Test acc @ sel. (%)", true),
        ("Last-epoch test acc (%)", true),
        ("Steps", true),
        ("Max ‖g‖", true),
    ] {
        header.push((h.into(), num));
    }
    for l in &study.layers {
        header.push((format!("Final θ {l}"), true));
    }
    header.push(("Train time (s)".into(), true));
    let hdr: Vec<(&str, &str, bool)> = header.iter().map(|(h, n)| (h.as_str(), "", *n)).collect();
    let mut t = TextTable::new(&hdr);
    let mut links = Vec::new();
    let acc = |x: Option<f64>| x.map_or("–".into(), |v| pct(v, 2));
    for r in &study.runs {
        let s = &r.summary;
        let mut row = vec![r.run_id.clone(), r.strategy.clone()];
        if has_grid {
            row.push(grid_label(&study.groups[r.group].grid));
        }
        row.push(r.seed.to_string());
        row.push(match s.diverged_at_step {
            Some(step) if r.diverged() => format!("diverged at step {step}"),
            _ if r.diverged() => "diverged".into(),
            _ => "completed".into(),
        });
        row.push(s.selected_epoch.map_or("–".into(), |e| e.to_string()));
        row.push(acc(s.val_acc_at_selected));
        row.push(acc(s.test_acc_at_selected));
        row.push(acc(s.final_test_acc));
        row.push(s.steps.to_string());
        row.push(sig(s.max_grad_norm, 3));
        for l in &study.layers {
            row.push(s.final_theta.get(l).map_or("–".into(), |&v| fixed(v, 4)));
        }
        row.push(sig(s.train_wall_s, 3));
        t.push(row);
        links.push(Some(rel_dir(study, &r.dir)));
    }
    let n_cols = t.header.len();
    for sk in &study.skipped {
        let name = sk.dir.file_name().map_or_else(
            || sk.dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut row = vec![name, "–".into()];
        if has_grid {
            row.push("–".into());
        }
        row.push("–".into());
        row.push(format!("skipped: {}", sk.reason));
        row.resize(n_cols, "–".into());
        t.push(row);
        links.push(Some(rel_dir(study, &sk.dir)));
    }
    let mut block = TableBlock::new("runs", t);
    block.links = links;
    let intro = format!(
        "Every run directory under `runs/`, {} complete and {} skipped (incomplete: no \
         parseable summary.json), each linked. Epochs are 0-based, as in summary.json; \
         accuracies at the selected epoch are the headline numbers of the tables above, the \
         last epoch's beside them. The same numbers, at full precision: `tables/runs.csv`.",
        study.runs.len(),
        study.skipped.len()
    );
    [
        Block::Heading {
            level: 2,
            text: Marked::new("Runs"),
        },
        Block::Para(Marked(intro)),
        Block::Table(block),
    ]
    .into_iter()
    .map(|b| Block::HtmlOnly(Box::new(b)))
    .collect()
}
