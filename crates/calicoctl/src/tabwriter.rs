//! A port of the parts of Go's `text/tabwriter` calicoctl uses, so tables line up byte for
//! byte: cells are tab-terminated, each column is as wide as its widest cell plus padding
//! (at least `min_width`), widths count Unicode code points, and a line without tabs ends every
//! column block. Alignment is left, padding with spaces, no flags.

/// Column layout settings (calicoctl uses min width 5, padding 3).
#[derive(Clone, Copy, Debug)]
pub struct TabWriter {
    pub min_width: usize,
    pub padding: usize,
}

/// calicoctl's settings: `tabwriter.NewWriter(os.Stdout, 5, 1, 3, ' ', 0)`.
pub const CALICOCTL: TabWriter = TabWriter {
    min_width: 5,
    padding: 3,
};

struct Line<'a> {
    cells: Vec<&'a str>,
    /// False for a final line with no newline after it.
    newline: bool,
}

impl TabWriter {
    /// Lays out `text` (cells separated by `\t`, lines by `\n`).
    pub fn format(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() * 2);
        let mut block: Vec<Line<'_>> = Vec::new();
        let mut rest = text;
        loop {
            let (line_text, newline, next) = match rest.find('\n') {
                Some(i) => (&rest[..i], true, &rest[i + 1..]),
                None => (rest, false, ""),
            };
            let cells: Vec<&str> = line_text.split('\t').collect();
            let single = cells.len() == 1;
            block.push(Line { cells, newline });
            // A line without tabs cannot affect later lines, so Go flushes there.
            if single || !newline {
                self.flush(&block, &mut out);
                block.clear();
            }
            if !newline {
                break;
            }
            rest = next;
        }
        out
    }

    fn flush(&self, lines: &[Line<'_>], out: &mut String) {
        let mut widths = Vec::new();
        self.format_block(lines, 0, lines.len(), &mut widths, out);
    }

    /// Go's recursive `format`: widths of columns to the left are known; find the blocks of
    /// consecutive lines that have a cell in the next column and size that column per block.
    fn format_block(
        &self,
        lines: &[Line<'_>],
        mut start: usize,
        end: usize,
        widths: &mut Vec<usize>,
        out: &mut String,
    ) {
        let column = widths.len();
        let mut this = start;
        while this < end {
            if column + 1 >= lines[this].cells.len() {
                this += 1;
                continue;
            }
            self.write_lines(lines, start, this, widths, out);
            start = this;
            let mut width = self.min_width;
            while this < end && column + 1 < lines[this].cells.len() {
                let cell_width = lines[this].cells[column].chars().count() + self.padding;
                width = width.max(cell_width);
                this += 1;
            }
            widths.push(width);
            self.format_block(lines, start, this, widths, out);
            widths.pop();
            start = this;
        }
        self.write_lines(lines, start, end, widths, out);
    }

    fn write_lines(
        &self,
        lines: &[Line<'_>],
        start: usize,
        end: usize,
        widths: &[usize],
        out: &mut String,
    ) {
        for line in &lines[start..end] {
            for (j, cell) in line.cells.iter().enumerate() {
                out.push_str(cell);
                if let Some(width) = widths.get(j) {
                    if j + 1 < line.cells.len() {
                        let pad = width.saturating_sub(cell.chars().count());
                        out.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            if line.newline {
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_calicoctl_tables() {
        let text = "NAME\tCIDR\tSELECTOR\t\nippool-name1\t10.0.1.0/24\tfoo == 'bar'\t\n";
        assert_eq!(
            CALICOCTL.format(text),
            "NAME           CIDR          SELECTOR       \nippool-name1   10.0.1.0/24   foo == 'bar'   \n"
        );
    }

    #[test]
    fn minimum_width_and_unicode() {
        assert_eq!(CALICOCTL.format("A\tB\t\n"), "A    B    \n");
        // Widths count code points, as Go counts runes.
        assert_eq!(
            CALICOCTL.format("日本\tx\t\nab\ty\t\n"),
            "日本   x    \nab   y    \n"
        );
    }

    #[test]
    fn lines_without_tabs_end_column_blocks() {
        let text = "A\tB\t\nlong-cell-here\tC\t\n\nX\tY\t\n";
        assert_eq!(
            CALICOCTL.format(text),
            "A                B    \nlong-cell-here   C    \n\nX    Y    \n"
        );
    }

    #[test]
    fn ragged_lines_follow_go() {
        // The second column block covers only the lines that have a second terminated cell.
        let text = "a\tbb\tc\t\nxxxxxxx\t\nd\te\t\n";
        assert_eq!(
            CALICOCTL.format(text),
            "a         bb   c    \nxxxxxxx   \nd         e    \n"
        );
    }
}
