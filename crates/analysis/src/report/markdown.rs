//! report.md from the report's blocks: every block is its Markdown text followed by a blank
//! line (the layout report.md has always had, so existing reports stay byte-identical).

use std::fmt::Write as _;

use crate::report::doc::{Block, Doc};

pub fn render(doc: &Doc) -> String {
    let mut s = String::new();
    for b in &doc.blocks {
        block(&mut s, b);
    }
    s
}

fn block(s: &mut String, b: &Block) {
    match b {
        Block::Heading { level, text } => {
            let _ = writeln!(s, "{} {}\n", "#".repeat(*level), text.0);
        }
        Block::Para(text) => {
            let _ = writeln!(s, "{}\n", text.0);
        }
        Block::List { lead, items } => {
            // The lead stays on the line above the items: Markdown still renders the list.
            if let Some(l) = lead {
                let _ = writeln!(s, "{}", l.0);
            }
            for i in items {
                let _ = writeln!(s, "- {}", i.0);
            }
            s.push('\n');
        }
        Block::Setup(rows) => {
            let _ = writeln!(s, "| | |\n|---|---|");
            for (k, v) in rows {
                let _ = writeln!(s, "| {k} | {} |", v.replace('|', "\\|"));
            }
            s.push('\n');
        }
        Block::Table(t) => {
            let _ = writeln!(s, "{}", t.table.markdown());
        }
        Block::Figure { caption, rel, .. } => {
            let _ = writeln!(s, "![{caption}]({})\n\n*{caption}*\n", rel.display());
        }
        Block::HtmlOnly(_) => {}
        Block::MdOnly(b) => block(s, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::doc::Marked;

    #[test]
    fn blocks_are_separated_by_one_blank_line_and_html_only_blocks_are_left_out() {
        let doc = Doc {
            study: "s".into(),
            blocks: vec![
                Block::Heading {
                    level: 2,
                    text: Marked::new("The answer"),
                },
                Block::List {
                    lead: Some(Marked::new("**Lead**:")),
                    items: vec![Marked::new("a"), Marked::new("b")],
                },
                Block::HtmlOnly(Box::new(Block::Para(Marked::new("html only")))),
                Block::Setup(vec![("Grid".into(), "a|b".into())]),
                Block::Para(Marked::new("end")),
            ],
        };
        assert_eq!(
            render(&doc),
            "## The answer\n\n**Lead**:\n- a\n- b\n\n| | |\n|---|---|\n| Grid | a\\|b |\n\nend\n\n"
        );
    }
}
