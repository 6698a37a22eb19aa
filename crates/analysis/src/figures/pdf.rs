//! PDF output: the SVG plotters draws, converted in-process by usvg + svg2pdf (vector, text
//! kept as text, the font subset and embedded). The SVG names the family `sans-serif`; usvg
//! resolves it in a font database holding only the figures' own font ([`super::font`]), never
//! the system's, so a PDF is the same on every machine.

use std::sync::{Arc, OnceLock};

use svg2pdf::usvg;

use crate::error::{AnalysisError, Result};

/// usvg's options with the figures' font as the only (and sans-serif) family.
fn options() -> Result<&'static usvg::Options<'static>> {
    static OPTS: OnceLock<std::result::Result<usvg::Options<'static>, String>> = OnceLock::new();
    OPTS.get_or_init(|| {
        let bytes = super::font::bytes().map_err(|e| e.to_string())?;
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(bytes.to_vec());
        let family = db
            .faces()
            .next()
            .and_then(|f| f.families.first())
            .map(|(name, _)| name.clone())
            .ok_or("the figures' font has no family name usvg can read")?;
        db.set_sans_serif_family(family.clone());
        Ok(usvg::Options {
            font_family: family,
            fontdb: Arc::new(db),
            ..usvg::Options::default()
        })
    })
    .as_ref()
    .map_err(|e| AnalysisError::Font(e.clone()))
}

/// Converts an SVG document to a one-page PDF of the same size (1 px = 1 pt).
pub fn svg_to_pdf(svg: &str) -> std::result::Result<Vec<u8>, String> {
    let opts = options().map_err(|e| e.to_string())?;
    let tree = usvg::Tree::from_str(svg, opts).map_err(|e| format!("SVG parse: {e}"))?;
    let mut pdf = svg2pdf::to_pdf(
        &tree,
        svg2pdf::ConversionOptions::default(),
        svg2pdf::PageOptions::default(),
    )
    .map_err(|e| format!("SVG → PDF: {e}"))?;
    sort_resource_entries(&mut pdf);
    Ok(pdf)
}

/// svg2pdf 0.13 writes the entries of a resource dictionary (`/XObject << /xo3 12 0 R ... >>`)
/// in a HashMap's order, which changes from run to run, so the same figure gave different
/// bytes. The names and objects are deterministic; only their order is not. Sorting the entry
/// lines in place keeps every byte offset (the same lines, reordered), so the xref table stays
/// valid. Only dictionaries outside streams are touched.
fn sort_resource_entries(pdf: &mut [u8]) {
    const HEADS: [&[u8]; 6] = [
        b"/XObject <<",
        b"/ExtGState <<",
        b"/Pattern <<",
        b"/Shading <<",
        b"/Font <<",
        b"/ColorSpace <<",
    ];
    let mut i = 0;
    let mut in_stream = false;
    while i < pdf.len() {
        let end = line_end(pdf, i);
        let line = pdf[i..end].trim_ascii();
        if in_stream {
            in_stream = line != b"endstream";
        } else if line == b"stream" {
            in_stream = true;
        } else if HEADS.contains(&line) {
            // Entry lines up to the closing ">>" line.
            let start = end;
            let mut lines: Vec<Vec<u8>> = Vec::new();
            let mut j = start;
            while j < pdf.len() {
                let e = line_end(pdf, j);
                if pdf[j..e].trim_ascii() == b">>" {
                    break;
                }
                lines.push(pdf[j..e].to_vec());
                j = e;
            }
            if lines.iter().all(|l| l.ends_with(b"\n")) {
                lines.sort();
                let sorted = lines.concat();
                pdf[start..start + sorted.len()].copy_from_slice(&sorted);
            }
        }
        i = end;
    }
}

/// The end (exclusive, after its newline) of the line starting at `from`.
fn line_end(pdf: &[u8], from: usize) -> usize {
    pdf[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(pdf.len(), |p| from + p + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A figure with several resources of each kind (text, clip paths, opacity) is the same
    /// bytes every time, and the PDF stays valid (poppler reads it in the figure tests).
    #[test]
    fn the_same_svg_gives_the_same_bytes() -> std::result::Result<(), String> {
        let mut svg =
            String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200">"#);
        for k in 0..12 {
            svg.push_str(&format!(
                r#"<g opacity="0.{k}5"><rect x="{x}" y="10" width="20" height="20" fill="rgb({k}0,0,0)"/><text x="{x}" y="60" font-family="sans-serif" font-size="12">t{k}</text></g>"#,
                x = 10 + 20 * k
            ));
        }
        svg.push_str("</svg>");
        let first = svg_to_pdf(&svg)?;
        for _ in 0..8 {
            assert!(svg_to_pdf(&svg)? == first, "PDF bytes differ between runs");
        }
        Ok(())
    }

    #[test]
    fn text_becomes_an_embedded_font() -> std::result::Result<(), String> {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50">
            <text x="10" y="30" font-family="sans-serif" font-size="20">θ step</text></svg>"#;
        let pdf = svg_to_pdf(svg)?;
        assert!(pdf.starts_with(b"%PDF-"));
        let has = |pat: &[u8]| pdf.windows(pat.len()).any(|w| w == pat);
        assert!(has(b"/FontFile"), "no embedded font program in the PDF");
        assert!(has(b"DejaVu"), "the font is not the bundled DejaVu Sans");
        Ok(())
    }
}
