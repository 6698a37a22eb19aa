//! The problems found while planning: collected rather than returned, so that a study file
//! with several mistakes is reported whole, in file order, each at the value it is about.

use crate::error::{Problem, SweepError};
use crate::source::{keys, Seg, Source};
use crate::spec::StudySpec;

pub(crate) struct Ctx<'a> {
    pub src: &'a Source,
    pub spec: &'a StudySpec,
    pub problems: Vec<Problem>,
}

impl Ctx<'_> {
    pub fn push(&mut self, p: Problem) {
        // Every run of a strategy hits the same bad base value: say it once.
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    pub fn at(&mut self, path: &[Seg], msg: impl Into<String>) {
        let p = self.src.problem_at_path(path, msg);
        self.push(p);
    }

    /// Where the base value of `key` for strategy entry `si` comes from.
    pub(super) fn origin(&self, key: &str, si: usize) -> Vec<Seg> {
        if let Some(field) = key.strip_prefix("model.clip.") {
            let entry = entry_path(si, field);
            if self.src.has(&entry) {
                return entry;
            }
        }
        keys(key)
    }
}

/// `strategies[si].field`: a strategy entry's own clip setting.
pub(super) fn entry_path(si: usize, field: &str) -> Vec<Seg> {
    vec![
        Seg::Key("strategies".into()),
        Seg::Index(si),
        Seg::Key(field.into()),
    ]
}

/// Ok when nothing was found, else every problem as one error.
pub(super) fn finish(cx: Ctx<'_>) -> Result<(), SweepError> {
    if cx.problems.is_empty() {
        return Ok(());
    }
    let mut problems = cx.problems;
    // In file order; problems without a place last (stable: found order otherwise).
    problems.sort_by_key(|p| p.at.unwrap_or((usize::MAX, 0)));
    Err(SweepError::Spec {
        file: cx.src.path.clone(),
        problems,
    })
}
