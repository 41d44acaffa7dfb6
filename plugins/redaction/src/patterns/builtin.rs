//! Hand-written scanners for the built-in value patterns.
//!
//! Why not regexes: each built-in needs a check a regex cannot express (the Luhn digit, a
//! parseable IPv6 address, an octet ≤ 255), and a scanner that starts from a rare trigger
//! byte (`@`, `eyJ`, `bearer`) costs nothing on text that lacks it. Every scanner pushes byte
//! ranges of the secret it found; ranges start and end on ASCII bytes, so they are always on
//! UTF-8 character boundaries even when the surrounding text is not ASCII.

use std::ops::Range;

use super::luhn;

/// Card numbers have 13 to 19 digits (ISO/IEC 7812).
const CARD_MIN_DIGITS: usize = 13;
const CARD_MAX_DIGITS: usize = 19;
/// Shortest opaque token after `Bearer ` that is masked; shorter words are prose ("Bearer of").
const BEARER_MIN_TOKEN_LEN: usize = 8;
/// Shortest base64url JWT header: `{"alg":"none"}` alone encodes to 20 characters.
const JWT_MIN_HEADER_LEN: usize = 10;

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// RFC 6750 `b64token`: the characters a bearer token may contain before its `=` padding.
fn is_token68(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Card numbers: runs of 13–19 digits, optionally grouped by single spaces or dashes,
/// whose Luhn check digit is right.
///
/// A run of groups (`4111 1111 1111 1111 2024`) may hold a card next to other numbers, so every
/// window of whole groups with 13–19 digits is tried and the union of the passing windows is
/// reported: a digit that belongs to any Luhn-valid window is masked.
pub(super) fn find_credit_cards(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut index = 0;
    let mut groups: Vec<Range<usize>> = Vec::new();
    while index < bytes.len() {
        if !bytes[index].is_ascii_digit() {
            index += 1;
            continue;
        }
        // Collect one run of digit groups separated by exactly one space or dash.
        groups.clear();
        let mut total_digits = 0;
        let mut cursor = index;
        loop {
            let group_start = cursor;
            while cursor < bytes.len() && bytes[cursor].is_ascii_digit() {
                cursor += 1;
            }
            groups.push(group_start..cursor);
            total_digits += cursor - group_start;
            let continues = cursor + 1 < bytes.len()
                && matches!(bytes[cursor], b' ' | b'-')
                && bytes[cursor + 1].is_ascii_digit();
            if !continues {
                break;
            }
            cursor += 1;
        }
        if total_digits >= CARD_MIN_DIGITS {
            report_luhn_windows(bytes, &groups, out);
        }
        index = cursor;
    }
}

fn report_luhn_windows(bytes: &[u8], groups: &[Range<usize>], out: &mut Vec<Range<usize>>) {
    let mut digits = [0u8; CARD_MAX_DIGITS];
    for first in 0..groups.len() {
        let mut digit_count = 0;
        for last in first..groups.len() {
            let group = &groups[last];
            if digit_count + group.len() > CARD_MAX_DIGITS {
                break;
            }
            for (slot, &byte) in digits[digit_count..].iter_mut().zip(&bytes[group.clone()]) {
                *slot = byte - b'0';
            }
            digit_count += group.len();
            if digit_count >= CARD_MIN_DIGITS && luhn::is_valid(&digits[..digit_count]) {
                out.push(groups[first].start..group.end);
            }
        }
    }
}

/// Email addresses: `local@domain.tld` with an ASCII local part (`A-Za-z0-9._%+-`) and a
/// dotted domain whose last label has at least two letters.
pub(super) fn find_emails(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let is_local =
        |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-');
    let is_domain = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-');
    let mut covered_until = 0;
    for at in memchr::memchr_iter(b'@', bytes) {
        if at < covered_until {
            continue;
        }
        let mut start = at;
        while start > covered_until && is_local(bytes[start - 1]) {
            start -= 1;
        }
        while start < at && bytes[start] == b'.' {
            start += 1;
        }
        if start == at {
            continue;
        }
        let mut end = at + 1;
        while end < bytes.len() && is_domain(bytes[end]) {
            end += 1;
        }
        while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
            end -= 1;
        }
        if is_email_domain(&bytes[at + 1..end]) {
            out.push(start..end);
            covered_until = end;
        }
    }
}

fn is_email_domain(domain: &[u8]) -> bool {
    let mut labels = domain.split(|&byte| byte == b'.');
    let Some(last_label) = domain.rsplit(|&byte| byte == b'.').next() else {
        return false;
    };
    domain.contains(&b'.')
        && labels.all(|label| !label.is_empty())
        && last_label.len() >= 2
        && last_label.iter().all(u8::is_ascii_alphabetic)
}

/// Bearer tokens (`Bearer <token>`, any case, the token only is reported) and bare JWTs
/// (`eyJ…`.`…`.`…`: a JWT header is a JSON object, so its base64url always starts `eyJ`).
///
/// Requiring `eyJ` is what keeps dotted names (`www.example.com`, `a.b.c`) from looking like
/// JWTs. [`PatternSet`](super::PatternSet) calls the two halves separately, each behind its own
/// trigger.
#[cfg(test)]
pub(super) fn find_bearer_tokens(text: &str, out: &mut Vec<Range<usize>>) {
    find_bearer_scheme_tokens(text.as_bytes(), out);
    find_jwts(text.as_bytes(), out);
}

/// The `Bearer <token>` half of [`find_bearer_tokens`]; can only match text with a `b`/`B`.
pub(super) fn find_bearer_scheme_tokens(bytes: &[u8], out: &mut Vec<Range<usize>>) {
    const SCHEME: &[u8] = b"bearer";
    for start in memchr::memchr2_iter(b'b', b'B', bytes) {
        let after_scheme = start + SCHEME.len();
        if after_scheme >= bytes.len()
            || !bytes[start..after_scheme].eq_ignore_ascii_case(SCHEME)
            || (start > 0 && is_word(bytes[start - 1]))
        {
            continue;
        }
        let mut token_start = after_scheme;
        while token_start < bytes.len() && matches!(bytes[token_start], b' ' | b'\t') {
            token_start += 1;
        }
        if token_start == after_scheme {
            continue;
        }
        let mut token_end = token_start;
        while token_end < bytes.len() && is_token68(bytes[token_end]) {
            token_end += 1;
        }
        if token_end - token_start < BEARER_MIN_TOKEN_LEN {
            continue;
        }
        while token_end < bytes.len() && bytes[token_end] == b'=' {
            token_end += 1;
        }
        out.push(token_start..token_end);
    }
}

/// The bare-JWT half of [`find_bearer_tokens`]; can only match text with a `J` and two dots.
pub(super) fn find_jwts(bytes: &[u8], out: &mut Vec<Range<usize>>) {
    let base64url_run = |from: usize| {
        let mut end = from;
        while end < bytes.len() && is_base64url(bytes[end]) {
            end += 1;
        }
        end
    };
    // Each `J` preceded by `ey`: the same occurrences as a search for `eyJ` (which cannot
    // overlap itself), without building a substring searcher per call.
    let starts = memchr::memchr_iter(b'J', bytes)
        .filter(|&j| j >= 2 && &bytes[j - 2..j] == b"ey")
        .map(|j| j - 2);
    for start in starts {
        if start > 0 && is_base64url(bytes[start - 1]) {
            continue;
        }
        let header_end = base64url_run(start);
        if header_end - start < JWT_MIN_HEADER_LEN || bytes.get(header_end) != Some(&b'.') {
            continue;
        }
        let payload_end = base64url_run(header_end + 1);
        if payload_end - (header_end + 1) < 2 || bytes.get(payload_end) != Some(&b'.') {
            continue;
        }
        // The signature may be empty (`alg: none`).
        let signature_end = base64url_run(payload_end + 1);
        out.push(start..signature_end);
    }
}

/// Dotted-quad IPv4 addresses with octets ≤ 255, not part of a longer dotted number
/// (`1.2.3.4.5` is a version, not an address).
pub(super) fn find_ipv4(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let starts_number = bytes[index].is_ascii_digit()
            && (index == 0 || !(bytes[index - 1].is_ascii_digit() || bytes[index - 1] == b'.'));
        if !starts_number {
            index += 1;
            continue;
        }
        match parse_dotted_quad(bytes, index) {
            Some(end) => {
                out.push(index..end);
                index = end;
            }
            None => index += 1,
        }
    }
}

/// Parses four dot-separated octets starting at `start`; returns the end offset.
fn parse_dotted_quad(bytes: &[u8], start: usize) -> Option<usize> {
    let mut cursor = start;
    for octet_index in 0..4 {
        if octet_index > 0 {
            if bytes.get(cursor) != Some(&b'.') {
                return None;
            }
            cursor += 1;
        }
        let octet_start = cursor;
        let mut value: u32 = 0;
        while cursor < bytes.len() && bytes[cursor].is_ascii_digit() && cursor - octet_start < 3 {
            value = value * 10 + u32::from(bytes[cursor] - b'0');
            cursor += 1;
        }
        if cursor == octet_start || value > 255 {
            return None;
        }
    }
    let next = bytes.get(cursor).copied();
    let continues_number = match next {
        Some(byte) if byte.is_ascii_digit() => true,
        Some(b'.') => bytes.get(cursor + 1).is_some_and(u8::is_ascii_digit),
        _ => false,
    };
    (!continues_number).then_some(cursor)
}

/// IPv6 addresses in any textual form `std::net::Ipv6Addr` parses (`::1`, `fe80::1`,
/// `::ffff:10.0.0.1`, full form).
///
/// A hex-and-colon run is only taken when it parses and has a decimal digit or three groups, so
/// that `a::b` or `dead::beef` in prose or code (`Foo::bar` never parses) is left alone.
pub(super) fn find_ipv6(text: &str, out: &mut Vec<Range<usize>>) {
    let bytes = text.as_bytes();
    let is_candidate = |byte: u8| byte.is_ascii_hexdigit() || byte == b':' || byte == b'.';
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let at_boundary = index == 0
            || !(is_word(bytes[index - 1]) || bytes[index - 1] == b'.' || bytes[index - 1] == b':');
        if !(at_boundary && (byte.is_ascii_hexdigit() || byte == b':')) {
            index += 1;
            continue;
        }
        let mut end = index;
        while end < bytes.len() && is_candidate(bytes[end]) {
            end += 1;
        }
        let followed_by_word = end < bytes.len() && is_word(bytes[end]);
        if !followed_by_word && let Some(address_end) = ipv6_candidate_end(&bytes[index..end]) {
            out.push(index..index + address_end);
        }
        index = end.max(index + 1);
    }
}

/// Length of the address in `run`, after trimming sentence punctuation (`fe80::1.` or
/// `fe80::1:`), if it is one.
fn ipv6_candidate_end(run: &[u8]) -> Option<usize> {
    let mut end = run.len();
    while end > 0 && run[end - 1] == b'.' {
        end -= 1;
    }
    let candidates = [
        Some(end),
        end.checked_sub(1).filter(|&shorter| run[shorter] == b':'),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|&candidate_end| is_plausible_ipv6(&run[..candidate_end]))
}

fn is_plausible_ipv6(candidate: &[u8]) -> bool {
    if candidate.iter().filter(|&&byte| byte == b':').count() < 2 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(candidate) else {
        return false;
    };
    if text.parse::<std::net::Ipv6Addr>().is_err() {
        return false;
    }
    let has_decimal_digit = candidate.iter().any(u8::is_ascii_digit);
    let group_count = text.split(':').filter(|group| !group.is_empty()).count();
    has_decimal_digit || group_count >= 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(scanner: fn(&str, &mut Vec<Range<usize>>), text: &str) -> Vec<&str> {
        let mut ranges = Vec::new();
        scanner(text, &mut ranges);
        ranges.into_iter().map(|range| &text[range]).collect()
    }

    #[test]
    fn card_plain_spaces_and_dashes() {
        assert_eq!(
            found(find_credit_cards, "card 4111111111111111 ok"),
            ["4111111111111111"]
        );
        assert_eq!(
            found(find_credit_cards, "card 4111 1111 1111 1111."),
            ["4111 1111 1111 1111"]
        );
        assert_eq!(
            found(find_credit_cards, "4111-1111-1111-1111"),
            ["4111-1111-1111-1111"]
        );
        assert_eq!(
            found(find_credit_cards, "amex 3782-822463-10005"),
            ["3782-822463-10005"]
        );
    }

    #[test]
    fn not_a_card() {
        // 13 digits failing the Luhn check.
        assert!(found(find_credit_cards, "order 1234567890123").is_empty());
        // Too short, too long, or separated by more than one character.
        assert!(found(find_credit_cards, "411111111111").is_empty());
        assert!(found(find_credit_cards, "41111111111111111111111").is_empty());
        assert!(found(find_credit_cards, "4111  1111  1111  1111").is_empty());
        assert!(found(find_credit_cards, "no digits at all").is_empty());
    }

    #[test]
    fn card_next_to_other_numbers_is_still_found() {
        let text = "4111 1111 1111 1111 2024";
        let mut ranges = Vec::new();
        find_credit_cards(text, &mut ranges);
        assert!(
            ranges
                .iter()
                .any(|range| &text[range.clone()] == "4111 1111 1111 1111")
        );
    }

    #[test]
    fn emails() {
        assert_eq!(
            found(find_emails, "mail jane.doe+x@example.co.uk."),
            ["jane.doe+x@example.co.uk"]
        );
        assert_eq!(found(find_emails, "a@b.io,c@d.org"), ["a@b.io", "c@d.org"]);
        assert!(found(find_emails, "user@localhost").is_empty());
        assert!(found(find_emails, "@example.com").is_empty());
        assert!(found(find_emails, "x@1.2").is_empty());
        assert!(found(find_emails, "a@b..com").is_empty());
    }

    #[test]
    fn bearer_tokens_and_jwts() {
        assert_eq!(
            found(find_bearer_tokens, "Authorization: Bearer abcDEF123456=="),
            ["abcDEF123456=="]
        );
        assert_eq!(
            found(find_bearer_tokens, "bearer\tq1w2e3r4t5y6"),
            ["q1w2e3r4t5y6"]
        );
        assert!(found(find_bearer_tokens, "the Bearer of bad news").is_empty());
        assert!(found(find_bearer_tokens, "unbearer abcdefghijk").is_empty());
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl_-";
        assert_eq!(found(find_bearer_tokens, &format!("token={jwt};")), [jwt]);
        assert!(found(find_bearer_tokens, "www.example.com a.b.c").is_empty());
        let unsigned = "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.";
        assert_eq!(found(find_bearer_tokens, unsigned), [unsigned]);
    }

    #[test]
    fn ipv4() {
        assert_eq!(found(find_ipv4, "from 10.0.0.12:8080"), ["10.0.0.12"]);
        assert_eq!(
            found(find_ipv4, "255.255.255.255 and 1.2.3.4."),
            ["255.255.255.255", "1.2.3.4"]
        );
        assert!(found(find_ipv4, "256.1.1.1").is_empty());
        assert!(found(find_ipv4, "version 1.2.3.4.5").is_empty());
        assert!(found(find_ipv4, "1.2.3").is_empty());
        assert!(found(find_ipv4, "1234.1.1.1").is_empty());
    }

    #[test]
    fn ipv6() {
        assert_eq!(
            found(find_ipv6, "peer [2001:db8::8a2e:370:7334]:443"),
            ["2001:db8::8a2e:370:7334"]
        );
        assert_eq!(found(find_ipv6, "::1"), ["::1"]);
        assert_eq!(found(find_ipv6, "fe80::1."), ["fe80::1"]);
        assert_eq!(
            found(find_ipv6, "mapped ::ffff:10.0.0.1 here"),
            ["::ffff:10.0.0.1"]
        );
        assert_eq!(
            found(find_ipv6, "2001:0db8:0000:0000:0000:ff00:0042:8329"),
            ["2001:0db8:0000:0000:0000:ff00:0042:8329"]
        );
        assert!(found(find_ipv6, "std::io::Error Foo::bar a::b").is_empty());
        assert!(found(find_ipv6, "at 12:30:45 mac 00:1a:2b:3c:4d:5e").is_empty());
        assert!(found(find_ipv6, "::").is_empty());
    }
}
