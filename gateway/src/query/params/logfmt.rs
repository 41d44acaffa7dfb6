//! The `tags` parameter of a legacy search: logfmt (`k=v k2="v 2"`), decoded as
//! `github.com/go-logfmt/logfmt`'s `Decoder` does, including its syntax errors.

/// A syntax error, with Go's message and 1-based byte position in its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum LogfmtError {
    #[error("logfmt syntax error at pos {position} on line {line}: {message}")]
    Syntax {
        message: String,
        line: usize,
        position: usize,
    },
    /// `bufio.Scanner`'s limit on one line.
    #[error("bufio.Scanner: token too long")]
    LineTooLong,
}

/// `bufio.MaxScanTokenSize`.
const MAX_LINE: usize = 64 * 1024;

/// The key/value pairs before the first error, and that error. Tempo checks each pair
/// for duplicates as it reads, so a duplicate before a syntax error wins.
pub(super) fn decode(text: &str) -> (Vec<(String, String)>, Option<LogfmtError>) {
    let mut pairs = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() >= MAX_LINE {
            return (pairs, Some(LogfmtError::LineTooLong));
        }
        let mut scanner = LineScanner {
            line: line.as_bytes(),
            position: 0,
            line_number: index + 1,
        };
        loop {
            match scanner.next_pair() {
                Ok(Some(pair)) => pairs.push(pair),
                Ok(None) => break,
                Err(error) => return (pairs, Some(error)),
            }
        }
    }
    (pairs, None)
}

struct LineScanner<'a> {
    line: &'a [u8],
    position: usize,
    line_number: usize,
}

impl LineScanner<'_> {
    /// The next `key[=value]`, or `None` at the end of the line.
    fn next_pair(&mut self) -> Result<Option<(String, String)>, LogfmtError> {
        let line = self.line;
        // Skip garbage: control characters and spaces.
        match line[self.position..].iter().position(|&byte| byte > b' ') {
            Some(offset) => self.position += offset,
            None => {
                self.position = line.len();
                return Ok(None);
            }
        }
        let start = self.position;
        while self.position < line.len() {
            match line[self.position] {
                b'=' => {
                    if self.position == start {
                        return Err(self.unexpected(b'='));
                    }
                    let key = self.key(start)?;
                    self.position += 1;
                    let value = self.value()?;
                    return Ok(Some((key, value)));
                }
                quote @ (b'"' | b'\'') => return Err(self.unexpected(quote)),
                byte if byte <= b' ' => return Ok(Some((self.key(start)?, String::new()))),
                _ => self.position += 1,
            }
        }
        Ok(Some((self.key(start)?, String::new())))
    }

    fn key(&self, start: usize) -> Result<String, LogfmtError> {
        let key = String::from_utf8_lossy(&self.line[start..self.position]);
        if key.contains(char::REPLACEMENT_CHARACTER) {
            return Err(self.syntax("invalid key"));
        }
        Ok(key.into_owned())
    }

    /// The value after `=`: bare, quoted with `"` (JSON escapes) or with `'` (raw).
    fn value(&mut self) -> Result<String, LogfmtError> {
        let line = self.line;
        let Some(&first) = line.get(self.position) else {
            return Ok(String::new());
        };
        if first <= b' ' {
            return Ok(String::new());
        }
        if first == b'"' || first == b'\'' {
            return self.quoted_value(first);
        }
        let start = self.position;
        while self.position < line.len() {
            match line[self.position] {
                byte @ (b'=' | b'"' | b'\'') => return Err(self.unexpected(byte)),
                byte if byte <= b' ' => break,
                _ => self.position += 1,
            }
        }
        Ok(String::from_utf8_lossy(&line[start..self.position]).into_owned())
    }

    fn quoted_value(&mut self, quote: u8) -> Result<String, LogfmtError> {
        let line = self.line;
        let start = self.position;
        let (mut has_escape, mut escaped) = (false, false);
        for index in start + 1..line.len() {
            let byte = line[index];
            if escaped {
                escaped = false;
            } else if byte == b'\\' && quote == b'"' {
                (has_escape, escaped) = (true, true);
            } else if byte == quote {
                self.position = index + 1;
                let inner = &line[start + 1..index];
                if !has_escape {
                    return Ok(String::from_utf8_lossy(inner).into_owned());
                }
                return unquote_json(inner).ok_or_else(|| self.syntax("invalid quoted value"));
            }
        }
        self.position = line.len();
        Err(self.syntax("unterminated quoted value"))
    }

    fn syntax(&self, message: &str) -> LogfmtError {
        LogfmtError::Syntax {
            message: message.to_owned(),
            line: self.line_number,
            position: self.position + 1,
        }
    }

    /// Go's `fmt.Sprintf("unexpected %q", byte)`: a quoted character literal.
    fn unexpected(&self, byte: u8) -> LogfmtError {
        let literal = match byte {
            b'\'' => "'\\''".to_owned(),
            byte => format!("'{}'", char::from(byte)),
        };
        self.syntax(&format!("unexpected {literal}"))
    }
}

/// The inside of a `"`-quoted value with JSON escapes (`\" \\ \/ \' \b \f \n \r \t
/// \uXXXX`, surrogate pairs joined). Control characters and unknown escapes fail.
fn unquote_json(inner: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(inner);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(character) = chars.next() {
        match character {
            '\\' => match chars.next()? {
                escaped @ ('"' | '\\' | '/' | '\'') => out.push(escaped),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let unit = hex4(&mut chars)?;
                    out.push(utf16_unit(unit, &mut chars));
                }
                _ => return None,
            },
            '"' => return None,
            character if u32::from(character) < 0x20 => return None,
            character => out.push(character),
        }
    }
    Some(out)
}

/// One `\uXXXX` code unit; a high surrogate followed by `\uXXXX` low surrogate joins
/// it, any other surrogate becomes U+FFFD.
fn utf16_unit(unit: u16, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> char {
    if let Some(character) = char::from_u32(u32::from(unit)) {
        return character;
    }
    let mut lookahead = chars.clone();
    if (0xD800..0xDC00).contains(&unit)
        && lookahead.next() == Some('\\')
        && lookahead.next() == Some('u')
        && let Some(low) = hex4(&mut lookahead)
        && let Some(Ok(joined)) = char::decode_utf16([unit, low]).next()
    {
        *chars = lookahead;
        return joined;
    }
    char::REPLACEMENT_CHARACTER
}

fn hex4(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<u16> {
    let mut value = 0u16;
    for _ in 0..4 {
        let digit = chars.next()?.to_digit(16)?;
        value = value * 16 + u16::try_from(digit).ok()?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        let (pairs, error) = decode(text);
        assert_eq!(error, None, "{text}");
        pairs
    }

    fn error(text: &str) -> String {
        decode(text).1.expect("an error").to_string()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn decodes_like_go_logfmt() {
        assert_eq!(
            pairs(r#"service.name=api  db.statement="select * from t" flag a='b c'"#),
            owned(&[
                ("service.name", "api"),
                ("db.statement", "select * from t"),
                ("flag", ""),
                ("a", "b c"),
            ])
        );
        assert_eq!(
            pairs(r#"k="a\"b\u00e9\n" e="""#),
            owned(&[("k", "a\"bé\n"), ("e", "")])
        );
        assert_eq!(pairs("a=1\r\nb=2"), owned(&[("a", "1"), ("b", "2")]));
        assert_eq!(pairs(r#"k="\ud83d\ude00""#), owned(&[("k", "😀")]));
        assert_eq!(pairs("k= j=2"), owned(&[("k", ""), ("j", "2")]));
    }

    #[test]
    fn syntax_errors_match_go_logfmt() {
        assert_eq!(
            error("=v"),
            "logfmt syntax error at pos 1 on line 1: unexpected '='"
        );
        assert_eq!(
            error("k=v=w"),
            "logfmt syntax error at pos 4 on line 1: unexpected '='"
        );
        assert_eq!(
            error(r#"k="open"#),
            "logfmt syntax error at pos 8 on line 1: unterminated quoted value"
        );
        assert_eq!(
            error(r#"k="\x""#),
            "logfmt syntax error at pos 7 on line 1: invalid quoted value"
        );
        assert_eq!(
            error("a=1\nk'=v"),
            "logfmt syntax error at pos 2 on line 2: unexpected '\\''"
        );
        let (before, _) = decode("a=1 b=\"");
        assert_eq!(before, owned(&[("a", "1")]));
    }
}
