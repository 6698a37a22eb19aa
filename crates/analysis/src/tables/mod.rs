//! The tables under `tables/`: machine-readable (CSV, Parquet: every number at full
//! precision) and paper-ready (Markdown, LaTeX booktabs: mean ± std, best per column in bold).
//! All are derived from the run directories and can be regenerated at any time.

mod cells;
mod files;
pub mod fmt;
mod grid;
mod lr;
mod paired;
mod power;
mod runs;
mod summary;
pub mod text;

pub use files::{write_tables, TableFiles};

use polars::prelude::*;

use crate::error::{AnalysisError, Result};

/// One column of a machine-readable table.
#[derive(Clone, Debug, PartialEq)]
pub enum Col {
    Str(Vec<String>),
    /// NaN = missing (empty in CSV, null in Parquet).
    F64(Vec<f64>),
    /// None = missing.
    Int(Vec<Option<i64>>),
}

/// A machine-readable table: named columns of equal length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<(String, Col)>,
}

impl Table {
    pub fn push(&mut self, name: impl Into<String>, col: Col) {
        self.columns.push((name.into(), col));
    }

    pub fn height(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| match c {
            Col::Str(v) => v.len(),
            Col::F64(v) => v.len(),
            Col::Int(v) => v.len(),
        })
    }

    /// The same table as a polars frame (for Parquet).
    pub fn to_frame(&self) -> Result<DataFrame> {
        let cols: Vec<Column> = self
            .columns
            .iter()
            .map(|(name, c)| match c {
                Col::Str(v) => Column::new(name.as_str().into(), v.clone()),
                Col::F64(v) => Column::new(
                    name.as_str().into(),
                    v.iter()
                        .map(|x| x.is_finite().then_some(*x))
                        .collect::<Vec<Option<f64>>>(),
                ),
                Col::Int(v) => Column::new(name.as_str().into(), v.clone()),
            })
            .collect();
        DataFrame::new_infer_height(cols).map_err(|e| AnalysisError::polars("building a table", e))
    }

    /// RFC 4180 CSV; floats in Rust's shortest round-trip form, missing values empty.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|(n, _)| csv_field(n)).collect();
        out.push_str(&header.join(","));
        out.push('\n');
        for i in 0..self.height() {
            let row: Vec<String> = self
                .columns
                .iter()
                .map(|(_, c)| match c {
                    Col::Str(v) => csv_field(&v[i]),
                    Col::F64(v) if v[i].is_finite() => format!("{}", v[i]),
                    Col::F64(_) => String::new(),
                    Col::Int(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
                })
                .collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes `df` as Parquet to `path` (atomically).
pub fn write_parquet(df: &mut DataFrame, path: &std::path::Path) -> Result<()> {
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .finish(df)
        .map_err(|e| AnalysisError::polars(format!("writing {}", path.display()), e))?;
    crate::atomic::write(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_leaves_missing_values_empty() {
        let mut t = Table::default();
        t.push("strategy", Col::Str(vec!["a,b".into(), "c".into()]));
        t.push("x", Col::F64(vec![0.1, f64::NAN]));
        t.push("n", Col::Int(vec![Some(3), None]));
        assert_eq!(t.to_csv(), "strategy,x,n\n\"a,b\",0.1,3\nc,,\n");
        let df = t.to_frame().expect("frame");
        assert_eq!(df.height(), 2);
        assert_eq!(df.column("x").expect("x").null_count(), 1);
    }
}
