//! The report's Tuning section: the equal budget, the tuning seeds, and per strategy its
//! space, the selected trial and how many trials came close to it.

use crate::report::doc::{Block, Marked, TableBlock};
use crate::study::value_text;
use crate::tables::fmt::pct;
use crate::tables::text::TextTable;
use crate::tuning::Tuning;

fn list(v: &[u64]) -> String {
    v.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn tuning(t: &Tuning) -> Vec<Block> {
    let intro = format!(
        "Every strategy got the same budget: {} trials, points of a {} over its space, each \
         trained on the tuning seeds {} ({}{}), which are disjoint from the final seeds {}. \
         Score: {}. Test data played no part in it.",
        t.budget,
        t.sampler,
        list(&t.tuning_seeds),
        t.tuning_epochs
            .map_or("the study's epochs".into(), |e| format!("{e} epoch(s)")),
        t.tuning_train_limit
            .map_or(String::new(), |n| format!(", {n} training images")),
        list(&t.final_seeds),
        t.score
    );
    // Every column left-aligned, as report.md has always shown it.
    let mut table = TextTable::new(&[
        ("Strategy", "", false),
        ("Space", "", false),
        ("Selected trial", "", false),
        ("Selected setting", "", false),
        ("Validation acc (%)", "", false),
        ("Trials within 1 pp of it", "", false),
        ("Trials with a diverged run", "", false),
    ]);
    let mut names: Vec<&String> = t.selected.keys().collect();
    names.sort_by_key(|n| crate::study::strategy_rank(n));
    for name in names {
        let c = &t.selected[name];
        let space = t
            .space
            .get(name)
            .map(|m| {
                m.iter()
                    .map(|(k, d)| format!("`{k}` {d}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let setting = c
            .settings
            .iter()
            .map(|(k, v)| format!("`{k}` = {}", value_text(v)))
            .collect::<Vec<_>>()
            .join("; ");
        let near = t
            .trials_of(name)
            .filter(|x| x.val_acc_mean >= c.val_acc_mean - 0.01)
            .count();
        let div = t.trials_of(name).filter(|x| x.n_diverged > 0).count();
        table.push(vec![
            name.clone(),
            space,
            c.trial.to_string(),
            setting,
            pct(c.val_acc_mean, 2),
            format!("{near} of {}", t.trials_of(name).count()),
            div.to_string(),
        ]);
    }
    let mut block = TableBlock::new("tuning", table);
    block.marked = true;
    vec![
        Block::Heading {
            level: 2,
            text: Marked::new("Tuning"),
        },
        Block::Para(Marked(intro)),
        Block::Table(block),
    ]
}
