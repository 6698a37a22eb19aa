//! report.html from the report's blocks: one self-contained page (inline CSS, inline SVG
//! figures, two small inline scripts: an error recorder and the table sorter), readable with
//! no network. A Content-Security-Policy forbids every fetch, so a remote URL that slipped in
//! would fail loudly (the browser test sees the violation) instead of loading.

mod figure;
mod table;

use std::fmt::Write as _;

use crate::error::Result;
use crate::report::doc::{Block, Doc};
use crate::report::inline::{escape, to_html, to_plain};

const CSS: &str = include_str!("style.css");
const CATCH_JS: &str = include_str!("catch.js");
const SORT_JS: &str = include_str!("sort.js");

/// No fetch of any kind; inline styles and scripts, and data: images (the PNG fallback).
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

/// An HTML id from heading text: lower-case letters and digits, runs of others as '-'.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in to_plain(text).chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The blocks HTML shows (HTML-only ones unwrapped, Markdown-only ones left out).
fn shown(blocks: &[Block]) -> impl Iterator<Item = &Block> {
    blocks.iter().filter_map(|b| match b {
        Block::HtmlOnly(inner) => Some(inner.as_ref()),
        Block::MdOnly(_) => None,
        b => Some(b),
    })
}

pub fn render(doc: &Doc) -> Result<String> {
    let mut s = String::new();
    let title = escape(&format!("clipbench study {}", doc.study));
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"clipbench report\">\n<title>{title}</title>\n\
         <script>\n{CATCH_JS}</script>\n<style>\n{CSS}</style>\n</head>\n<body>\n"
    );
    // A table of contents: the level-2 sections.
    s.push_str("<nav aria-label=\"Sections\">");
    for b in shown(&doc.blocks) {
        if let Block::Heading { level: 2, text } = b {
            let _ = write!(s, "<a href=\"#{}\">{}</a>", slug(&text.0), to_html(&text.0));
        }
    }
    s.push_str("</nav>\n<pre id=\"report-errors\" hidden></pre>\n<main>\n");
    for b in shown(&doc.blocks) {
        block(&mut s, b)?;
    }
    let _ = write!(
        s,
        "</main>\n<script>\n{SORT_JS}</script>\n</body>\n</html>\n"
    );
    Ok(s)
}

fn block(s: &mut String, b: &Block) -> Result<()> {
    match b {
        Block::Heading { level, text } => {
            let level = (*level).clamp(1, 6);
            let _ = writeln!(
                s,
                "<h{level} id=\"{}\">{}</h{level}>",
                slug(&text.0),
                to_html(&text.0)
            );
        }
        Block::Para(text) => {
            let _ = writeln!(s, "<p>{}</p>", to_html(&text.0));
        }
        Block::List { lead, items } => {
            if let Some(l) = lead {
                let _ = writeln!(s, "<p class=\"lead\">{}</p>", to_html(&l.0));
            }
            if !items.is_empty() {
                let class = if lead.is_some() {
                    " class=\"lead\""
                } else {
                    ""
                };
                let _ = writeln!(s, "<ul{class}>");
                for i in items {
                    let _ = writeln!(s, "<li>{}</li>", to_html(&i.0));
                }
                s.push_str("</ul>\n");
            }
        }
        Block::Setup(rows) => table::setup(s, rows),
        Block::Table(t) => table::table(s, t),
        Block::Figure {
            id,
            caption,
            path,
            svg,
            ..
        } => figure::figure(s, id, caption, path, svg.as_deref())?,
        Block::HtmlOnly(inner) => block(s, inner)?,
        Block::MdOnly(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::doc::{Marked, TableBlock};
    use crate::tables::text::TextTable;

    #[test]
    fn page_escapes_text_and_holds_no_url() -> Result<()> {
        let mut t = TextTable::new(&[("Strategy <s>", "", false), ("Acc (%)", "", true)]);
        t.push(vec!["a<b>&\"c\"".into(), "60.1 ± 0.5".into()]);
        let doc = Doc {
            study: "x</title><script>".into(),
            blocks: vec![
                Block::Heading {
                    level: 1,
                    text: Marked::new("clipbench study `x<y`"),
                },
                Block::Heading {
                    level: 2,
                    text: Marked::new("The answer"),
                },
                Block::Setup(vec![("CPU".into(), "<AMD> & co".into())]),
                Block::Table(TableBlock::new("summary", t)),
                Block::MdOnly(Box::new(Block::Para(Marked::new("markdown only")))),
            ],
        };
        let html = render(&doc)?;
        assert!(html.contains("<title>clipbench study x&lt;/title&gt;&lt;script&gt;</title>"));
        assert!(html.contains("<code>x&lt;y</code>"));
        assert!(html.contains("<td>&lt;AMD&gt; &amp; co</td>"), "{html}");
        assert!(html.contains("a&lt;b&gt;&amp;&quot;c&quot;"));
        assert!(
            html.contains("<th scope=\"col\">Strategy &lt;s&gt;</th>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"#the-answer\">The answer</a>"));
        assert!(!html.contains("markdown only"));
        assert!(!html.contains("://"), "no URL of any kind in the page");
        assert!(!html.contains("url("), "no CSS fetch");
        Ok(())
    }

    #[test]
    fn slugs_are_ids() {
        assert_eq!(
            slug("Against `none` (paired over shared seeds)"),
            "against-none-paired-over-shared-seeds"
        );
        assert_eq!(slug("Learning-rate stability"), "learning-rate-stability");
    }
}
