//! Tokenizer, following Tempo's `lexer.go` (a Go `text/scanner` plus an attribute mode):
//!
//! * multi-character operators are built greedily (`!` → `!>` → `!>>`, `span` → `span.`);
//! * after `.`, `span.`, `resource.`, `event.`, `link.`, `instrumentation.` or `parent.`
//!   everything up to whitespace or one of `{}()=~!<>&|^,` is the attribute name, with
//!   `"quoted"` parts allowed (`span."a b"`);
//! * a number directly followed by duration units is a duration (`100ms`, `1h30m`, `1.5s`);
//! * strings are Go literals (`"..."` with escapes, or raw `` `...` ``); `//` and `/* */`
//!   comments are skipped.
//!
//! Lexical errors become an [`Tok::Error`] token so the parser reports them only when it
//! reaches them, in source order like Tempo.

use crate::ast::is_attribute_char;
use crate::value::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    True,
    False,
    Nil,
    StatusOk,
    StatusError,
    StatusUnset,
    KindUnspecified,
    KindInternal,
    KindServer,
    KindClient,
    KindProducer,
    KindConsumer,
    Duration,
    ChildCount,
    Name,
    Status,
    StatusMessage,
    Kind,
    RootName,
    RootServiceName,
    RootService,
    TraceDuration,
    NestedSetLeft,
    NestedSetRight,
    NestedSetParent,
    Id,
    TraceId,
    SpanId,
    ParentId,
    TimeSinceStart,
    Version,
    Parent,
    Count,
    Avg,
    Max,
    Min,
    Sum,
    By,
    Coalesce,
    Select,
    Rate,
    CountOverTime,
    MinOverTime,
    MaxOverTime,
    AvgOverTime,
    SumOverTime,
    QuantileOverTime,
    HistogramOverTime,
    Compare,
    Topk,
    Bottomk,
    With,
}

const KEYWORDS: &[(&str, Keyword)] = &[
    ("true", Keyword::True),
    ("false", Keyword::False),
    ("nil", Keyword::Nil),
    ("ok", Keyword::StatusOk),
    ("error", Keyword::StatusError),
    ("unset", Keyword::StatusUnset),
    ("unspecified", Keyword::KindUnspecified),
    ("internal", Keyword::KindInternal),
    ("server", Keyword::KindServer),
    ("client", Keyword::KindClient),
    ("producer", Keyword::KindProducer),
    ("consumer", Keyword::KindConsumer),
    ("duration", Keyword::Duration),
    ("childCount", Keyword::ChildCount),
    ("name", Keyword::Name),
    ("status", Keyword::Status),
    ("statusMessage", Keyword::StatusMessage),
    ("kind", Keyword::Kind),
    ("rootName", Keyword::RootName),
    ("rootServiceName", Keyword::RootServiceName),
    ("rootService", Keyword::RootService),
    ("traceDuration", Keyword::TraceDuration),
    ("nestedSetLeft", Keyword::NestedSetLeft),
    ("nestedSetRight", Keyword::NestedSetRight),
    ("nestedSetParent", Keyword::NestedSetParent),
    ("id", Keyword::Id),
    ("traceID", Keyword::TraceId),
    ("spanID", Keyword::SpanId),
    ("parentID", Keyword::ParentId),
    ("timeSinceStart", Keyword::TimeSinceStart),
    ("version", Keyword::Version),
    ("parent", Keyword::Parent),
    ("count", Keyword::Count),
    ("avg", Keyword::Avg),
    ("max", Keyword::Max),
    ("min", Keyword::Min),
    ("sum", Keyword::Sum),
    ("by", Keyword::By),
    ("coalesce", Keyword::Coalesce),
    ("select", Keyword::Select),
    ("rate", Keyword::Rate),
    ("count_over_time", Keyword::CountOverTime),
    ("min_over_time", Keyword::MinOverTime),
    ("max_over_time", Keyword::MaxOverTime),
    ("avg_over_time", Keyword::AvgOverTime),
    ("sum_over_time", Keyword::SumOverTime),
    ("quantile_over_time", Keyword::QuantileOverTime),
    ("histogram_over_time", Keyword::HistogramOverTime),
    ("compare", Keyword::Compare),
    ("topk", Keyword::Topk),
    ("bottomk", Keyword::Bottomk),
    ("with", Keyword::With),
];

impl Keyword {
    pub(crate) fn spelling(self) -> &'static str {
        KEYWORDS
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(s, _)| s)
    }
}

/// The scope that opened an attribute (`span.` ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttrPrefix {
    Dot,
    Span,
    Resource,
    Event,
    Link,
    Instrumentation,
    /// `parent.` (optionally followed by `span.`/`resource.`); rejected by the parser.
    Parent,
}

impl AttrPrefix {
    fn spelling(self) -> &'static str {
        match self {
            AttrPrefix::Dot => ".",
            AttrPrefix::Span => "span.",
            AttrPrefix::Resource => "resource.",
            AttrPrefix::Event => "event.",
            AttrPrefix::Link => "link.",
            AttrPrefix::Instrumentation => "instrumentation.",
            AttrPrefix::Parent => "parent.",
        }
    }
}

/// `trace:`, `span:` ... introducing a scoped intrinsic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColonScope {
    Trace,
    Span,
    Event,
    Link,
    Instrumentation,
}

impl ColonScope {
    fn spelling(self) -> &'static str {
        match self {
            ColonScope::Trace => "trace:",
            ColonScope::Span => "span:",
            ColonScope::Event => "event:",
            ColonScope::Link => "link:",
            ColonScope::Instrumentation => "instrumentation:",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Pipe,
    Eq,
    Neq,
    Re,
    /// `!~`: regex non-match, or not-sibling between spansets.
    Nre,
    Gt,
    Gte,
    Lt,
    Lte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    And,
    Or,
    Not,
    Desc,
    Ance,
    Sibl,
    NotChild,
    NotParent,
    NotDesc,
    NotAnce,
    UnionSibl,
    UnionChild,
    UnionParent,
    UnionDesc,
    UnionAnce,
    Str(String),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    Kw(Keyword),
    /// A scoped attribute. `name` is `None` when nothing follows the prefix, which Tempo
    /// reports as `unexpected END_ATTRIBUTE`.
    Attr {
        prefix: AttrPrefix,
        name: Option<String>,
    },
    Colon(ColonScope),
    Ident(String),
    /// A lexical error; the message is Tempo's.
    Error(String),
    Eof,
}

impl Tok {
    /// How Tempo's parser names the token in `unexpected X`.
    pub(crate) fn describe(&self) -> String {
        let s = match self {
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Pipe => "|",
            Tok::Eq => "=",
            Tok::Neq => "!=",
            Tok::Re => "=~",
            Tok::Nre => "!~",
            Tok::Gt => ">",
            Tok::Gte => ">=",
            Tok::Lt => "<",
            Tok::Lte => "<=",
            Tok::Add => "+",
            Tok::Sub => "-",
            Tok::Mul => "*",
            Tok::Div => "/",
            Tok::Mod => "%",
            Tok::Pow => "^",
            Tok::And => "&&",
            Tok::Or => "||",
            Tok::Not => "!",
            Tok::Desc => ">>",
            Tok::Ance => "<<",
            Tok::Sibl => "~",
            Tok::NotChild => "!>",
            Tok::NotParent => "!<",
            Tok::NotDesc => "!>>",
            Tok::NotAnce => "!<<",
            Tok::UnionSibl => "&~",
            Tok::UnionChild => "&>",
            Tok::UnionParent => "&<",
            Tok::UnionDesc => "&>>",
            Tok::UnionAnce => "&<<",
            Tok::Str(_) => "STRING",
            Tok::Int(_) => "INTEGER",
            Tok::Float(_) => "FLOAT",
            Tok::Duration(_) => "DURATION",
            Tok::Kw(k) => k.spelling(),
            Tok::Attr { name: None, .. } => "END_ATTRIBUTE",
            Tok::Attr { prefix, .. } => prefix.spelling(),
            Tok::Colon(c) => c.spelling(),
            Tok::Ident(_) => "IDENTIFIER",
            Tok::Error(_) => "error",
            Tok::Eof => "$end",
        };
        s.to_string()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub col: usize,
}

/// Punctuation tokens and scope prefixes, extended greedily one character at a time.
fn punctuation(text: &str) -> Option<Tok> {
    Some(match text {
        "," => Tok::Comma,
        "{" => Tok::LBrace,
        "}" => Tok::RBrace,
        "(" => Tok::LParen,
        ")" => Tok::RParen,
        "=" => Tok::Eq,
        "!=" => Tok::Neq,
        "=~" => Tok::Re,
        "!~" => Tok::Nre,
        ">" => Tok::Gt,
        ">=" => Tok::Gte,
        "<" => Tok::Lt,
        "<=" => Tok::Lte,
        "+" => Tok::Add,
        "-" => Tok::Sub,
        "/" => Tok::Div,
        "%" => Tok::Mod,
        "*" => Tok::Mul,
        "^" => Tok::Pow,
        "&&" => Tok::And,
        "||" => Tok::Or,
        "!" => Tok::Not,
        "|" => Tok::Pipe,
        ">>" => Tok::Desc,
        "<<" => Tok::Ance,
        "~" => Tok::Sibl,
        "!>" => Tok::NotChild,
        "!<" => Tok::NotParent,
        "!>>" => Tok::NotDesc,
        "!<<" => Tok::NotAnce,
        "&~" => Tok::UnionSibl,
        "&>" => Tok::UnionChild,
        "&<" => Tok::UnionParent,
        "&>>" => Tok::UnionDesc,
        "&<<" => Tok::UnionAnce,
        "trace:" => Tok::Colon(ColonScope::Trace),
        "span:" => Tok::Colon(ColonScope::Span),
        "event:" => Tok::Colon(ColonScope::Event),
        "link:" => Tok::Colon(ColonScope::Link),
        "instrumentation:" => Tok::Colon(ColonScope::Instrumentation),
        _ => return None,
    })
}

fn attribute_prefix(text: &str) -> Option<AttrPrefix> {
    Some(match text {
        "." => AttrPrefix::Dot,
        "span." => AttrPrefix::Span,
        "resource." => AttrPrefix::Resource,
        "event." => AttrPrefix::Event,
        "link." => AttrPrefix::Link,
        "instrumentation." => AttrPrefix::Instrumentation,
        "parent." => AttrPrefix::Parent,
        _ => return None,
    })
}

fn is_known_text(text: &str) -> bool {
    punctuation(text).is_some()
        || attribute_prefix(text).is_some()
        || KEYWORDS.iter().any(|(s, _)| *s == text)
}

fn is_duration_char(c: char) -> bool {
    matches!(c, 'n' | 's' | 'u' | 'm' | 'h' | 'µ' | 'd' | 'w' | 'y')
}

/// Tokenizes the whole input. The result always ends with `Eof` or an `Error` token.
pub(crate) fn tokenize(input: &str) -> Vec<Token> {
    let mut lexer = Lexer::new(input);
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token();
        let done = matches!(token.tok, Tok::Eof | Tok::Error(_));
        tokens.push(token);
        if done {
            return tokens;
        }
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
}

impl Lexer {
    fn new(input: &str) -> Self {
        Lexer {
            chars: input.chars().collect(),
            pos: 0,
            line: 1,
            col: 1,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    /// Skips whitespace and comments; `Err` (at the comment) for an unterminated one.
    fn skip_trivia(&mut self) -> Result<(), (String, usize, usize)> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(' ' | '\t' | '\n' | '\r'), _) => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let (line, col) = (self.line, self.col);
                    self.bump();
                    self.bump();
                    loop {
                        match (self.peek(), self.peek_at(1)) {
                            (None, _) => {
                                return Err(("comment not terminated".to_string(), line, col));
                            }
                            (Some('*'), Some('/')) => {
                                self.bump();
                                self.bump();
                                break;
                            }
                            _ => {
                                self.bump();
                            }
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn next_token(&mut self) -> Token {
        if let Err((message, line, col)) = self.skip_trivia() {
            return Token {
                tok: Tok::Error(message),
                line,
                col,
            };
        }
        let (line, col) = (self.line, self.col);
        let token = |tok| Token { tok, line, col };
        let Some(c) = self.peek() else {
            return token(Tok::Eof);
        };

        if c == '"' || c == '`' {
            return token(self.string());
        }
        if c.is_ascii_digit() || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            return token(self.number());
        }

        let mut text = String::new();
        if c.is_alphabetic() || c == '_' {
            while let Some(c) = self.peek() {
                if c.is_alphanumeric() || c == '_' {
                    text.push(c);
                    self.bump();
                } else {
                    break;
                }
            }
        } else {
            text.push(c);
            self.bump();
        }
        // Greedy extension, one character at a time, while the text stays a known token.
        while let Some(next) = self.peek() {
            let mut longer = text.clone();
            longer.push(next);
            if !is_known_text(&longer) {
                break;
            }
            text = longer;
            self.bump();
        }

        if let Some(prefix) = attribute_prefix(&text) {
            return token(self.attribute(prefix));
        }
        if let Some(tok) = punctuation(&text) {
            return token(tok);
        }
        if let Some((_, kw)) = KEYWORDS.iter().find(|(s, _)| *s == text) {
            return token(Tok::Kw(*kw));
        }
        token(Tok::Ident(text))
    }

    /// Reads the name after an attribute prefix.
    fn attribute(&mut self, mut prefix: AttrPrefix) -> Tok {
        if prefix == AttrPrefix::Parent {
            // `parent.span.x` / `parent.resource.x`
            for inner in ["span.", "resource."] {
                let matches = inner
                    .chars()
                    .enumerate()
                    .all(|(i, c)| self.peek_at(i) == Some(c));
                if matches {
                    for _ in inner.chars() {
                        self.bump();
                    }
                    prefix = AttrPrefix::Parent;
                }
            }
        }
        if !self.peek().is_some_and(is_attribute_char) {
            return Tok::Attr { prefix, name: None };
        }
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c == '"' {
                self.bump();
                loop {
                    match self.bump() {
                        None => return Tok::Error("unexpected EOF, expecting \"".to_string()),
                        Some('"') => break,
                        Some('\\') => match self.bump() {
                            Some(c @ ('\\' | '"')) => name.push(c),
                            _ => return Tok::Error("invalid escape sequence".to_string()),
                        },
                        Some(c) => name.push(c),
                    }
                }
            } else if is_attribute_char(c) {
                name.push(c);
                self.bump();
            } else {
                break;
            }
        }
        Tok::Attr {
            prefix,
            name: Some(name),
        }
    }

    /// Integer, float, or (when units follow) duration.
    fn number(&mut self) -> Tok {
        let mut text = String::new();
        let mut is_float = false;
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            text.push(c);
            self.bump();
        }
        if self.peek() == Some('.') {
            is_float = true;
            text.push('.');
            self.bump();
            while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                text.push(c);
                self.bump();
            }
        }
        // An exponent only when digits follow, so `1em` stays `1` followed by `em`.
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek_at(1), Some('+' | '-')));
            if self.peek_at(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                for _ in 0..=sign {
                    if let Some(c) = self.bump() {
                        text.push(c);
                    }
                }
                while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                    text.push(c);
                    self.bump();
                }
            }
        }

        // Tempo's tryScanDuration: take digits, '.', and unit letters up to whitespace and
        // keep them only if the whole text parses as a duration.
        let mut suffix_len = 0;
        while let Some(c) = self.peek_at(suffix_len) {
            if c.is_whitespace() || !(c.is_numeric() || is_duration_char(c) || c == '.') {
                break;
            }
            suffix_len += 1;
        }
        if suffix_len > 0 {
            let candidate: String = text
                .chars()
                .chain(self.chars[self.pos..self.pos + suffix_len].iter().copied())
                .collect();
            if let Some(nanos) = parse_duration(&candidate) {
                for _ in 0..suffix_len {
                    self.bump();
                }
                return Tok::Duration(nanos);
            }
        }

        if is_float {
            match text.parse::<f64>() {
                Ok(x) => Tok::Float(x),
                Err(_) => Tok::Error(format!("invalid float literal {text:?}")),
            }
        } else {
            match text.parse::<i64>() {
                Ok(n) => Tok::Int(n),
                Err(_) => Tok::Error(format!(
                    "strconv.Atoi: parsing {text:?}: value out of range"
                )),
            }
        }
    }

    /// A Go string literal: interpreted (`"..."`) or raw (`` `...` ``).
    fn string(&mut self) -> Tok {
        let Some(quote) = self.bump() else {
            return Tok::Error("literal not terminated".to_string());
        };
        let mut out = String::new();
        if quote == '`' {
            loop {
                match self.bump() {
                    None => return Tok::Error("literal not terminated".to_string()),
                    Some('`') => return Tok::Str(out),
                    Some('\r') => {} // Go drops carriage returns from raw strings.
                    Some(c) => out.push(c),
                }
            }
        }
        loop {
            match self.bump() {
                None | Some('\n') => return Tok::Error("literal not terminated".to_string()),
                Some('"') => return Tok::Str(out),
                Some('\\') => match self.escape() {
                    Some(c) => out.push(c),
                    None => return Tok::Error("invalid char escape".to_string()),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// The character after a backslash in an interpreted string.
    fn escape(&mut self) -> Option<char> {
        let c = self.bump()?;
        let hex = |lexer: &mut Self, digits: usize| -> Option<char> {
            let mut value = 0u32;
            for _ in 0..digits {
                value = value * 16 + lexer.bump()?.to_digit(16)?;
            }
            char::from_u32(value)
        };
        match c {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            'x' => hex(self, 2),
            'u' => hex(self, 4),
            'U' => hex(self, 8),
            '0'..='7' => {
                let mut value = c.to_digit(8)?;
                for _ in 0..2 {
                    value = value * 8 + self.bump()?.to_digit(8)?;
                }
                if value > 255 {
                    return None;
                }
                char::from_u32(value)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(input: &str) -> Vec<Tok> {
        tokenize(input).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn greedy_operators() {
        assert_eq!(
            kinds("!>> &>> !~ && || >= =~ &~ !<"),
            vec![
                Tok::NotDesc,
                Tok::UnionDesc,
                Tok::Nre,
                Tok::And,
                Tok::Or,
                Tok::Gte,
                Tok::Re,
                Tok::UnionSibl,
                Tok::NotParent,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn attributes_take_everything_up_to_a_delimiter() {
        assert_eq!(
            kinds(r#"resource.service.name="a" span."a b".c .x-y:z"#),
            vec![
                Tok::Attr {
                    prefix: AttrPrefix::Resource,
                    name: Some("service.name".into())
                },
                Tok::Eq,
                Tok::Str("a".into()),
                Tok::Attr {
                    prefix: AttrPrefix::Span,
                    name: Some("a b.c".into())
                },
                Tok::Attr {
                    prefix: AttrPrefix::Dot,
                    name: Some("x-y:z".into())
                },
                Tok::Eof
            ]
        );
    }

    #[test]
    fn durations_numbers_and_positions() {
        let tokens = tokenize("{ duration>1.5s && x < 10 }\n 1h30m .5 2e3");
        let kinds: Vec<_> = tokens.iter().map(|t| t.tok.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                Tok::LBrace,
                Tok::Kw(Keyword::Duration),
                Tok::Gt,
                Tok::Duration(1_500_000_000),
                Tok::And,
                Tok::Ident("x".into()),
                Tok::Lt,
                Tok::Int(10),
                Tok::RBrace,
                Tok::Duration(5_400_000_000_000),
                Tok::Float(0.5),
                Tok::Float(2000.0),
                Tok::Eof
            ]
        );
        assert_eq!((tokens[9].line, tokens[9].col), (2, 2));
        assert_eq!((tokens[3].line, tokens[3].col), (1, 12));
    }

    #[test]
    fn strings_and_comments() {
        assert_eq!(
            kinds(r#""a\"b\n" `raw\n` // comment"#),
            vec![
                Tok::Str("a\"b\n".into()),
                Tok::Str("raw\\n".into()),
                Tok::Eof
            ]
        );
        assert!(matches!(kinds(r#""open"#)[0], Tok::Error(_)));
        assert!(matches!(kinds(r#""\q""#)[0], Tok::Error(_)));
    }

    #[test]
    fn scoped_intrinsics() {
        assert_eq!(
            kinds("span:id trace:rootService"),
            vec![
                Tok::Colon(ColonScope::Span),
                Tok::Kw(Keyword::Id),
                Tok::Colon(ColonScope::Trace),
                Tok::Kw(Keyword::RootService),
                Tok::Eof
            ]
        );
    }
}
