//! Regular expressions as Tempo applies them.
//!
//! Tempo matches `=~`/`!~` through Prometheus' `FastRegexMatcher`, which compiles
//! `^(?s:` + pattern + `)$`: the whole value must match and `.` also matches newlines.
//! We do the same, once, at parse time.

use std::fmt;

use regex::Regex;

/// A compiled, fully anchored TraceQL regex. Equality and display use the source text.
#[derive(Clone)]
pub struct Pattern {
    source: String,
    anchored: Regex,
}

impl Pattern {
    /// Compiles `source`. The pattern is first validated on its own so that input such as
    /// `a)|(b` cannot escape the anchoring group.
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        Regex::new(source)?;
        let anchored = Regex::new(&format!("^(?s:{source})$"))?;
        Ok(Pattern {
            source: source.to_string(),
            anchored,
        })
    }

    /// The pattern as written in the query.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when the whole of `value` matches.
    pub fn is_match(&self, value: &str) -> bool {
        self.anchored.is_match(value)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_and_dot_matches_newline() {
        let p = Pattern::new("GET").unwrap();
        assert!(p.is_match("GET"));
        assert!(!p.is_match("GET /users"));
        let p = Pattern::new("a|b").unwrap();
        assert!(p.is_match("a") && p.is_match("b") && !p.is_match("ab"));
        let p = Pattern::new("x.*").unwrap();
        assert!(p.is_match("x\ny"));
    }

    #[test]
    fn unbalanced_pattern_cannot_escape_anchors() {
        assert!(Pattern::new("a)|(b").is_err());
        assert!(Pattern::new("(").is_err());
    }
}
