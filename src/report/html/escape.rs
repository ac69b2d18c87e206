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

#[cfg(test)]
mod tests {
    use super::*;

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
