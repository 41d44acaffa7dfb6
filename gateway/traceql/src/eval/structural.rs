//! Structural spanset operators (`>`, `<`, `>>`, `<<`, `~` and their `!`/`&` forms).
//!
//! Tempo (`SpansetOperation.evaluate`, vparquet `DescendantOf`/`ChildOf`/`SiblingOf`):
//! * plain forms return the right-hand spans that stand in the relation to at least one
//!   left-hand span, in right-hand order;
//! * `!` forms return the right-hand spans that stand in it to none (all of them when the
//!   left-hand side matched nothing);
//! * `&` forms return both spans of every related pair; we order them as in the trace.
//!
//! Relations follow parent ids within the trace. Root spans (no parent id) are siblings
//! of each other, as in Tempo's nested-set model. Walks are bounded by the span count, so
//! cyclic parent ids cannot loop.

use std::collections::HashMap;

use crate::ast::SpansetOp;
use crate::eval::trace::TraceView;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum SiblingKey<'a> {
    Parent(usize),
    Root,
    /// The parent id is not in the trace.
    Orphan(&'a [u8]),
}

fn sibling_key<'a>(view: &TraceView<'a>, i: usize) -> SiblingKey<'a> {
    match view.parent_of(i) {
        Some(p) => SiblingKey::Parent(p),
        None => {
            let span = view.spans[i].span;
            if view.spans[i].is_root() {
                SiblingKey::Root
            } else {
                SiblingKey::Orphan(&span.parent_span_id)
            }
        }
    }
}

fn membership(n: usize, spans: &[u32]) -> Vec<bool> {
    let mut member = vec![false; n];
    for &s in spans {
        if let Some(m) = member.get_mut(s as usize) {
            *m = true;
        }
    }
    member
}

/// Marks every ancestor of every span in `spans`.
fn mark_ancestors(view: &TraceView<'_>, spans: &[u32]) -> Vec<bool> {
    let mut marked = vec![false; view.len()];
    for &s in spans {
        let mut current = view.parent_of(s as usize);
        while let Some(p) = current {
            if marked[p] {
                break; // Its ancestors are marked already (this also stops cycles).
            }
            marked[p] = true;
            current = view.parent_of(p);
        }
    }
    marked
}

/// Does any ancestor of `i` belong to `set`?
fn has_ancestor_in(view: &TraceView<'_>, i: usize, set: &[bool]) -> bool {
    let mut current = view.parent_of(i);
    for _ in 0..view.len() {
        match current {
            Some(p) if set[p] => return true,
            Some(p) => current = view.parent_of(p),
            None => return false,
        }
    }
    false
}

fn parent_in(view: &TraceView<'_>, i: usize, set: &[bool]) -> bool {
    view.parent_of(i).is_some_and(|p| set[p])
}

/// Marks the parents of `spans`.
fn mark_parents(view: &TraceView<'_>, spans: &[u32]) -> Vec<bool> {
    let mut marked = vec![false; view.len()];
    for &s in spans {
        if let Some(p) = view.parent_of(s as usize) {
            marked[p] = true;
        }
    }
    marked
}

/// Counts spans of `spans` per sibling group.
fn sibling_counts<'a>(view: &TraceView<'a>, spans: &[u32]) -> HashMap<SiblingKey<'a>, u32> {
    let mut counts = HashMap::new();
    for &s in spans {
        *counts.entry(sibling_key(view, s as usize)).or_insert(0) += 1;
    }
    counts
}

/// Does span `i` have a sibling in the counted set (itself excluded)?
fn has_sibling_in(
    view: &TraceView<'_>,
    i: usize,
    counts: &HashMap<SiblingKey<'_>, u32>,
    member: &[bool],
) -> bool {
    let same_group = counts.get(&sibling_key(view, i)).copied().unwrap_or(0);
    same_group > u32::from(member[i])
}

/// Applies a structural operator to the left-hand and right-hand spans.
pub(crate) fn relate(view: &TraceView<'_>, op: SpansetOp, lhs: &[u32], rhs: &[u32]) -> Vec<u32> {
    if view.tree.is_none() || (lhs.is_empty() && rhs.is_empty()) {
        return Vec::new();
    }
    let n = view.len();
    let (in_lhs, in_rhs) = (membership(n, lhs), membership(n, rhs));
    let (in_lhs, in_rhs) = (&in_lhs[..], &in_rhs[..]);

    // Does right-hand span `r` relate to some left-hand span?
    let rhs_matches: Box<dyn Fn(usize) -> bool + '_> = match op {
        SpansetOp::Child | SpansetOp::NotChild | SpansetOp::UnionChild => {
            Box::new(|r| parent_in(view, r, in_lhs))
        }
        SpansetOp::Parent | SpansetOp::NotParent | SpansetOp::UnionParent => {
            let parents = mark_parents(view, lhs);
            Box::new(move |r| parents[r])
        }
        SpansetOp::Descendant | SpansetOp::NotDescendant | SpansetOp::UnionDescendant => {
            Box::new(|r| has_ancestor_in(view, r, in_lhs))
        }
        SpansetOp::Ancestor | SpansetOp::NotAncestor | SpansetOp::UnionAncestor => {
            let ancestors = mark_ancestors(view, lhs);
            Box::new(move |r| ancestors[r])
        }
        SpansetOp::Sibling | SpansetOp::NotSibling | SpansetOp::UnionSibling => {
            let counts = sibling_counts(view, lhs);
            Box::new(move |r| has_sibling_in(view, r, &counts, in_lhs))
        }
        SpansetOp::And | SpansetOp::Or => return Vec::new(),
    };

    if !op.is_union() {
        let negated = op.is_negated();
        return rhs
            .iter()
            .copied()
            .filter(|&r| rhs_matches(r as usize) != negated)
            .collect();
    }

    // Union forms: also the left-hand spans with a related right-hand span.
    let lhs_matches: Box<dyn Fn(usize) -> bool + '_> = match op {
        SpansetOp::UnionChild => {
            let parents = mark_parents(view, rhs);
            Box::new(move |l| parents[l])
        }
        SpansetOp::UnionParent => Box::new(|l| parent_in(view, l, in_rhs)),
        SpansetOp::UnionDescendant => {
            let ancestors = mark_ancestors(view, rhs);
            Box::new(move |l| ancestors[l])
        }
        SpansetOp::UnionAncestor => Box::new(|l| has_ancestor_in(view, l, in_rhs)),
        _ => {
            let counts = sibling_counts(view, rhs);
            Box::new(move |l| has_sibling_in(view, l, &counts, in_rhs))
        }
    };
    (0..n)
        .filter(|&i| (in_rhs[i] && rhs_matches(i)) || (in_lhs[i] && lhs_matches(i)))
        .filter_map(|i| u32::try_from(i).ok())
        .collect()
}
