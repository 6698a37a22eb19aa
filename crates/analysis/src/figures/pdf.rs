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
    svg2pdf::to_pdf(
        &tree,
        svg2pdf::ConversionOptions::default(),
        svg2pdf::PageOptions::default(),
    )
    .map_err(|e| format!("SVG → PDF: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
