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

    fn find(self, text: &str, out: &mut Vec<Range<usize>>) {
        match self {
            BuiltinPattern::CreditCard => builtin::find_credit_cards(text, out),
            BuiltinPattern::Email => builtin::find_emails(text, out),
            BuiltinPattern::BearerToken => builtin::find_bearer_tokens(text, out),
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
            let profile = TextProfile::of(text);
            for &pattern in &self.builtins {
                if pattern.may_match(&profile) {
                    pattern.find(text, out);
                }
            }
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

/// What one walk over a text learns, enough to rule built-ins out.
#[derive(Debug, Default)]
struct TextProfile {
    digits: usize,
    dots: usize,
    colons: usize,
    has_at: bool,
    has_b: bool,
    has_capital_j: bool,
}

/// Width of each counter packed in the profile accumulators. Texts this long or longer skip
/// the profile and run every scanner, so the counters can never overflow into each other.
const FIELD_BITS: u32 = 16;
const FIELD_MASK: u64 = (1 << FIELD_BITS) - 1;
const PROFILE_MAX_LEN: usize = 1 << FIELD_BITS;

/// Per byte, what it adds to the first accumulator: digits, dots, colons and `@`, one 16-bit
/// counter each.
const COUNTS_A: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut digit = b'0';
    while digit <= b'9' {
        table[digit as usize] = 1;
        digit += 1;
    }
    table[b'.' as usize] = 1 << FIELD_BITS;
    table[b':' as usize] = 1 << (2 * FIELD_BITS);
    table[b'@' as usize] = 1 << (3 * FIELD_BITS);
    table
};

/// Per byte, what it adds to the second accumulator: `b`/`B` and `J`.
const COUNTS_B: [u64; 256] = {
    let mut table = [0u64; 256];
    table[b'b' as usize] = 1;
    table[b'B' as usize] = 1;
    table[b'J' as usize] = 1 << FIELD_BITS;
    table
};

impl TextProfile {
    /// One pass, two lookups and two register additions per byte. Measured alternatives were
    /// 3–4× slower: counters in an array in memory (each byte waits for the previous store)
    /// and six separate comparison sums (not vectorised, register-starved).
    fn of(text: &str) -> Self {
        let bytes = text.as_bytes();
        if bytes.len() >= PROFILE_MAX_LEN {
            return TextProfile::everything();
        }
        let mut counts_a = 0u64;
        let mut counts_b = 0u64;
        for &byte in bytes {
            counts_a += COUNTS_A[usize::from(byte)];
            counts_b += COUNTS_B[usize::from(byte)];
        }
        let field =
            |counts: u64, index: u32| ((counts >> (index * FIELD_BITS)) & FIELD_MASK) as usize;
        TextProfile {
            digits: field(counts_a, 0),
            dots: field(counts_a, 1),
            colons: field(counts_a, 2),
            has_at: field(counts_a, 3) > 0,
            has_b: field(counts_b, 0) > 0,
            has_capital_j: field(counts_b, 1) > 0,
        }
    }

    /// A profile that rules nothing out.
    fn everything() -> Self {
        TextProfile {
            digits: usize::MAX,
            dots: usize::MAX,
            colons: usize::MAX,
            has_at: true,
            has_b: true,
            has_capital_j: true,
        }
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
        let profile = TextProfile::of("a@b.io 10.1.2.3 ::1 Bearer eyJ");
        assert_eq!((profile.digits, profile.dots, profile.colons), (6, 4, 2));
        assert!(profile.has_at && profile.has_b && profile.has_capital_j);
        let long = format!("{} a@b.io", "x".repeat(PROFILE_MAX_LEN));
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
