//! A study file's text with a map from dotted keys to their places (byte spans), so that
//! every error, whether found by the TOML parser, serde or value validation, can name the
//! line, the column and the key.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::error::{Problem, SweepError};

/// One step of a key path: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path as written in messages: `optimizer.lr`, `grid."optimizer.lr"[2]`.
pub fn path_text(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                let bare = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    s.push_str(k);
                } else {
                    s.push_str(&format!("{k:?}"));
                }
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// The text of a study file and the spans of all its keys and values.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    /// (path, span of the key (or of the element, for array items), span of the value).
    entries: Vec<(Vec<Seg>, Range<usize>, Range<usize>)>,
}

impl Source {
    /// Reads and parses `path` as TOML (syntax only; the schema comes later).
    pub fn read(path: &Path) -> Result<Source, SweepError> {
        let bytes = std::fs::read(path).map_err(|e| SweepError::io(path, e))?;
        Source::from_bytes(path, bytes)
    }

    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Source, SweepError> {
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let good = e.utf8_error().valid_up_to();
                let prefix = String::from_utf8_lossy(&e.as_bytes()[..good]).into_owned();
                let at = line_col_in(&prefix, good);
                return Err(SweepError::spec(
                    path,
                    Problem::new(
                        Some(at),
                        None,
                        format!(
                            "not valid UTF-8 (byte {good}): a study file must be UTF-8 TOML text"
                        ),
                    ),
                ));
            }
        };
        let mut src = Source {
            path: path.to_path_buf(),
            text,
            entries: Vec::new(),
        };
        let entries = match DeTable::parse(&src.text) {
            Ok(doc) => {
                let mut out = Vec::new();
                walk_table(doc.get_ref(), &mut Vec::new(), &mut out);
                out
            }
            Err(e) => return Err(src.toml_error(&e)),
        };
        src.entries = entries;
        Ok(src)
    }

    /// 1-based (line, column in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        line_col_in(&self.text, offset)
    }

    /// Span of the value at `path`, if the file has it.
    pub fn value_span(&self, path: &[Seg]) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|(p, _, _)| p.as_slice() == path)
            .map(|(_, _, v)| v.clone())
    }

    pub fn has(&self, path: &[Seg]) -> bool {
        self.value_span(path).is_some()
    }

    /// The keys of the table at `path`, in file order.
    pub fn keys_under(&self, path: &[Seg]) -> Vec<String> {
        self.entries
            .iter()
            .filter(|(p, _, _)| p.len() == path.len() + 1 && p.starts_with(path))
            .filter_map(|(p, _, _)| match p.last() {
                Some(Seg::Key(k)) => Some(k.clone()),
                _ => None,
            })
            .collect()
    }

    /// The deepest key whose key or value span contains `span`.
    pub fn key_at(&self, span: &Range<usize>) -> Option<String> {
        self.entries
            .iter()
            .filter(|(_, k, v)| contains(v, span) || contains(k, span))
            .max_by_key(|(p, _, _)| p.len())
            .map(|(p, _, _)| path_text(p))
    }

    /// A problem at the value of `path` (or without a place when the file lacks the key).
    pub fn problem_at_path(&self, path: &[Seg], message: impl Into<String>) -> Problem {
        let at = self.value_span(path).map(|s| self.line_col(s.start));
        Problem::new(at, Some(path_text(path)), message)
    }

    /// A problem at a span, keyed by the key there.
    pub fn problem_at_span(
        &self,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Problem {
        match span {
            Some(s) => Problem::new(Some(self.line_col(s.start)), self.key_at(&s), message),
            None => Problem::new(None, None, message),
        }
    }

    /// A TOML syntax or serde error, located.
    pub fn toml_error(&self, e: &toml::de::Error) -> SweepError {
        let msg = e.message().trim().to_string();
        let span = self.refine(e.span(), &msg);
        SweepError::spec(&self.path, self.problem_at_span(span, msg))
    }

    /// serde reports errors inside internally tagged tables (`[optimizer]`, `[schedule]`) at
    /// the whole table; find the one value under it that the message quotes.
    fn refine(&self, span: Option<Range<usize>>, msg: &str) -> Option<Range<usize>> {
        let span = span?;
        let literal = ["string ", "floating point ", "integer ", "boolean "]
            .iter()
            .find_map(|kind| msg.split_once(&format!(": {kind}")).map(|(_, rest)| rest))
            .and_then(|rest| {
                let rest = rest.trim_start_matches('`');
                let end = if let Some(inner) = rest.strip_prefix('"') {
                    inner.find('"').map(|i| i + 2)
                } else {
                    rest.find('`')
                };
                end.map(|e| rest[..e].to_string())
            });
        let Some(lit) = literal else {
            return Some(span);
        };
        // The table the error is about: its header span may not cover its body.
        let Some(table) = self
            .entries
            .iter()
            .filter(|(_, k, v)| contains(v, &span) || contains(k, &span))
            .max_by_key(|(p, _, _)| p.len())
            .map(|(p, _, _)| p.clone())
        else {
            return Some(span);
        };
        let hits: Vec<&Range<usize>> = self
            .entries
            .iter()
            .filter(|(p, _, _)| p.len() > table.len() && p.starts_with(&table))
            .map(|(_, _, v)| v)
            .filter(|v| {
                let raw = self.text.get((*v).clone()).unwrap_or("").trim();
                raw == lit
                    || raw.trim_matches(|c| c == '"' || c == '\'') == lit.trim_matches('"')
                        && (raw.starts_with('"') || raw.starts_with('\''))
                        && lit.starts_with('"')
                    || raw
                        .parse::<f64>()
                        .ok()
                        .zip(lit.parse::<f64>().ok())
                        .is_some_and(|(a, b)| a == b)
            })
            .collect();
        match hits.as_slice() {
            [one] => Some((*one).clone()),
            _ => Some(span),
        }
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end && outer.start < outer.end
}

fn line_col_in(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut cut = offset;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &text[..cut];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

type Entries = Vec<(Vec<Seg>, Range<usize>, Range<usize>)>;

fn walk_table(t: &DeTable<'_>, path: &mut Vec<Seg>, out: &mut Entries) {
    for (k, v) in t.iter() {
        path.push(Seg::Key(k.get_ref().to_string()));
        out.push((path.clone(), k.span(), v.span()));
        walk_value(v, path, out);
        path.pop();
    }
}

fn walk_value(v: &Spanned<DeValue<'_>>, path: &mut Vec<Seg>, out: &mut Entries) {
    match v.get_ref() {
        DeValue::Table(t) => walk_table(t, path, out),
        DeValue::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                path.push(Seg::Index(i));
                out.push((path.clone(), item.span(), item.span()));
                walk_value(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `"a.b.c"` → path of keys.
pub fn keys(dotted: &str) -> Vec<Seg> {
    dotted.split('.').map(|k| Seg::Key(k.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_lines_are_found() -> Result<(), SweepError> {
        let text = "epochs = 2\n[optimizer]\nkind = \"adam\"\nlr = -1.0\n[grid]\n\"optimizer.lr\" = [1e-3, 0.0]\n";
        let s = Source::from_bytes(Path::new("t.toml"), text.as_bytes().to_vec())?;
        let lr = s
            .value_span(&keys("optimizer.lr"))
            .map(|r| s.line_col(r.start));
        assert_eq!(lr, Some((4, 6)));
        let g = vec![
            Seg::Key("grid".into()),
            Seg::Key("optimizer.lr".into()),
            Seg::Index(1),
        ];
        assert_eq!(path_text(&g), "grid.\"optimizer.lr\"[1]");
        assert_eq!(s.value_span(&g).map(|r| s.line_col(r.start)), Some((6, 25)));
        Ok(())
    }

    #[test]
    fn bad_utf8_is_located() {
        let e = Source::from_bytes(
            Path::new("t.toml"),
            b"epochs = 1\nname = \"\xff\"\n".to_vec(),
        );
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.starts_with("t.toml:2:9: not valid UTF-8"), "{msg}");
    }
}
