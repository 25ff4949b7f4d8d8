//! Small pieces of terminal output shared by `locate`, `demo`, `bench` and `shards`: bars,
//! thousands separators, aligned tables, and whether to draw live (ANSI) output at all.

use std::io::IsTerminal;

/// A horizontal bar `fraction` (0..=1) of `width` cells, in eighths of a cell.
pub(crate) fn bar(fraction: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (fraction.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8]);
    }
    s
}

/// `1234567` as `1 234 567` (a thin, unambiguous separator in any locale).
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Rows of cells printed as columns: the first column left-aligned, the others right-aligned.
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    table_with(rows, |c| c > 0)
}

/// Rows of cells printed as columns, column `c` right-aligned when `right(c)`.
pub(crate) fn table_with(rows: &[Vec<String>], right: impl Fn(usize) -> bool) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = " ".repeat(widths[c] - cell.chars().count());
            if c > 0 {
                line.push_str("  ");
            }
            if right(c) {
                line.push_str(&pad);
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&pad);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Whether stderr is a terminal that understands ANSI (live progress lines are drawn there).
pub(crate) fn stderr_is_live() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("TERM").is_some_and(|t| t != "dumb")
}

/// Whether stdout is a terminal that understands ANSI.
pub(crate) fn stdout_is_live() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("TERM").is_some_and(|t| t != "dumb")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_have_eighths() {
        assert_eq!(bar(0.0, 10), "");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 3), "█▌");
        assert_eq!(bar(2.0, 2), "██");
    }

    #[test]
    fn thousands_and_tables() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1 000");
        assert_eq!(thousands(1234567), "1 234 567");
        let t = table(&[
            vec!["shard".into(), "keys".into()],
            vec!["a".into(), "12".into()],
            vec!["bbb".into(), "1 000".into()],
        ]);
        assert_eq!(t, "shard   keys\na         12\nbbb    1 000\n");
    }
}
