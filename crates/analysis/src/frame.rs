//! Small helpers to move columns between polars frames and plain vectors.

use polars::prelude::*;

use crate::error::{AnalysisError, Result};

fn column<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Series> {
    df.column(name)
        .map(|c| c.as_materialized_series())
        .map_err(|e| AnalysisError::polars(format!("column {name}"), e))
}

/// A numeric column as f64 (nulls → NaN).
pub fn f64s(df: &DataFrame, name: &str) -> Result<Vec<f64>> {
    let s = column(df, name)?
        .cast(&DataType::Float64)
        .map_err(|e| AnalysisError::polars(format!("column {name} as f64"), e))?;
    let ca = s
        .f64()
        .map_err(|e| AnalysisError::polars(format!("column {name} as f64"), e))?;
    Ok(ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// An integer column as usize (nulls → usize::MAX, which no index reaches).
pub fn indices(df: &DataFrame, name: &str) -> Result<Vec<usize>> {
    let s = column(df, name)?
        .cast(&DataType::UInt64)
        .map_err(|e| AnalysisError::polars(format!("column {name} as u64"), e))?;
    let ca = s
        .u64()
        .map_err(|e| AnalysisError::polars(format!("column {name} as u64"), e))?;
    Ok(ca
        .iter()
        .map(|v| v.map_or(usize::MAX, |v| v as usize))
        .collect())
}
