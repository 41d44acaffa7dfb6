//! Value patterns: finding secrets inside string values.
//!
//! A [`PatternSet`] is compiled once from the config and answers one question per string:
//! which byte ranges hold a secret. Most attribute values contain none, so the scan is built
//! around a cheap first pass: one walk over the bytes counts digits, dots and colons and notes
//! the rare trigger bytes (`@`, `J`, `b`/`B`), and a built-in scanner only runs when the text
//! could hold its kind of secret. A few custom patterns are searched one by one, each behind
//! the regex crate's own literal prefilter; many share one [`RegexSet`] (a single automaton), so
//! text that matches none of them is rejected in one pass whatever their number.

mod builtin;
pub mod luhn;

use std::fmt;
use std::ops::Range;

use regex::{Regex, RegexSet};
use serde::Deserialize;

/// A built-in value pattern, named in `value_patterns` by its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuiltinPattern {
    /// 13–19 digits, optionally grouped by single spaces or dashes, passing the Luhn check.
    CreditCard,
    /// `local@domain.tld` with ASCII characters.
    Email,
    /// The token after `Bearer ` (≥ 8 characters) and bare JWTs (`eyJ…`.`…`.`…`).
    BearerToken,
    /// Dotted-quad IPv4 addresses.
    Ipv4,
    /// IPv6 addresses in any standard textual form.
    Ipv6,
}

impl BuiltinPattern {
    /// Every built-in, in the order they are documented.
    pub const ALL: [BuiltinPattern; 5] = [
        BuiltinPattern::CreditCard,
        BuiltinPattern::Email,
        BuiltinPattern::BearerToken,
        BuiltinPattern::Ipv4,
        BuiltinPattern::Ipv6,
    ];

    /// The name used in the config.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinPattern::CreditCard => "credit_card",
            BuiltinPattern::Email => "email",
            BuiltinPattern::BearerToken => "bearer_token",
            BuiltinPattern::Ipv4 => "ipv4",
            BuiltinPattern::Ipv6 => "ipv6",
        }
    }

    /// Whether a text with this byte profile can contain a match; never a false "no".
    fn may_match(self, profile: &TextProfile) -> bool {
        match self {
            BuiltinPattern::CreditCard => profile.digits >= 13,
            BuiltinPattern::Email => profile.has_at && profile.dots >= 1,
            BuiltinPattern::BearerToken => {
                profile.has_b || (profile.has_capital_j && profile.dots >= 2)
            }
            BuiltinPattern::Ipv4 => profile.dots >= 3 && profile.digits >= 4,
            BuiltinPattern::Ipv6 => profile.colons >= 2,
        }
    }

    /// Runs the scanner on a text whose profile [`may_match`](Self::may_match); the two
    /// halves of the bearer scanner each run only where their own trigger is present.
    fn find(self, text: &str, profile: &TextProfile, out: &mut Vec<Range<usize>>) {
        match self {
            BuiltinPattern::CreditCard => builtin::find_credit_cards(text, out),
            BuiltinPattern::Email => builtin::find_emails(text, out),
            BuiltinPattern::BearerToken => {
                if profile.has_b {
                    builtin::find_bearer_scheme_tokens(text.as_bytes(), out);
                }
                if profile.has_capital_j && profile.dots >= 2 {
                    builtin::find_jwts(text.as_bytes(), out);
                }
            }
            BuiltinPattern::Ipv4 => builtin::find_ipv4(text, out),
            BuiltinPattern::Ipv6 => builtin::find_ipv6(text, out),
        }
    }
}

impl fmt::Display for BuiltinPattern {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// Up to this many custom patterns are searched one by one; more share one [`RegexSet`].
const MAX_SEPARATE_CUSTOM_PATTERNS: usize = 4;

/// A user-supplied pattern: every non-empty match of `regex` is a secret.
#[derive(Clone, Debug)]
pub struct CustomPattern {
    /// Names the pattern in errors and docs; unique within a config.
    pub name: String,
    /// The compiled pattern.
    pub regex: Regex,
}

/// The compiled value patterns of one config.
#[derive(Clone, Debug, Default)]
pub struct PatternSet {
    builtins: Vec<BuiltinPattern>,
    custom: Vec<CustomPattern>,
    /// All custom regexes in one automaton, to learn in one pass which of them (if any) match;
    /// built only above [`MAX_SEPARATE_CUSTOM_PATTERNS`].
    custom_set: Option<RegexSet>,
}

impl PatternSet {
    /// Builds the set; duplicate built-ins are ignored. `custom` regexes must already compile
    /// one by one (the config checks that to name the bad entry), so only the combined
    /// automaton's size limit can fail here.
    pub fn new(
        builtins: &[BuiltinPattern],
        custom: Vec<CustomPattern>,
    ) -> Result<Self, regex::Error> {
        let mut unique_builtins: Vec<BuiltinPattern> = Vec::with_capacity(builtins.len());
        for &pattern in builtins {
            if !unique_builtins.contains(&pattern) {
                unique_builtins.push(pattern);
            }
        }
        let custom_set = if custom.len() > MAX_SEPARATE_CUSTOM_PATTERNS {
            Some(RegexSet::new(
                custom.iter().map(|pattern| pattern.regex.as_str()),
            )?)
        } else {
            None
        };
        Ok(PatternSet {
            builtins: unique_builtins,
            custom,
            custom_set,
        })
    }

    /// Whether no pattern is configured (scanning is then skipped entirely).
    pub fn is_empty(&self) -> bool {
        self.builtins.is_empty() && self.custom.is_empty()
    }

    /// The enabled built-ins.
    pub fn builtins(&self) -> &[BuiltinPattern] {
        &self.builtins
    }

    /// The custom patterns, in config order.
    pub fn custom(&self) -> &[CustomPattern] {
        &self.custom
    }

    /// Appends the byte range of every secret in `text` to `out`: unsorted, possibly
    /// overlapping, never empty. Does not allocate when nothing matches.
    pub fn find(&self, text: &str, out: &mut Vec<Range<usize>>) {
        if !self.builtins.is_empty() {
            self.find_builtins(text, &TextProfile::of(text.as_bytes()), out);
        }
        self.find_custom(text, out);
    }

    /// [`PatternSet::find`] on bytes that should be UTF-8: the profile walk checks that too
    /// (ASCII needs no further check), so the text is read once. Returns the text, or the
    /// error if the bytes are not UTF-8 (then nothing is searched).
    #[inline]
    #[allow(unsafe_code)] // unchecked UTF-8 of ASCII-only bytes; see SAFETY below
    pub fn find_utf8<'t>(
        &self,
        bytes: &'t [u8],
        out: &mut Vec<Range<usize>>,
    ) -> Result<&'t str, std::str::Utf8Error> {
        let profile = TextProfile::of(bytes);
        let text = if profile.non_ascii {
            std::str::from_utf8(bytes)?
        } else {
            // SAFETY: every byte is below 0x80 (the profile counted none above), and ASCII is
            // UTF-8.
            unsafe { std::str::from_utf8_unchecked(bytes) }
        };
        self.find_builtins(text, &profile, out);
        self.find_custom(text, out);
        Ok(text)
    }

    #[inline]
    fn find_builtins(&self, text: &str, profile: &TextProfile, out: &mut Vec<Range<usize>>) {
        for &pattern in &self.builtins {
            if pattern.may_match(profile) {
                pattern.find(text, profile, out);
            }
        }
    }

    fn find_custom(&self, text: &str, out: &mut Vec<Range<usize>>) {
        if self.custom.is_empty() {
            return;
        }
        let mut push_matches = |pattern: &CustomPattern| {
            let matches = pattern.regex.find_iter(text);
            out.extend(
                matches
                    .filter(|found| !found.is_empty())
                    .map(|found| found.range()),
            );
        };
        match &self.custom_set {
            // One pass rules every pattern out; only the ones that matched are searched again.
            Some(set) if set.is_match(text) => set
                .matches(text)
                .iter()
                .for_each(|index| push_matches(&self.custom[index])),
            Some(_) => {}
            // A few patterns: each regex's own literal prefilter (memchr/memmem on `EMP-`) beats
            // one combined automaton, which has to run its DFA over every byte.
            None => self.custom.iter().for_each(push_matches),
        }
    }
}

/// What one walk over a text learns, enough to rule built-ins out (and to know it is ASCII).
#[derive(Debug, Default)]
struct TextProfile {
    digits: usize,
    dots: usize,
    colons: usize,
    has_at: bool,
    has_b: bool,
    has_capital_j: bool,
    non_ascii: bool,
}

/// Width of each counter packed in the profile accumulator; the walk adds up chunks of at most
/// [`PROFILE_CHUNK`] bytes, so no counter can overflow into the next.
const FIELD_BITS: u32 = 8;
const FIELD_MASK: u64 = (1 << FIELD_BITS) - 1;
const PROFILE_CHUNK: usize = (1 << FIELD_BITS) - 1;

/// The fields of the accumulator, one byte each.
const DIGITS: u32 = 0;
const DOTS: u32 = 1;
const COLONS: u32 = 2;
const AT: u32 = 3;
const B: u32 = 4;
const CAPITAL_J: u32 = 5;
const NON_ASCII: u32 = 6;

/// Per byte, what it adds to the accumulator.
const COUNTS: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut byte = 0;
    while byte < 256 {
        let field = match byte as u8 {
            b'0'..=b'9' => Some(DIGITS),
            b'.' => Some(DOTS),
            b':' => Some(COLONS),
            b'@' => Some(AT),
            b'b' | b'B' => Some(B),
            b'J' => Some(CAPITAL_J),
            0x80..=0xFF => Some(NON_ASCII),
            _ => None,
        };
        if let Some(field) = field {
            table[byte] = 1 << (field * FIELD_BITS);
        }
        byte += 1;
    }
    table
};

impl TextProfile {
    /// One pass, one lookup and one register addition per byte. Measured alternatives were
    /// slower: two tables (one more load and add per byte), counters in an array in memory
    /// (each byte waits for the previous store) and six separate comparison sums (not
    /// vectorised, register-starved).
    #[inline]
    fn of(bytes: &[u8]) -> Self {
        let mut profile = TextProfile::default();
        for chunk in bytes.chunks(PROFILE_CHUNK) {
            let mut counts = 0u64;
            for &byte in chunk {
                counts += COUNTS[usize::from(byte)];
            }
            let field = |index: u32| ((counts >> (index * FIELD_BITS)) & FIELD_MASK) as usize;
            profile.digits += field(DIGITS);
            profile.dots += field(DOTS);
            profile.colons += field(COLONS);
            profile.has_at |= field(AT) > 0;
            profile.has_b |= field(B) > 0;
            profile.has_capital_j |= field(CAPITAL_J) > 0;
            profile.non_ascii |= field(NON_ASCII) > 0;
        }
        profile
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_builtins() -> PatternSet {
        PatternSet::new(&BuiltinPattern::ALL, Vec::new()).unwrap()
    }

    fn found<'t>(set: &PatternSet, text: &'t str) -> Vec<&'t str> {
        let mut ranges = Vec::new();
        set.find(text, &mut ranges);
        ranges.sort_by_key(|range| range.start);
        ranges.into_iter().map(|range| &text[range]).collect()
    }

    #[test]
    fn ordinary_values_match_nothing() {
        let set = all_builtins();
        for text in [
            "GET",
            "/api/v1/users/{id}",
            "frontend",
            "http://svc:8080/path",
            "",
            "ok: 200",
        ] {
            assert!(found(&set, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn several_kinds_in_one_text() {
        let set = all_builtins();
        let text = "user a@b.io from 10.1.2.3 paid 4111-1111-1111-1111 via ::1";
        assert_eq!(
            found(&set, text),
            ["a@b.io", "10.1.2.3", "4111-1111-1111-1111", "::1"]
        );
    }

    #[test]
    fn custom_patterns_run_only_where_they_match() {
        let custom = vec![
            CustomPattern {
                name: "employee".into(),
                regex: Regex::new(r"EMP-\d{6}").unwrap(),
            },
            CustomPattern {
                name: "anything_empty".into(),
                regex: Regex::new(r"x*").unwrap(),
            },
        ];
        let set = PatternSet::new(&[], custom).unwrap();
        assert_eq!(
            found(&set, "by EMP-123456 and EMP-654321"),
            ["EMP-123456", "EMP-654321"]
        );
        assert!(
            found(&set, "nobody").is_empty(),
            "empty matches are not secrets"
        );
    }

    #[test]
    fn many_custom_patterns_share_one_automaton() {
        let custom: Vec<CustomPattern> = (0..6)
            .map(|index| CustomPattern {
                name: format!("p{index}"),
                regex: Regex::new(&format!("K{index}-[0-9]+")).unwrap(),
            })
            .collect();
        let set = PatternSet::new(&[], custom).unwrap();
        assert!(set.custom_set.is_some());
        assert_eq!(found(&set, "K1-12 and K5-3, not K9-1"), ["K1-12", "K5-3"]);
        assert!(found(&set, "nothing here").is_empty());
    }

    #[test]
    fn profile_counts_and_long_texts() {
        let profile = TextProfile::of("a@b.io 10.1.2.3 ::1 Bearer eyJ".as_bytes());
        assert_eq!((profile.digits, profile.dots, profile.colons), (6, 4, 2));
        assert!(profile.has_at && profile.has_b && profile.has_capital_j && !profile.non_ascii);
        assert!(TextProfile::of("é".as_bytes()).non_ascii);
        // Counts add up across chunks without overflowing into each other.
        let long = format!("{} a@b.io", "1.".repeat(3 * PROFILE_CHUNK));
        let profile = TextProfile::of(long.as_bytes());
        assert_eq!(
            (profile.digits, profile.dots),
            (3 * PROFILE_CHUNK, 3 * PROFILE_CHUNK + 1)
        );
        assert!(profile.has_at && !profile.has_capital_j && profile.colons == 0);
        assert_eq!(found(&all_builtins(), &long), ["a@b.io"]);
    }

    #[test]
    fn only_enabled_builtins_run() {
        let set =
            PatternSet::new(&[BuiltinPattern::Email, BuiltinPattern::Email], Vec::new()).unwrap();
        assert_eq!(set.builtins(), [BuiltinPattern::Email]);
        assert_eq!(found(&set, "a@b.io 10.1.2.3"), ["a@b.io"]);
    }
}
