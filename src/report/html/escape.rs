//! HTML escaping: every text that comes from the capture (topics, client
//! identifiers, payload previews inside messages, file names) is hostile.

use std::fmt;

/// Displays its text escaped for HTML text and for quoted attribute
/// values: `& < > " '` become entities, and control characters (other
/// than tab and newline), which a page cannot show and an attacker may use
/// to confuse a reader, become U+FFFD.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut plain = 0;
        for (i, ch) in s.char_indices() {
            let rep = match ch {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                '\t' | '\n' => continue,
                c if c.is_control() => "\u{FFFD}",
                _ => continue,
            };
            f.write_str(s.get(plain..i).unwrap_or_default())?;
            f.write_str(rep)?;
            plain = i + ch.len_utf8();
        }
        f.write_str(s.get(plain..).unwrap_or_default())
    }
}

/// [`Esc`] of at most `.1` characters of the text, with `…` when cut: a
/// topic or client identifier may be 65,535 bytes, and the page shows
/// dozens of them.
pub struct Clip<'a>(pub &'a str, pub usize);

impl fmt::Display for Clip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, more) = cut(self.0, self.1);
        write!(f, "{}{}", Esc(text), if more { "…" } else { "" })
    }
}

/// At most `n` characters of `s`, and whether some were left out (for a
/// text escaped later, as part of a longer one).
pub fn cut(s: &str, n: usize) -> (&str, bool) {
    match s.char_indices().nth(n) {
        Some((at, _)) => (s.get(..at).unwrap_or_default(), true),
        None => (s, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_long_texts_at_a_character() {
        assert_eq!(Clip("short", 10).to_string(), "short");
        assert_eq!(Clip("exactly", 7).to_string(), "exactly");
        assert_eq!(Clip("ééééé<", 3).to_string(), "ééé…");
        assert_eq!(Clip("ab<cd", 3).to_string(), "ab&lt;…");
        assert_eq!(Clip(&"x".repeat(70_000), 100).to_string().len(), 103);
    }

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            Esc("<script>alert(1)</script>").to_string(),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(Esc("a\"b'c&d").to_string(), "a&quot;b&#39;c&amp;d");
        assert_eq!(
            Esc("é\u{0}\u{1b}[31m\tx").to_string(),
            "é\u{FFFD}\u{FFFD}[31m\tx"
        );
        assert_eq!(Esc("plain/topic/#").to_string(), "plain/topic/#");
    }
}
