//! Lenient parsing for tag-value autocompletion (`q` on `/api/v2/search/tag/.../values`).
//!
//! Grafana sends the query being typed, often incomplete: `{resource.service.name="api"
//! && span.http.method=` or `{ name=~"GET`. Like Tempo (`ParseLenient`,
//! `ExtractConditionGroups`) we parse normally; on failure we drop the comparison
//! operators of incomplete matchers (together with their attribute), remove connectors
//! and parentheses left dangling, close open braces and parse again. The conditions of
//! the first spanset filter are then expanded into OR-groups (disjunctive normal form) of
//! AND-ed conditions; a group that keeps no usable condition makes the whole query
//! unfiltered. Nothing here ever returns an error.

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use crate::ast::{FieldExpr, SpansetExpr, Stage};
use crate::eval::{SpanLocation, TraceView};
use crate::hints::Condition;
use crate::lexer::{AttrPrefix, Keyword, Tok, tokenize};
use crate::parser::parse;
use crate::query::Query;
use crate::value::{Literal, write_go_string};

/// Tempo's cap on OR-expanded groups (`DefaultMaxConditionGroupsPerTagQuery`).
pub const MAX_CONDITION_GROUPS: usize = 100;

/// The usable part of a possibly incomplete query.
#[derive(Debug, Clone)]
pub struct LenientQuery {
    /// The (cleaned-up) query, if anything parseable remained.
    pub query: Option<Query>,
    /// A span qualifies when it satisfies every condition of at least one group. Empty
    /// means no filtering.
    pub condition_groups: Vec<Vec<Condition>>,
    /// The OR expansion exceeded [`MAX_CONDITION_GROUPS`]; groups were dropped (no filter).
    pub too_many_groups: bool,
}

impl LenientQuery {
    /// True when every span qualifies.
    pub fn is_unfiltered(&self) -> bool {
        self.condition_groups.is_empty()
    }

    /// The spans of `trace` that qualify, in trace order.
    pub fn matching_spans(&self, trace: &[ResourceSpans]) -> Vec<SpanLocation> {
        let view = TraceView::new(trace, true);
        (0..view.len())
            .filter(|&i| {
                self.is_unfiltered()
                    || self
                        .condition_groups
                        .iter()
                        .any(|group| group.iter().all(|c| c.matches_span(&view, i)))
            })
            .map(|i| view.spans[i].location)
            .collect()
    }
}

/// Parses what can be parsed of `text`; never fails.
pub fn parse_lenient(text: &str) -> LenientQuery {
    let text = text.trim();
    let query = if text.is_empty() {
        None
    } else {
        parse(text)
            .ok()
            .or_else(|| parse(&remove_incomplete_matchers(text)).ok())
    };
    let mut result = LenientQuery {
        query,
        condition_groups: Vec::new(),
        too_many_groups: false,
    };
    let Some(filter) = result.query.as_ref().and_then(first_filter) else {
        return result;
    };
    match disjunctive_groups(filter) {
        None => result.too_many_groups = true,
        Some(groups) => {
            // A group without usable conditions admits every span.
            if groups.iter().all(|g| !g.is_empty()) {
                result.condition_groups = groups;
            }
        }
    }
    result
}

/// The first stage's filter, when it is a single `{ }` (not an operation between
/// spansets, which may describe several spans).
fn first_filter(query: &Query) -> Option<&FieldExpr> {
    match query.pipeline().stages.first()? {
        Stage::Spanset(SpansetExpr::Filter(e)) => Some(e),
        _ => None,
    }
}

/// OR-of-ANDs of the conditions in `e`; leaves that are not `field op literal` are
/// dropped from their group (which only widens it). `None` past the group cap.
fn disjunctive_groups(e: &FieldExpr) -> Option<Vec<Vec<Condition>>> {
    Some(match e {
        FieldExpr::And(a, b) => {
            let (left, right) = (disjunctive_groups(a)?, disjunctive_groups(b)?);
            if left.len().saturating_mul(right.len()) > MAX_CONDITION_GROUPS {
                return None;
            }
            let mut out = Vec::with_capacity(left.len() * right.len());
            for l in &left {
                for r in &right {
                    let mut group = l.clone();
                    group.extend(r.iter().cloned());
                    out.push(group);
                }
            }
            out
        }
        FieldExpr::Or(a, b) => {
            let mut out = disjunctive_groups(a)?;
            for group in disjunctive_groups(b)? {
                if !out.contains(&group) {
                    out.push(group);
                }
            }
            if out.len() > MAX_CONDITION_GROUPS {
                return None;
            }
            out
        }
        leaf => vec![Condition::from_expr(leaf).into_iter().collect()],
    })
}

fn is_comparison(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Eq | Tok::Neq | Tok::Lt | Tok::Lte | Tok::Gt | Tok::Gte | Tok::Re | Tok::Nre
    )
}

fn is_value(tok: &Tok) -> bool {
    match tok {
        Tok::Str(_) | Tok::Int(_) | Tok::Float(_) | Tok::Duration(_) | Tok::Ident(_) => true,
        Tok::Kw(k) => matches!(
            k,
            Keyword::True
                | Keyword::False
                | Keyword::Nil
                | Keyword::StatusOk
                | Keyword::StatusError
                | Keyword::StatusUnset
                | Keyword::KindUnspecified
                | Keyword::KindInternal
                | Keyword::KindServer
                | Keyword::KindClient
                | Keyword::KindProducer
                | Keyword::KindConsumer
        ),
        _ => false,
    }
}

fn is_intrinsic_keyword(k: Keyword) -> bool {
    matches!(
        k,
        Keyword::Duration
            | Keyword::ChildCount
            | Keyword::Name
            | Keyword::Status
            | Keyword::StatusMessage
            | Keyword::Kind
            | Keyword::RootName
            | Keyword::RootServiceName
            | Keyword::TraceDuration
            | Keyword::Parent
    )
}

/// Number of tokens the attribute starting at `i` spans, if one starts there.
fn attribute_len(tokens: &[Tok], i: usize) -> Option<usize> {
    match tokens.get(i)? {
        Tok::Attr { .. } => Some(1),
        Tok::Kw(k) if is_intrinsic_keyword(*k) => Some(1),
        Tok::Colon(_) if matches!(tokens.get(i + 1), Some(Tok::Kw(_))) => Some(2),
        _ => None,
    }
}

/// Tempo's `removeIncompleteMatchers`, dropping the dangling attribute too so the result
/// type-checks; the pipeline after the first `|` is kept as written.
fn remove_incomplete_matchers(text: &str) -> String {
    let mut tokens: Vec<Tok> = tokenize(text)
        .into_iter()
        .map(|t| t.tok)
        .take_while(|t| !matches!(t, Tok::Eof | Tok::Error(_)))
        .collect();
    let pipeline_tail = match tokens.iter().position(|t| *t == Tok::Pipe) {
        Some(p) => tokens.split_off(p),
        None => Vec::new(),
    };
    let mut remove = vec![false; tokens.len()];

    let mut i = 0;
    while i < tokens.len() {
        // A scope still waiting for its name (`span.`) is being typed: drop it.
        if matches!(tokens[i], Tok::Attr { name: None, .. }) {
            remove[i] = true;
            if tokens.get(i + 1).is_some_and(is_comparison) {
                remove[i + 1] = true;
            }
            i += 1;
            continue;
        }
        let Some(len) = attribute_len(&tokens, i) else {
            i += 1;
            continue;
        };
        let op = i + len;
        let complete =
            tokens.get(op).is_some_and(is_comparison) && tokens.get(op + 1).is_some_and(is_value);
        if complete {
            i = op + 2;
        } else if tokens.get(op).is_some_and(is_comparison) {
            remove[i..=op].iter_mut().for_each(|r| *r = true);
            i = op + 1;
        } else {
            i += len;
        }
    }
    clean_dangling(&tokens, &mut remove);

    let mut out = String::new();
    let mut open: Vec<Tok> = Vec::new();
    for (tok, removed) in tokens.iter().zip(&remove) {
        if *removed {
            continue;
        }
        match tok {
            Tok::LBrace => open.push(Tok::RBrace),
            Tok::LParen => open.push(Tok::RParen),
            Tok::RBrace | Tok::RParen => {
                open.pop();
            }
            _ => {}
        }
        out.push_str(&token_source(tok));
        out.push(' ');
    }
    for tok in tail_source(&pipeline_tail, &mut open) {
        out.push_str(&tok);
        out.push(' ');
    }
    while let Some(closer) = open.pop() {
        out.push_str(&token_source(&closer));
        out.push(' ');
    }
    out
}

fn tail_source(tail: &[Tok], open: &mut Vec<Tok>) -> Vec<String> {
    if tail.is_empty() {
        return Vec::new();
    }
    // Close the filter part before re-appending the pipeline.
    let mut out: Vec<String> = open.drain(..).rev().map(|t| token_source(&t)).collect();
    out.extend(tail.iter().map(token_source));
    out
}

/// Removes `&&`/`||` with nothing on one side and parentheses left empty.
fn clean_dangling(tokens: &[Tok], remove: &mut [bool]) {
    let neighbour = |remove: &[bool], from: usize, forward: bool| -> Option<usize> {
        if forward {
            (from + 1..tokens.len()).find(|&j| !remove[j])
        } else {
            (0..from).rev().find(|&j| !remove[j])
        }
    };
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..tokens.len() {
            if remove[i] {
                continue;
            }
            match tokens[i] {
                Tok::And | Tok::Or => {
                    let prev = neighbour(remove, i, false).map(|j| &tokens[j]);
                    let next = neighbour(remove, i, true).map(|j| &tokens[j]);
                    let dangling = matches!(
                        prev,
                        None | Some(Tok::LBrace | Tok::LParen | Tok::And | Tok::Or)
                    ) || matches!(
                        next,
                        None | Some(Tok::RBrace | Tok::RParen | Tok::And | Tok::Or)
                    );
                    if dangling {
                        remove[i] = true;
                        changed = true;
                    }
                }
                // `()` or a `(` with nothing after it.
                Tok::LParen => match neighbour(remove, i, true) {
                    None => {
                        remove[i] = true;
                        changed = true;
                    }
                    Some(j) if tokens[j] == Tok::RParen => {
                        remove[i] = true;
                        remove[j] = true;
                        changed = true;
                    }
                    Some(_) => {}
                },
                _ => {}
            }
        }
    }
}

/// Source text that lexes back to `tok`.
fn token_source(tok: &Tok) -> String {
    match tok {
        Tok::Str(s) => {
            let mut out = String::new();
            let _ = write_go_string(&mut out, s);
            out
        }
        Tok::Int(n) => n.to_string(),
        Tok::Float(x) => format!("{x:?}"),
        Tok::Duration(d) => Literal::Duration(*d).to_string(),
        Tok::Ident(s) => s.clone(),
        Tok::Attr { prefix, name } => {
            let scope = match prefix {
                AttrPrefix::Dot => crate::ast::AttributeScope::Unscoped,
                AttrPrefix::Span => crate::ast::AttributeScope::Span,
                AttrPrefix::Resource => crate::ast::AttributeScope::Resource,
                AttrPrefix::Event => crate::ast::AttributeScope::Event,
                AttrPrefix::Link => crate::ast::AttributeScope::Link,
                AttrPrefix::Instrumentation => crate::ast::AttributeScope::Instrumentation,
                AttrPrefix::Parent => return "parent.".to_string() + name.as_deref().unwrap_or(""),
            };
            crate::ast::Attribute {
                scope,
                name: name.clone().unwrap_or_default(),
            }
            .to_string()
        }
        other => other.describe(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_keeps_complete_matchers() {
        let cleaned =
            remove_incomplete_matchers(r#"{resource.service.name="api" && span.http.method="#);
        assert_eq!(
            cleaned.split_whitespace().collect::<Vec<_>>().join(" "),
            r#"{ resource.service.name = "api" }"#
        );
        let cleaned = remove_incomplete_matchers(r#"{ name=~"GET"#);
        assert_eq!(
            cleaned.split_whitespace().collect::<Vec<_>>().join(" "),
            "{ }"
        );
    }
}
