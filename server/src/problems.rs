//! Problems found in a file the console validates (a plan, with its jobs),
//! each at its line, column and field path: shared by every spec module so
//! none has to reach into another's.
use crate::config::line_col;

/// One problem in a plan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// e.g. `phases[2].gate.approvals`.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.path, self.message
        )
    }
}

/// Problems found so far, positioned in the file.
pub struct Report<'t> {
    pub(crate) text: &'t str,
    pub(crate) problems: Vec<Problem>,
}

impl Report<'_> {
    pub fn at(&mut self, span: std::ops::Range<usize>, path: String, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.problems.push(Problem {
            line,
            column,
            path,
            message: message.into(),
        });
    }
}

/// A parser's message as one line of at most 200 characters: it may quote
/// the input (a whole value), which must not come back at any length.
pub fn bounded(message: &str) -> String {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}
