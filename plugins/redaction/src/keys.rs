//! Key matchers: which attribute keys `blocked_keys` / `allowed_keys` name.
//!
//! A key pattern is written one of three ways, told apart by its shape:
//! - `/…/`: a regex (the `regex` crate's syntax) between slashes, unanchored like any regex
//!   (write `^…$` to match whole keys; `(?i)` for case-insensitivity);
//! - containing `*`, `?` or `[`: a glob over the whole key, where `*` matches any run of
//!   characters *including dots* (`http.request.header.*` matches every header), `?` one
//!   character and `[…]` a class (`[!…]` negated);
//! - anything else: the exact key, case-sensitive.
//!
//! Every key of every span goes through [`KeyMatcherSet::matches`], so it is built for the
//! common cases: exact keys are pre-filtered by length, `*`-only globs are literal prefix /
//! suffix / substring tests, and only regexes and globs with `?`/`[` share one [`RegexSet`].

use regex::RegexSet;

/// How one key pattern is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPattern {
    /// Matches only this key.
    Exact(String),
    /// A glob over the whole key.
    Glob(String),
    /// A regex, without its slashes.
    Regex(String),
}

/// Why a key pattern was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyPatternError {
    /// The pattern is empty.
    #[error("empty key pattern")]
    Empty,
    /// `/…` without the closing slash.
    #[error("a regex key pattern is written /regex/ and must end with '/'")]
    UnterminatedRegex,
    /// The regex (or the regex a glob became) does not compile.
    #[error("invalid regex: {0}")]
    InvalidRegex(#[from] Box<regex::Error>),
}

impl KeyPattern {
    /// Classifies a pattern as written in the config.
    pub fn parse(text: &str) -> Result<Self, KeyPatternError> {
        if text.is_empty() {
            return Err(KeyPatternError::Empty);
        }
        if let Some(body) = text.strip_prefix('/') {
            let regex = body
                .strip_suffix('/')
                .ok_or(KeyPatternError::UnterminatedRegex)?;
            if regex.is_empty() {
                return Err(KeyPatternError::Empty);
            }
            return Ok(KeyPattern::Regex(regex.to_owned()));
        }
        if text.contains(['*', '?', '[']) {
            return Ok(KeyPattern::Glob(text.to_owned()));
        }
        Ok(KeyPattern::Exact(text.to_owned()))
    }
}

/// A glob made only of literals and `*`: matched without a regex.
#[derive(Clone, Debug)]
struct StarGlob {
    /// The literal pieces between stars; at least two (the glob has a star).
    pieces: Vec<String>,
    /// Sum of the pieces' lengths: shorter keys cannot match.
    min_len: usize,
}

impl StarGlob {
    fn new(glob: &str) -> Self {
        let pieces: Vec<String> = glob.split('*').map(str::to_owned).collect();
        debug_assert!(pieces.len() >= 2, "a star glob contains a star");
        let min_len = pieces.iter().map(String::len).sum();
        StarGlob { pieces, min_len }
    }

    fn matches(&self, key: &str) -> bool {
        let first = self.pieces[0].as_bytes();
        let last = self.pieces[self.pieces.len() - 1].as_bytes();
        let bytes = key.as_bytes();
        // The emptiness checks are not redundant: comparing against an empty `String`'s
        // dangling pointer measured ~80 ns per call (a slow `bcmp` path), against ~3 ns.
        let prefix_matches = first.is_empty() || bytes.starts_with(first);
        let suffix_matches = last.is_empty() || bytes.ends_with(last);
        if bytes.len() < self.min_len || !prefix_matches || !suffix_matches {
            return false;
        }
        // Both slice ends are char boundaries: they end a prefix and start a suffix of `key`.
        let mut middle = &key[first.len()..key.len() - last.len()];
        for piece in &self.pieces[1..self.pieces.len() - 1] {
            match memchr::memmem::find(middle.as_bytes(), piece.as_bytes()) {
                Some(position) => middle = &middle[position + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

/// Translates a glob with `?` or `[…]` into an anchored regex.
fn glob_to_regex(glob: &str) -> String {
    let mut regex = String::with_capacity(glob.len() * 2 + 8);
    regex.push_str("(?s)^");
    let mut chars = glob.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            '[' => {
                regex.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    regex.push('^');
                }
                // Copy the class through its closing bracket; a `]` right after `[` is literal.
                let mut first = true;
                for class_char in chars.by_ref() {
                    if class_char == ']' && !first {
                        break;
                    }
                    let needs_escape = matches!(class_char, '\\' | '[' | ']' | '&' | '~' | '^')
                        || (class_char == '-' && first);
                    if needs_escape {
                        regex.push('\\');
                    }
                    regex.push(class_char);
                    first = false;
                }
                regex.push(']');
            }
            other => regex.push_str(&regex::escape(other.encode_utf8(&mut [0; 4]))),
        }
    }
    regex.push('$');
    regex
}

/// A compiled list of key patterns, answering "does any of them match this key".
#[derive(Clone, Debug, Default)]
pub struct KeyMatcherSet {
    /// Exact keys.
    exact: Vec<String>,
    /// Bit `len % 64` is set for the length of every exact key: most keys are rejected by
    /// one AND before any comparison.
    exact_length_bits: u64,
    star_globs: Vec<StarGlob>,
    /// Regexes and globs with `?`/`[`, in one automaton.
    regexes: Option<RegexSet>,
}

impl KeyMatcherSet {
    /// Compiles `patterns`; an error carries the index of the pattern at fault.
    pub fn compile<S: AsRef<str>>(patterns: &[S]) -> Result<Self, (usize, KeyPatternError)> {
        let mut set = KeyMatcherSet::default();
        let mut regex_sources = Vec::new();
        for (index, text) in patterns.iter().enumerate() {
            let pattern = KeyPattern::parse(text.as_ref()).map_err(|error| (index, error))?;
            let regex_source = match pattern {
                KeyPattern::Exact(key) => {
                    set.exact_length_bits |= 1u64 << (key.len() % 64);
                    set.exact.push(key);
                    continue;
                }
                KeyPattern::Glob(glob) if !glob.contains(['?', '[']) => {
                    set.star_globs.push(StarGlob::new(&glob));
                    continue;
                }
                KeyPattern::Glob(glob) => glob_to_regex(&glob),
                KeyPattern::Regex(regex) => regex,
            };
            // Compile alone first so a bad pattern is reported with its index.
            regex::Regex::new(&regex_source)
                .map_err(|error| (index, KeyPatternError::InvalidRegex(Box::new(error))))?;
            regex_sources.push(regex_source);
        }
        if !regex_sources.is_empty() {
            let last_index = patterns.len().saturating_sub(1);
            let regexes = RegexSet::new(&regex_sources)
                .map_err(|error| (last_index, KeyPatternError::InvalidRegex(Box::new(error))))?;
            set.regexes = Some(regexes);
        }
        Ok(set)
    }

    /// Whether any pattern matches `key`.
    pub fn matches(&self, key: &str) -> bool {
        if self.exact_length_bits & (1u64 << (key.len() % 64)) != 0
            && self.exact.iter().any(|exact| exact == key)
        {
            return true;
        }
        if self.star_globs.iter().any(|glob| glob.matches(key)) {
            return true;
        }
        self.regexes
            .as_ref()
            .is_some_and(|regexes| regexes.is_match(key))
    }

    /// Whether the set has no pattern at all.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.star_globs.is_empty() && self.regexes.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> KeyMatcherSet {
        KeyMatcherSet::compile(patterns).unwrap()
    }

    #[test]
    fn classification() {
        assert_eq!(
            KeyPattern::parse("password").unwrap(),
            KeyPattern::Exact("password".into())
        );
        assert_eq!(
            KeyPattern::parse("*.secret").unwrap(),
            KeyPattern::Glob("*.secret".into())
        );
        assert_eq!(
            KeyPattern::parse("/^(?i)x-api-key$/").unwrap(),
            KeyPattern::Regex("^(?i)x-api-key$".into())
        );
        assert!(matches!(
            KeyPattern::parse("/oops"),
            Err(KeyPatternError::UnterminatedRegex)
        ));
        assert!(matches!(KeyPattern::parse(""), Err(KeyPatternError::Empty)));
        assert!(matches!(
            KeyPattern::parse("//"),
            Err(KeyPatternError::Empty)
        ));
    }

    #[test]
    fn exact_keys_are_case_sensitive_and_whole() {
        let keys = set(&["password", "db.statement"]);
        assert!(keys.matches("password"));
        assert!(keys.matches("db.statement"));
        assert!(!keys.matches("Password"));
        assert!(!keys.matches("password2"));
        assert!(!keys.matches("user.password"));
    }

    #[test]
    fn star_globs() {
        let keys = set(&["*.secret", "http.request.header.*", "a*b*c"]);
        assert!(keys.matches("db.secret"));
        assert!(keys.matches("a.b.secret"));
        assert!(!keys.matches("secret"));
        assert!(keys.matches("http.request.header.authorization"));
        assert!(keys.matches("http.request.header."));
        assert!(!keys.matches("http.response.header.x"));
        assert!(keys.matches("abc"));
        assert!(keys.matches("a-b-c"));
        assert!(!keys.matches("ab"));
        assert!(!keys.matches("acb"));
    }

    #[test]
    fn globs_with_classes_and_question_marks() {
        let keys = set(&["user.?d", "token[0-9]", "x[!a]y", "lit.[*]"]);
        assert!(keys.matches("user.id"));
        assert!(!keys.matches("user.iid"));
        assert!(keys.matches("token7"));
        assert!(!keys.matches("tokenx"));
        assert!(keys.matches("xby"));
        assert!(!keys.matches("xay"));
        assert!(keys.matches("lit.*"));
        assert!(!keys.matches("lit.x"));
    }

    #[test]
    fn regexes() {
        let keys = set(&["/^(?i)x-api-key$/", "/token/"]);
        assert!(keys.matches("X-API-Key"));
        assert!(!keys.matches("x-api-key-id"));
        assert!(keys.matches("auth.token.id"), "regexes are unanchored");
        assert!(!keys.matches("tok"));
    }

    #[test]
    fn bad_regex_names_its_index() {
        let (index, error) = KeyMatcherSet::compile(&["ok", "*.x", "/(unclosed/"]).unwrap_err();
        assert_eq!(index, 2);
        assert!(error.to_string().starts_with("invalid regex"), "{error}");
    }

    #[test]
    fn empty_set_matches_nothing() {
        let keys = set(&[]);
        assert!(keys.is_empty());
        assert!(!keys.matches(""));
        assert!(!keys.matches("anything"));
    }

    #[test]
    fn length_bits_do_not_hide_long_keys() {
        let long = "k".repeat(70);
        let keys = set(&[long.as_str()]);
        assert!(keys.matches(&long));
        assert!(!keys.matches(&"k".repeat(6)));
    }
}
