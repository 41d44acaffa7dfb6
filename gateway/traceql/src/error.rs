//! Parse errors, formatted like Tempo's (`parse error at line 1, col 14: syntax error:
//! unexpected }`). Lines and columns are 1-based and count characters.

/// Why a query was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// Malformed text: lexical errors and unexpected tokens (`syntax error: unexpected }`).
    #[error("parse error at line {line}, col {col}: {message}")]
    Syntax {
        message: String,
        line: usize,
        col: usize,
    },
    /// Well-formed but ill-typed, worded like Tempo's validation
    /// (`binary operations must operate on the same type: status = "x"`).
    #[error("parse error at line {line}, col {col}: {message}")]
    Type {
        message: String,
        line: usize,
        col: usize,
    },
    /// A `=~`/`!~` pattern that does not compile.
    #[error("parse error at line {line}, col {col}: invalid regex {pattern:?}: {reason}")]
    InvalidRegex {
        pattern: String,
        reason: String,
        line: usize,
        col: usize,
    },
    /// Valid TraceQL this implementation does not evaluate (e.g. `compare()`, `topk`).
    /// Rejected rather than answered wrongly; the message names the construct.
    #[error("parse error at line {line}, col {col}: {construct} not yet supported")]
    Unsupported {
        construct: String,
        line: usize,
        col: usize,
    },
}

impl ParseError {
    /// 1-based line and column of the offending token.
    pub fn position(&self) -> (usize, usize) {
        match self {
            ParseError::Syntax { line, col, .. }
            | ParseError::Type { line, col, .. }
            | ParseError::InvalidRegex { line, col, .. }
            | ParseError::Unsupported { line, col, .. } => (*line, *col),
        }
    }
}
