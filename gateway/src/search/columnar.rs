//! Span-level fields read straight from a block chunk's columns, with exactly the
//! values the TraceQL engine reads from a span (`Field::is_span_level`'s table), and
//! span predicates decided over them as row masks — once per distinct string or
//! resource where the value comes from a dictionary.

use std::collections::HashMap;

use spangate_blocks::{AttrCell, AttributeColumn, Block, ReadAt, StatusCell};
use spangate_traceql::ast::{AttributeScope, Field, Intrinsic};
use spangate_traceql::{FieldValue, Kind, SpanPredicate, Status};

use crate::model::AnyValue;
use crate::store::StoreError;

/// Whether [`ChunkFields`] reads `field`.
pub(super) fn supported(field: &Field) -> bool {
    match field {
        Field::Intrinsic(intrinsic) => matches!(
            intrinsic,
            Intrinsic::Name
                | Intrinsic::Status
                | Intrinsic::StatusMessage
                | Intrinsic::Kind
                | Intrinsic::Duration
        ),
        Field::Attribute(attribute) => matches!(
            attribute.scope,
            AttributeScope::Span | AttributeScope::Resource | AttributeScope::Unscoped
        ),
    }
}

/// A span attribute's column with, per row, the entry of its first occurrence.
struct SpanAttribute {
    column: AttributeColumn,
    first: Vec<u32>,
}

const NO_ENTRY: u32 = u32::MAX;

/// The decoded columns of one chunk that a query's fields need.
pub(super) struct ChunkFields<'b, R> {
    block: &'b Block<R>,
    pub(super) rows: usize,
    pub(super) trace_ids: Vec<[u8; 16]>,
    pub(super) offsets: Vec<u32>,
    pub(super) span_ids: Vec<[u8; 8]>,
    pub(super) starts: Vec<u64>,
    /// `end.saturating_sub(start)`, as the engine computes durations.
    pub(super) durations: Vec<u64>,
    names: Vec<u32>,
    statuses: Vec<Option<StatusCell>>,
    kinds: Vec<i32>,
    resources: Vec<u32>,
    span_attributes: HashMap<String, SpanAttribute>,
    /// Per resource attribute key, its value on each of the block's resources.
    resource_values: HashMap<String, Vec<FieldValue<'b>>>,
}

impl<'b, R: ReadAt> ChunkFields<'b, R> {
    /// Decodes chunk `index`'s start times, the columns `fields` read (all
    /// [`supported`]), and with `ids` its trace and span ids and durations (what a span
    /// observation carries besides its fields).
    pub(super) fn load(
        block: &'b Block<R>,
        index: usize,
        fields: &[&Field],
        ids: bool,
    ) -> Result<Self, StoreError> {
        let chunk = block.chunk(index)?;
        let offsets = chunk.trace_offsets()?;
        let starts = chunk.starts(&offsets)?;
        let needs = |wanted: fn(&Field) -> bool| fields.iter().any(|f| wanted(f));
        let durations = if ids || needs(|f| *f == Field::Intrinsic(Intrinsic::Duration)) {
            chunk
                .durations()?
                .iter()
                .zip(&starts)
                .map(|(&stored, &start)| start.wrapping_add(stored).saturating_sub(start))
                .collect()
        } else {
            Vec::new()
        };
        let mut loaded = ChunkFields {
            block,
            rows: chunk.meta().span_count as usize,
            trace_ids: if ids { chunk.trace_ids()? } else { Vec::new() },
            offsets,
            span_ids: if ids { chunk.span_ids()? } else { Vec::new() },
            starts,
            durations,
            names: if needs(|f| *f == Field::Intrinsic(Intrinsic::Name)) {
                chunk.names()?
            } else {
                Vec::new()
            },
            statuses: if needs(|f| {
                matches!(
                    f,
                    Field::Intrinsic(Intrinsic::Status | Intrinsic::StatusMessage)
                )
            }) {
                chunk.statuses()?
            } else {
                Vec::new()
            },
            kinds: if needs(|f| *f == Field::Intrinsic(Intrinsic::Kind)) {
                chunk.kinds()?
            } else {
                Vec::new()
            },
            resources: if needs(
                |f| matches!(f, Field::Attribute(a) if a.scope != AttributeScope::Span),
            ) {
                chunk.resources()?
            } else {
                Vec::new()
            },
            span_attributes: HashMap::new(),
            resource_values: HashMap::new(),
        };
        for field in fields {
            let Field::Attribute(attribute) = field else {
                continue;
            };
            let key = &attribute.name;
            if attribute.scope != AttributeScope::Resource
                && !loaded.span_attributes.contains_key(key)
            {
                let column = match block.strings().find(key) {
                    Some(id) => chunk.attribute(id)?.unwrap_or_default(),
                    None => AttributeColumn::default(),
                };
                let mut first = vec![NO_ENTRY; loaded.rows];
                for (entry, &row) in column.rows.iter().enumerate().rev() {
                    first[row as usize] = entry as u32;
                }
                loaded
                    .span_attributes
                    .insert(key.clone(), SpanAttribute { column, first });
            }
            if attribute.scope != AttributeScope::Span && !loaded.resource_values.contains_key(key)
            {
                let values = block
                    .resources()
                    .iter()
                    .map(|resource_spans| {
                        let attributes = resource_spans
                            .resource
                            .as_ref()
                            .map_or(&[][..], |r| &r.attributes[..]);
                        FieldValue::from_any(
                            attributes
                                .iter()
                                .find(|kv| kv.key == *key)
                                .and_then(|kv| kv.value.as_ref()),
                        )
                    })
                    .collect();
                loaded.resource_values.insert(key.clone(), values);
            }
        }
        Ok(loaded)
    }

    /// The first occurrence of span attribute `key` on `row`, if the row has one.
    fn span_cell(&self, key: &str, row: usize) -> Option<&AttrCell> {
        let attribute = self.span_attributes.get(key)?;
        let entry = *attribute.first.get(row)?;
        (entry != NO_ENTRY).then(|| &attribute.column.values[entry as usize])
    }

    fn cell_value<'s>(&'s self, cell: &'s AttrCell) -> FieldValue<'s> {
        match cell {
            AttrCell::Absent | AttrCell::Empty => FieldValue::Nil,
            AttrCell::Str(id) => self
                .block
                .strings()
                .get(*id)
                .map_or(FieldValue::Nil, FieldValue::Str),
            AttrCell::Bool(flag) => FieldValue::Bool(*flag),
            AttrCell::Int(number) => FieldValue::Int(*number),
            AttrCell::Double(number) => FieldValue::Float(*number),
            AttrCell::Other(value) => FieldValue::from_any(Some::<&AnyValue>(value)),
        }
    }

    fn resource_value(&self, key: &str, row: usize) -> FieldValue<'_> {
        let resource = self.resources.get(row).copied().unwrap_or(u32::MAX) as usize;
        self.resource_values
            .get(key)
            .and_then(|values| values.get(resource))
            .copied()
            .unwrap_or(FieldValue::Nil)
    }

    /// The value the engine reads for `field` on `row`.
    pub(super) fn value(&self, field: &Field, row: usize) -> FieldValue<'_> {
        match field {
            Field::Intrinsic(Intrinsic::Name) => self
                .names
                .get(row)
                .and_then(|&id| self.block.strings().get(id).ok())
                .map_or(FieldValue::Nil, FieldValue::Str),
            Field::Intrinsic(Intrinsic::Status) => FieldValue::Status(Status::from_otlp(
                self.statuses
                    .get(row)
                    .copied()
                    .flatten()
                    .map_or(0, |s| s.code),
            )),
            Field::Intrinsic(Intrinsic::StatusMessage) => {
                match self.statuses.get(row).copied().flatten() {
                    None => FieldValue::Str(""),
                    Some(status) => self
                        .block
                        .strings()
                        .get(status.message)
                        .map_or(FieldValue::Nil, FieldValue::Str),
                }
            }
            Field::Intrinsic(Intrinsic::Kind) => {
                FieldValue::Kind(Kind::from_otlp(self.kinds.get(row).copied().unwrap_or(0)))
            }
            Field::Intrinsic(Intrinsic::Duration) => {
                FieldValue::Duration(i64::try_from(self.durations[row]).unwrap_or(i64::MAX))
            }
            Field::Intrinsic(_) => FieldValue::Nil,
            Field::Attribute(attribute) => match attribute.scope {
                AttributeScope::Span => self
                    .span_cell(&attribute.name, row)
                    .map_or(FieldValue::Nil, |c| self.cell_value(c)),
                AttributeScope::Resource => self.resource_value(&attribute.name, row),
                // The span attribute when the span has the key with a value, else the
                // resource attribute (`resolve_unscoped`).
                AttributeScope::Unscoped => match self.span_cell(&attribute.name, row) {
                    Some(cell) if *cell != AttrCell::Absent => self.cell_value(cell),
                    _ => self.resource_value(&attribute.name, row),
                },
                _ => FieldValue::Nil,
            },
        }
    }

    /// A small code per row such that equal codes mean equal values of `field` (a
    /// dictionary id, resource index, status or kind), for deciding a condition once per
    /// code; `None` when the field has no such code.
    pub(super) fn code(&self, field: &Field, row: usize) -> Option<u64> {
        match field {
            Field::Intrinsic(Intrinsic::Name) => self.names.get(row).map(|&id| u64::from(id)),
            Field::Intrinsic(Intrinsic::Status) => Some(
                self.statuses
                    .get(row)
                    .copied()
                    .flatten()
                    .map_or(0, |s| s.code as u32 as u64),
            ),
            Field::Intrinsic(Intrinsic::Kind) => self.kinds.get(row).map(|&k| k as u32 as u64),
            Field::Attribute(attribute) if attribute.scope == AttributeScope::Resource => {
                self.resources.get(row).map(|&r| u64::from(r))
            }
            Field::Attribute(attribute) if attribute.scope == AttributeScope::Span => {
                match self.span_cell(&attribute.name, row) {
                    None | Some(AttrCell::Absent | AttrCell::Empty) => Some(u64::MAX),
                    Some(AttrCell::Str(id)) => Some(u64::from(*id)),
                    Some(_) => None,
                }
            }
            _ => None,
        }
    }

    /// The rows `predicate` holds on.
    pub(super) fn matching_rows(&self, predicate: &SpanPredicate) -> Vec<bool> {
        match predicate {
            SpanPredicate::True => vec![true; self.rows],
            SpanPredicate::False => vec![false; self.rows],
            SpanPredicate::And(parts) => {
                let mut rows = vec![true; self.rows];
                for part in parts {
                    let part_rows = self.matching_rows(part);
                    rows.iter_mut().zip(part_rows).for_each(|(a, b)| *a &= b);
                }
                rows
            }
            SpanPredicate::Or(parts) => {
                let mut rows = vec![false; self.rows];
                for part in parts {
                    let part_rows = self.matching_rows(part);
                    rows.iter_mut().zip(part_rows).for_each(|(a, b)| *a |= b);
                }
                rows
            }
            SpanPredicate::Not(inner) => {
                self.matching_rows(inner).into_iter().map(|b| !b).collect()
            }
            leaf => {
                let Some(field) = leaf.leaf_field() else {
                    return vec![false; self.rows];
                };
                let mut decided: HashMap<u64, bool> = HashMap::new();
                (0..self.rows)
                    .map(|row| match self.code(field, row) {
                        Some(code) => *decided.entry(code).or_insert_with(|| {
                            leaf.leaf_matches(self.value(field, row)).unwrap_or(false)
                        }),
                        None => leaf.leaf_matches(self.value(field, row)).unwrap_or(false),
                    })
                    .collect()
            }
        }
    }
}
