//! HTML tables: the setup (key → value) and the sortable data tables. Each number cell gets
//! its value in `data-sort`, computed here (so "9.8" sorts below "10.2", "−0.49" below
//! "+0.10", "∞" last), and the sorter in sort.js compares those; "–" cells are `na`.

use std::fmt::Write as _;

use crate::report::doc::TableBlock;
use crate::report::inline::{escape, to_html};

pub(super) fn setup(s: &mut String, rows: &[(String, String)]) {
    s.push_str("<div class=\"table-wrap\"><table id=\"table-setup\" class=\"setup\"><tbody>\n");
    for (k, v) in rows {
        let _ = writeln!(
            s,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    s.push_str("</tbody></table></div>\n");
}

pub(super) fn table(s: &mut String, b: &TableBlock) {
    let t = &b.table;
    let num = |c: usize| t.numeric.get(c).copied().unwrap_or(false);
    let _ = write!(
        s,
        "<div class=\"table-wrap\"><table id=\"{}\" class=\"sortable\">\n<thead><tr>",
        escape(&b.id)
    );
    for (c, h) in t.header.iter().enumerate() {
        let class = if num(c) { " class=\"num\"" } else { "" };
        let _ = write!(s, "<th scope=\"col\"{class}>{}</th>", escape(h));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for (r, row) in t.rows.iter().enumerate() {
        s.push_str("<tr>");
        for (c, cell) in row.iter().enumerate() {
            let mut class: Vec<&str> = Vec::new();
            if num(c) {
                class.push("num");
            }
            let key = sort_key(cell);
            if key.is_none() && is_missing(cell) {
                class.push("na");
            }
            s.push_str("<td");
            if !class.is_empty() {
                let _ = write!(s, " class=\"{}\"", class.join(" "));
            }
            match key {
                // JavaScript's Number() reads "Infinity", not Rust's "inf".
                Some(k) if k.is_infinite() => s.push_str(" data-sort=\"Infinity\""),
                Some(k) => {
                    let _ = write!(s, " data-sort=\"{k}\"");
                }
                None => {}
            }
            s.push('>');
            let mut text = if b.marked {
                to_html(cell)
            } else {
                escape(cell)
            };
            if c == 0 {
                if let Some(Some(href)) = b.links.get(r) {
                    text = format!("<a href=\"{}\">{text}</a>", escape(&href_path(href)));
                }
            }
            if t.bold.get(r).and_then(|v| v.get(c)).copied() == Some(true) {
                text = format!("<strong>{text}</strong>");
            }
            s.push_str(&text);
            s.push_str("</td>");
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
}

fn is_missing(cell: &str) -> bool {
    matches!(cell.trim(), "" | "–" | "-")
}

/// The number a cell starts with ("60.10 ± 0.45" → 60.1, "[−0.75, −0.22]" → −0.75,
/// "< 0.001" → 0.001, "0/3 (0–56%)" → 0, "∞" → inf), or None for text.
pub(super) fn sort_key(cell: &str) -> Option<f64> {
    let t = cell.trim_start_matches(|c: char| c.is_whitespace() || "[(<>≤≥+".contains(c));
    if t.starts_with('∞') {
        return Some(f64::INFINITY);
    }
    // The longest prefix of the form -?digits[.digits][e[+-]digits].
    let t = t.replacen('−', "-", 1);
    let b = t.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if !digits(&mut i) {
        return None;
    }
    let mut end = i;
    if b.get(i) == Some(&b'.') {
        let mut j = i + 1;
        if digits(&mut j) {
            end = j;
        }
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let mut j = end + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if digits(&mut j) {
            end = j;
        }
    }
    t[..end].parse().ok()
}

/// A relative path as a URL path: every byte outside the unreserved set and '/' is
/// percent-encoded, so a directory name cannot end the attribute or start a scheme.
pub(super) fn href_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &byte in path.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_read_the_leading_number_of_every_cell_format() {
        let cases: [(&str, Option<f64>); 12] = [
            ("60.10 ± 0.45", Some(60.1)),
            ("9.8", Some(9.8)),
            ("[−0.75, −0.22]", Some(-0.75)),
            ("−0.49", Some(-0.49)),
            ("+0.10", Some(0.10)),
            ("< 0.001", Some(0.001)),
            ("0/3 (0–56%)", Some(0.0)),
            ("940 [600, ∞]", Some(940.0)),
            ("∞", Some(f64::INFINITY)),
            ("1.23e-4", Some(1.23e-4)),
            ("none", None),
            ("–", None),
        ];
        for (cell, want) in cases {
            assert_eq!(sort_key(cell), want, "{cell}");
        }
        assert_eq!(sort_key("7 of 8"), Some(7.0));
        assert_eq!(sort_key("lr=0.05"), None);
    }

    #[test]
    fn links_are_percent_encoded() {
        assert_eq!(href_path("runs/none-s1-ab12/"), "runs/none-s1-ab12/");
        assert_eq!(
            href_path("runs/a b\"<x>:θ/"),
            "runs/a%20b%22%3Cx%3E%3A%CE%B8/"
        );
    }
}
