//! Laying the text summary out for a terminal of a given width.
//!
//! Every line of the summary is at most the report's width (80 columns and
//! up): prose is wrapped with an indent (textwrap), tables lay out their
//! columns for the width and, when they do not fit, first drop the columns
//! that matter least, then shrink the one column that may shrink (each
//! table says which), and a last column of prose wraps under itself.
//! Which columns go is table-wide, so the rows stay aligned; the callers
//! show what a dropped column held on a detail line, so nothing is lost.
//!
//! Widths are display columns (`→`, `µ`, `–` are one column each; ANSI
//! colour codes none), and colour is applied after the layout, so
//! `--color never` gives exactly the same layout as colour.
//!
//! Column dropping by importance is what a generic table crate does not
//! do, which is why the table is here and small.

use anstyle::{AnsiColor, Style};
use textwrap::{Options, WordSplitter, WrapAlgorithm};

/// The narrowest the summary is laid out for: a narrower terminal gets
/// 80 columns (and its own wrapping).
pub const MIN_WIDTH: usize = 80;

/// The display width of `s`: columns on a terminal, colour codes not counted.
pub fn width_of(s: &str) -> usize {
    textwrap::core::display_width(s)
}

/// The styles that carry meaning in the report.
pub mod styles {
    use super::*;

    /// Section titles.
    pub const HEADING: Style = Style::new().bold();
    /// What explains rather than informs: headers, notes, frame numbers.
    pub const DIM: Style = Style::new().dimmed();
    /// Severity `error`, resets, gaps.
    pub const ERROR: Style = AnsiColor::Red.on_default();
    /// Severity `warning`, connections left open, damaged captures.
    pub const WARNING: Style = AnsiColor::Yellow.on_default();
    /// All is well: clean closes, no findings.
    pub const GOOD: Style = AnsiColor::Green.on_default();
    /// Names a person looks for: client ids, control packets.
    pub const NAME: Style = AnsiColor::Cyan.on_default();
    /// QoS 1 (at least once).
    pub const QOS1: Style = AnsiColor::Blue.on_default();
    /// QoS 2 (exactly once).
    pub const QOS2: Style = AnsiColor::Magenta.on_default();
}

/// Colour on or off: every styled piece goes through here, so `--color
/// never` and `NO_COLOR` give plain text with the same layout.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    on: bool,
}

impl Paint {
    pub fn new(on: bool) -> Self {
        Paint { on }
    }

    /// `s` in `style` (as is with colour off).
    pub fn paint(&self, style: Style, s: &str) -> String {
        if self.on && !s.is_empty() && style != Style::new() {
            format!("{}{s}{}", style.render(), style.render_reset())
        } else {
            s.to_string()
        }
    }

    pub fn bold(&self, s: &str) -> String {
        self.paint(styles::HEADING, s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint(styles::DIM, s)
    }
    pub fn red(&self, s: &str) -> String {
        self.paint(styles::ERROR, s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint(styles::WARNING, s)
    }
    pub fn green(&self, s: &str) -> String {
        self.paint(styles::GOOD, s)
    }
    pub fn cyan(&self, s: &str) -> String {
        self.paint(styles::NAME, s)
    }
}

/// The QoS level's colour: the guarantee a message was sent with.
pub fn qos_style(qos: u8) -> Style {
    match qos {
        1 => styles::QOS1,
        2 => styles::QOS2,
        _ => Style::new(),
    }
}

/// `text` wrapped to `width`: the first line starts with `first` (which
/// may be styled; its display width counts), the others with `rest`.
/// Words are not split at hyphens (client ids and topics have them);
/// a word longer than a line is broken. First fit, not optimal fit: the
/// optimal-fit algorithm lets a line overflow when that balances the
/// paragraph better, and no line may be wider than the report.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let opts = Options::new(width.max(1))
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_splitter(WordSplitter::NoHyphenation)
        .wrap_algorithm(WrapAlgorithm::FirstFit)
        .break_words(true);
    let lines = textwrap::wrap(text, opts);
    if lines.is_empty() {
        return vec![first.trim_end().to_string()];
    }
    lines
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// `s` cut to at most `max` columns, the middle replaced by `…` (the
/// start and the end of an address or a topic say the most).
pub fn shorten_middle(s: &str, max: usize) -> String {
    if width_of(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let keep = max - 1;
    let tail_len = keep / 2;
    let head_len = keep - tail_len;
    let chars: Vec<char> = s.chars().collect();
    let mut head = String::new();
    for &c in &chars {
        if width_of(&head) + width_of(c.encode_utf8(&mut [0; 4])) > head_len {
            break;
        }
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut tail_w = 0;
    for &c in chars.iter().rev() {
        let w = width_of(c.encode_utf8(&mut [0; 4]));
        if tail_w + w > tail_len {
            break;
        }
        tail_w += w;
        tail.push(c);
    }
    tail.reverse();
    format!("{head}…{}", tail.into_iter().collect::<String>())
}

/// Left or right in its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table column and what may happen to it when the table is too wide.
#[derive(Debug, Clone)]
pub struct Column {
    header: String,
    align: Align,
    /// 0: always shown; otherwise dropped when the table does not fit,
    /// the highest first.
    drop: u8,
    /// The column that shrinks: to at least `min` columns, once the
    /// columns with `drop` above `after` are gone.
    shrink: Option<Shrink>,
    /// The last column, prose: wraps under itself instead of widening
    /// the table.
    wrap: bool,
}

#[derive(Debug, Clone, Copy)]
struct Shrink {
    min: usize,
    after: u8,
}

impl Column {
    pub fn left(header: &str) -> Self {
        Column {
            header: header.to_string(),
            align: Align::Left,
            drop: 0,
            shrink: None,
            wrap: false,
        }
    }
    pub fn right(header: &str) -> Self {
        Column {
            align: Align::Right,
            ..Column::left(header)
        }
    }
    /// Dropped when the table does not fit; higher goes first.
    pub fn drop(mut self, order: u8) -> Self {
        self.drop = order;
        self
    }
    /// Shrinks to `min` columns once the columns dropped before `after` are gone.
    pub fn shrink(mut self, min: usize, after: u8) -> Self {
        self.shrink = Some(Shrink { min, after });
        self
    }
    /// Wraps (the last column only).
    pub fn wrap(mut self) -> Self {
        self.wrap = true;
        self
    }
}

/// One cell: its text and style.
#[derive(Debug, Clone, Default)]
pub struct Cell {
    pub text: String,
    pub style: Style,
}

impl Cell {
    pub fn styled(text: impl Into<String>, style: Style) -> Self {
        Cell {
            text: text.into(),
            style,
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell {
            text,
            style: Style::new(),
        }
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::from(text.to_string())
    }
}

/// Where the columns of a table go at one width.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Per column: its width, `None` when dropped.
    widths: Vec<Option<usize>>,
    indent: usize,
    gap: usize,
    width: usize,
}

impl Layout {
    /// The column's width, `None` when it was dropped.
    pub fn width(&self, col: usize) -> Option<usize> {
        self.widths.get(col).copied().flatten()
    }

    /// Whether the column is shown.
    pub fn shown(&self, col: usize) -> bool {
        self.width(col).is_some()
    }
}

/// A table of rows, laid out for a width (module docs).
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
    indent: usize,
    gap: usize,
}

impl Table {
    /// A table `indent` columns in, its columns `gap` apart.
    pub fn new(indent: usize, gap: usize, columns: Vec<Column>) -> Self {
        Table {
            columns,
            rows: Vec::new(),
            indent,
            gap,
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    pub fn rows(&self) -> &[Vec<Cell>] {
        &self.rows
    }

    pub fn rows_mut(&mut self) -> &mut [Vec<Cell>] {
        &mut self.rows
    }

    /// A column's natural width: its widest cell or header (a wrapping
    /// column's is what is left of the line, at least its header).
    fn natural(&self, col: usize) -> usize {
        let header = self.columns.get(col).map_or(0, |c| width_of(&c.header));
        self.rows
            .iter()
            .filter_map(|r| r.get(col))
            .map(|c| width_of(&c.text))
            .fold(header, usize::max)
    }

    /// The widths at `width` columns (module docs for the order things go in).
    pub fn layout(&self, width: usize) -> Layout {
        let n = self.columns.len();
        let mut widths: Vec<Option<usize>> = (0..n).map(|c| Some(self.natural(c))).collect();
        let total = |w: &[Option<usize>], cols: &[Column]| -> usize {
            let shown: Vec<(usize, &Column)> = w
                .iter()
                .zip(cols)
                .filter_map(|(w, c)| w.map(|w| (w, c)))
                .collect();
            let gaps = shown.len().saturating_sub(1) * self.gap;
            // A wrapping column needs only its header's width on the line.
            let cells: usize = shown
                .iter()
                .map(|(w, c)| {
                    if c.wrap {
                        width_of(&c.header).max(12).min(*w)
                    } else {
                        *w
                    }
                })
                .sum();
            self.indent + gaps + cells
        };
        let shrinker = self.columns.iter().position(|c| c.shrink.is_some());
        let shrink_after = shrinker
            .and_then(|i| self.columns.get(i))
            .and_then(|c| c.shrink)
            .map_or(0, |s| s.after);
        // Droppable columns, the first to go first.
        let mut order: Vec<usize> = (0..n)
            .filter(|&c| self.columns.get(c).is_some_and(|c| c.drop > 0))
            .collect();
        order.sort_by_key(|&c| {
            (
                std::cmp::Reverse(self.columns.get(c).map_or(0, |c| c.drop)),
                std::cmp::Reverse(c),
            )
        });
        let mut order = order.into_iter().peekable();
        // Drop what matters less than the shrinking column's text.
        while total(&widths, &self.columns) > width {
            match order.peek() {
                Some(&c) if self.columns.get(c).is_some_and(|c| c.drop > shrink_after) => {
                    if let Some(w) = widths.get_mut(c) {
                        *w = None;
                    }
                    order.next();
                }
                _ => break,
            }
        }
        // Then shrink, then drop the rest as needed.
        loop {
            let over = total(&widths, &self.columns).saturating_sub(width);
            if over == 0 {
                break;
            }
            if let Some(s) = shrinker {
                let min = self
                    .columns
                    .get(s)
                    .and_then(|c| c.shrink)
                    .map_or(0, |x| x.min);
                if let Some(Some(w)) = widths.get_mut(s) {
                    let can = w.saturating_sub(min);
                    if can > 0 {
                        *w -= can.min(over);
                        continue;
                    }
                }
            }
            match order.next() {
                Some(c) => {
                    if let Some(w) = widths.get_mut(c) {
                        *w = None;
                    }
                }
                None => break,
            }
        }
        Layout {
            widths,
            indent: self.indent,
            gap: self.gap,
            width,
        }
    }

    /// The header line (dimmed).
    pub fn header(&self, layout: &Layout, paint: Paint) -> String {
        let cells: Vec<Cell> = self
            .columns
            .iter()
            .map(|c| Cell::styled(c.header.clone(), styles::DIM))
            .collect();
        self.render(&cells, layout, paint)
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Row `i`: one line, or more when its last column wraps.
    pub fn row(&self, i: usize, layout: &Layout, paint: Paint) -> Vec<String> {
        match self.rows.get(i) {
            Some(cells) => self.render(cells, layout, paint),
            None => Vec::new(),
        }
    }

    fn render(&self, cells: &[Cell], layout: &Layout, paint: Paint) -> Vec<String> {
        let mut line = " ".repeat(layout.indent);
        let mut at = layout.indent;
        let mut first = true;
        let mut wrapped: Option<(usize, &Cell)> = None;
        let empty = Cell::default();
        for (col, column) in self.columns.iter().enumerate() {
            let Some(w) = layout.width(col) else {
                continue;
            };
            let cell = cells.get(col).unwrap_or(&empty);
            if !first {
                line.push_str(&" ".repeat(layout.gap));
                at += layout.gap;
            }
            first = false;
            if column.wrap {
                wrapped = Some((at, cell));
                break;
            }
            let text = shorten_middle(&cell.text, w);
            let pad = " ".repeat(w.saturating_sub(width_of(&text)));
            let painted = paint.paint(cell.style, &text);
            match column.align {
                Align::Left => {
                    line.push_str(&painted);
                    line.push_str(&pad);
                }
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(&painted);
                }
            }
            at += w;
        }
        let Some((start, cell)) = wrapped else {
            return vec![line.trim_end().to_string()];
        };
        if cell.text.is_empty() {
            return vec![line.trim_end().to_string()];
        }
        // Prose under itself when there is room for it, else under the row.
        let rest = if layout.width.saturating_sub(start) >= 24 {
            start
        } else {
            layout.indent + 4
        };
        let mut plain = wrap(
            &cell.text,
            layout.width,
            &" ".repeat(start),
            &" ".repeat(rest),
        );
        // Paint the prose of each line, after its indent.
        for (i, l) in plain.iter_mut().enumerate() {
            let cut = if i == 0 { start } else { rest };
            let (lead, text) = l.split_at(cut.min(l.len()));
            *l = format!("{lead}{}", paint.paint(cell.style, text));
        }
        let mut out = Vec::new();
        let mut lines = plain.into_iter();
        if let Some(first) = lines.next() {
            let body = first.get(start..).unwrap_or("");
            out.push(format!("{line}{body}").trim_end().to_string());
        }
        out.extend(lines);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new(
            2,
            2,
            vec![
                Column::right("id"),
                Column::left("name").shrink(6, 1),
                Column::right("minor").drop(2),
                Column::right("least").drop(3),
                Column::right("lesser").drop(1),
            ],
        );
        t.push(vec![
            "1".into(),
            "a rather long name".into(),
            "12345".into(),
            "x".into(),
            "y".into(),
        ]);
        t
    }

    #[test]
    fn everything_fits_when_wide() {
        let t = table();
        let l = t.layout(200);
        assert!((0..5).all(|c| l.shown(c)));
        assert_eq!(l.width(1), Some(18));
    }

    #[test]
    fn less_important_columns_go_before_the_flexible_one_shrinks() {
        let t = table();
        // indent 2 + id 2 + name 18 + minor 5 + least 5 + lesser 6 + 4 gaps of 2 = 46.
        let l = t.layout(39);
        assert!(!l.shown(3), "least goes first");
        assert!(l.shown(2), "minor (above `after`) goes next, but this fits");
        assert_eq!(l.width(1), Some(18));
        let l = t.layout(30);
        assert!(!l.shown(2) && !l.shown(3));
        assert_eq!(l.width(1), Some(16), "then the name shrinks");
        let l = t.layout(14);
        assert!(!l.shown(4), "then what matters more");
        for line in t.row(0, &l, Paint::new(false)) {
            assert!(width_of(&line) <= 14, "{line:?}");
        }
    }

    #[test]
    fn rows_and_headers_align() {
        let t = table();
        let l = t.layout(200);
        let p = Paint::new(false);
        let h = t.header(&l, p);
        let r = &t.row(0, &l, p)[0];
        assert_eq!(h.find("name"), r.find("a rather"));
        assert_eq!(
            h.find("minor").map(|i| i + 5),
            r.find("12345").map(|i| i + 5)
        );
    }

    #[test]
    fn a_prose_column_wraps_under_itself() {
        let mut t = Table::new(
            2,
            1,
            vec![
                Column::left("what"),
                Column::right("n"),
                Column::left("notes").wrap(),
            ],
        );
        t.push(vec![
            "QoS 1 client → broker".into(),
            "8".into(),
            "8 never acknowledged, 2 still waiting when the capture ended, 1 rejected with a reason code".into(),
        ]);
        let l = t.layout(60);
        let lines = t.row(0, &l, Paint::new(false));
        assert!(lines.len() > 1, "{lines:?}");
        let start = width_of(&lines[0][..lines[0].find("8 never").unwrap()]);
        for line in &lines {
            assert!(width_of(line) <= 60, "{line:?}");
        }
        for line in &lines[1..] {
            assert_eq!(line.len() - line.trim_start().len(), start, "{lines:?}");
        }
    }

    #[test]
    fn shortening_keeps_both_ends() {
        assert_eq!(shorten_middle("abcdefghij", 10), "abcdefghij");
        assert_eq!(shorten_middle("abcdefghij", 5), "ab…ij");
        assert_eq!(width_of(&shorten_middle("2001:db8::1:2:3:4:5", 9)), 9);
        assert_eq!(width_of("c→s µs –"), 8);
    }

    #[test]
    fn wrapped_lines_never_overflow() {
        // Optimal fit would put the long word on the first line, one too wide.
        let t = "MQTT 3.1.1, client id \"suncy-mqtt-5c67498695-lq5gs_bench_pub_1_1344005826\", keepalive 60 s";
        for l in wrap(t, 80, "      ", "        ") {
            assert!(width_of(&l) <= 80, "{l:?}");
        }
    }

    #[test]
    fn colour_does_not_change_the_layout() {
        let t = table();
        let l = t.layout(30);
        let plain = t.row(0, &l, Paint::new(false));
        let colour: Vec<String> = t.row(0, &l, Paint::new(true));
        assert_eq!(
            plain.iter().map(|l| width_of(l)).collect::<Vec<_>>(),
            colour.iter().map(|l| width_of(l)).collect::<Vec<_>>()
        );
        let w = wrap(
            "one two three four five",
            12,
            &Paint::new(true).red("> "),
            "  ",
        );
        assert!(w.iter().all(|l| width_of(l) <= 12), "{w:?}");
    }
}
