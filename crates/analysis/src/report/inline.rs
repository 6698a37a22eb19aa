//! HTML escaping, and the generators' three inline marks (`` `code` ``, `**bold**`,
//! `*emphasis*`) as HTML elements. Not a Markdown parser: a mark without its closing twin is
//! kept as a literal character, and everything else is escaped text, so a strategy name, a
//! path or a CPU model can never become markup.

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One piece of marked text.
#[derive(Debug, PartialEq)]
enum Span<'a> {
    Text(&'a str),
    Code(&'a str),
    Bold(&'a str),
    Em(&'a str),
}

fn spans(s: &str) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut i = 0; // within `rest`: plain text so far
    while i < rest.len() {
        let tail = &rest[i..];
        let found = if let Some(t) = tail.strip_prefix('`') {
            t.find('`').map(|end| (Span::Code(&t[..end]), 1 + end + 1))
        } else if let Some(t) = tail.strip_prefix("**") {
            // Bold may hold code ("**Beat `none`:**") but not another bold.
            t.find("**")
                .filter(|&end| end > 0)
                .map(|end| (Span::Bold(&t[..end]), 2 + end + 2))
        } else if let Some(t) = tail.strip_prefix('*') {
            // Emphasis needs text right inside both stars ("*stable*", not "2 * 3 * 4").
            let opens = t.chars().next().is_some_and(|c| !c.is_whitespace());
            t.find('*')
                .filter(|&end| opens && end > 0 && !t[..end].ends_with(char::is_whitespace))
                .map(|end| (Span::Em(&t[..end]), 1 + end + 1))
        } else {
            None
        };
        match found {
            Some((span, len)) => {
                if i > 0 {
                    out.push(Span::Text(&rest[..i]));
                }
                out.push(span);
                rest = &rest[i + len..];
                i = 0;
            }
            None => i += tail.chars().next().map_or(1, char::len_utf8),
        }
    }
    if !rest.is_empty() {
        out.push(Span::Text(rest));
    }
    out
}

/// Marked text as HTML: marks become `<code>`, `<strong>`, `<em>`; all text is escaped.
pub fn to_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for span in spans(s) {
        match span {
            Span::Text(t) => out.push_str(&escape(t)),
            Span::Code(t) => {
                out.push_str("<code>");
                out.push_str(&escape(t));
                out.push_str("</code>");
            }
            Span::Bold(t) => {
                out.push_str("<strong>");
                out.push_str(&to_html(t));
                out.push_str("</strong>");
            }
            Span::Em(t) => {
                out.push_str("<em>");
                out.push_str(&to_html(t));
                out.push_str("</em>");
            }
        }
    }
    out
}

/// Marked text without its marks (the page title).
pub fn to_plain(s: &str) -> String {
    spans(s)
        .into_iter()
        .map(|span| match span {
            Span::Text(t) | Span::Code(t) => t.to_string(),
            Span::Bold(t) | Span::Em(t) => to_plain(t),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_become_elements_and_everything_else_is_escaped() {
        assert_eq!(
            to_html("**Beat `none`:** `a<b>` p < 0.05 & *stable*"),
            "<strong>Beat <code>none</code>:</strong> <code>a&lt;b&gt;</code> p &lt; 0.05 \
             &amp; <em>stable</em>"
        );
        assert_eq!(to_plain("study `x` **y**"), "study x y");
    }

    #[test]
    fn unmatched_marks_and_arithmetic_stars_stay_literal() {
        assert_eq!(to_html("a ` b"), "a ` b");
        assert_eq!(to_html("2 * 3 * 4"), "2 * 3 * 4");
        assert_eq!(to_html("**open"), "**open");
        assert_eq!(to_html("θ → `\"q\"`"), "θ → <code>&quot;q&quot;</code>");
        assert_eq!(
            escape("<script>'x'</script>"),
            "&lt;script&gt;&#39;x&#39;&lt;/script&gt;"
        );
    }
}
