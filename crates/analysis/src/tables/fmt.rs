//! Number formatting shared by the Markdown and LaTeX tables and the report.

/// "61.23" for 0.6123 (percent, `d` decimals); "–" for NaN.
pub fn pct(x: f64, d: usize) -> String {
    if x.is_finite() {
        format!("{:.*}", d, 100.0 * x)
    } else {
        "–".into()
    }
}

/// `d` decimals; "–" for NaN.
pub fn fixed(x: f64, d: usize) -> String {
    if x.is_finite() {
        format!("{x:.d$}")
    } else {
        "–".into()
    }
}

/// `sig` significant digits, scientific below 1e-3 and from 1e5 on; "∞" for +∞ (a norm
/// that overflowed), "–" for NaN.
pub fn sig(x: f64, sig: usize) -> String {
    if x == f64::INFINITY {
        return "∞".into();
    }
    if !x.is_finite() {
        return "–".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-3..5).contains(&mag) {
        return format!("{:.*e}", sig.saturating_sub(1), x);
    }
    let decimals = (sig as i32 - 1 - mag).max(0) as usize;
    format!("{x:.decimals$}")
}

/// "61.23 ± 0.45" (percent) or "61.23" when the std is missing.
pub fn pct_pm(mean: f64, std: f64, d: usize) -> String {
    if std.is_finite() {
        format!("{} ± {}", pct(mean, d), pct(std, d))
    } else {
        pct(mean, d)
    }
}

/// "[60.10, 62.30]" (percent, typographic minus) or "–".
pub fn pct_interval(lo: f64, hi: f64, d: usize) -> String {
    if lo.is_finite() && hi.is_finite() {
        format!("[{}, {}]", pct(lo, d), pct(hi, d)).replace('-', "−")
    } else {
        "–".into()
    }
}

/// Signed percentage points: "+1.23" / "−0.40".
pub fn pp(x: f64, d: usize) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let s = format!("{:+.*}", d, 100.0 * x);
    s.replace('-', "−")
}

/// `d` decimals with a typographic minus: "−0.76"; "–" for NaN.
pub fn signed(x: f64, d: usize) -> String {
    if x.is_finite() {
        format!("{x:.d$}").replace('-', "−")
    } else {
        "–".into()
    }
}

/// p-values: "0.031", "< 0.001", "1.000".
pub fn p_value(p: f64) -> String {
    if !p.is_finite() {
        "–".into()
    } else if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// A learning rate: "0.001", "3e-4".
pub fn lr(x: f64) -> String {
    format!("{x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(pct(0.61234, 2), "61.23");
        assert_eq!(pct_pm(0.6, 0.0123, 1), "60.0 ± 1.2");
        assert_eq!(pct_pm(0.6, f64::NAN, 1), "60.0");
        assert_eq!(sig(1234.4, 3), "1234");
        assert_eq!(sig(0.012345, 3), "0.0123");
        assert_eq!(sig(3.2e-5, 2), "3.2e-5");
        assert_eq!(sig(f64::NAN, 2), "–");
        assert_eq!(sig(f64::INFINITY, 2), "∞");
        assert_eq!(pct_interval(-0.2101, 0.5344, 2), "[−21.01, 53.44]");
        assert_eq!(pp(-0.004, 2), "−0.40");
        assert_eq!(p_value(0.0004), "< 0.001");
    }
}
