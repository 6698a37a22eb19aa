//! A figure in report.html: the SVG `clipbench plot` wrote, inlined (scalable, searchable
//! text, no file to go missing), or the PNG as a data: URI when no SVG was written
//! (`--format png`).

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{AnalysisError, Result};
use crate::report::inline::{escape, to_html};

const SVG_NS: &str = " xmlns=\"http://www.w3.org/2000/svg\"";

pub(super) fn figure(
    s: &mut String,
    id: &str,
    caption: &str,
    path: &Path,
    svg: Option<&Path>,
) -> Result<()> {
    let _ = writeln!(s, "<figure id=\"{}\">", escape(id));
    match svg {
        Some(svg) => {
            let text = std::fs::read_to_string(svg).map_err(|e| AnalysisError::io(svg, e))?;
            s.push_str(
                &inline_svg(&text, caption).map_err(|message| AnalysisError::Invalid {
                    path: svg.to_path_buf(),
                    message,
                })?,
            );
            s.push('\n');
        }
        None => {
            let bytes = std::fs::read(path).map_err(|e| AnalysisError::io(path, e))?;
            let _ = writeln!(
                s,
                "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
                escape(caption),
                base64(&bytes)
            );
        }
    }
    let _ = writeln!(
        s,
        "<figcaption>{}</figcaption>\n</figure>",
        to_html(caption)
    );
    Ok(())
}

/// The `<svg>` element of an SVG file, ready to sit in HTML: the XML prolog dropped, the
/// namespace attribute dropped (HTML puts an inline `<svg>` in the SVG namespace itself, and
/// the page then holds no URL at all), labelled with the caption for screen readers.
fn inline_svg(text: &str, caption: &str) -> Result<String, String> {
    let mut t = text.trim();
    if t.starts_with("<?xml") {
        t = t.split_once("?>").map_or("", |(_, rest)| rest).trim_start();
    }
    if !t.starts_with("<svg") || !t.ends_with("</svg>") {
        return Err("not an SVG document (expected <svg ...>...</svg>)".into());
    }
    if t.contains("<script") || t.contains("<foreignObject") {
        return Err("an SVG with scripts or foreign objects is not inlined".into());
    }
    let (open, rest) = t.split_at(t.find('>').ok_or("unterminated <svg> tag")?);
    let open = open.replacen(SVG_NS, "", 1);
    Ok(format!(
        "{open} role=\"img\" aria-label=\"{}\"{rest}",
        escape(caption)
    ))
}

/// Standard base64 with padding (RFC 4648).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_is_inlined_without_prolog_or_namespace_url() -> Result<(), String> {
        let svg = "<?xml version=\"1.0\"?>\n<svg width=\"10\" height=\"5\" viewBox=\"0 0 10 5\" \
                   xmlns=\"http://www.w3.org/2000/svg\">\n<text>a &amp; b</text>\n</svg>\n";
        let out = inline_svg(svg, "Loss \"vs\" step")?;
        assert_eq!(
            out,
            "<svg width=\"10\" height=\"5\" viewBox=\"0 0 10 5\" role=\"img\" \
             aria-label=\"Loss &quot;vs&quot; step\">\n<text>a &amp; b</text>\n</svg>"
        );
        assert!(inline_svg("<html></html>", "x").is_err());
        assert!(inline_svg("<svg><script>x()</script></svg>", "x").is_err());
        Ok(())
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (raw, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), want);
        }
    }
}
