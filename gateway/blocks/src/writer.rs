//! Writes a block: traces pushed in trace-id order are cut into chunks of whole traces,
//! each chunk's columns compressed and written as they fill; the dictionary, resources,
//! scopes, bloom filter and footer follow at the end. Memory: one chunk's columns plus
//! the dictionary.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};
use prost::Message;

use crate::BlockError;
use crate::bloom::Bloom;
use crate::layout::{
    AttributeColumnMeta, ChunkMeta, Column, FORMAT_VERSION, Footer, MAGIC, Section,
};
use crate::strings::{self, StringsBuilder};
use crate::varint;

/// Distinct values a chunk lists in its statistics (span names, string values of an
/// attribute) before it stops listing them.
pub const MAX_VALUE_SET: usize = 64;

/// Attribute value types in attribute columns.
pub(crate) mod value_type {
    /// `KeyValue.value` absent.
    pub(crate) const ABSENT: u8 = 0;
    /// An `AnyValue` without a value.
    pub(crate) const EMPTY: u8 = 1;
    pub(crate) const STRING: u8 = 2;
    pub(crate) const BOOL: u8 = 3;
    pub(crate) const INT: u8 = 4;
    pub(crate) const DOUBLE: u8 = 5;
    /// Bytes, arrays, key-value lists: the `AnyValue` protobuf.
    pub(crate) const OTHER: u8 = 6;
}

#[derive(Debug, Clone, Copy)]
pub struct BlockOptions {
    /// Spans per chunk (whole traces; a larger trace is a chunk of its own). Smaller
    /// chunks make a trace-by-id read decompress less; larger ones compress better.
    pub chunk_spans: usize,
    /// zstd level of every section.
    pub zstd_level: i32,
}

impl Default for BlockOptions {
    fn default() -> Self {
        BlockOptions {
            chunk_spans: 8192,
            zstd_level: 3,
        }
    }
}

/// What a finished block holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSummary {
    pub span_count: u64,
    pub trace_count: u64,
    /// Earliest span start (0 for an empty block).
    pub min_start: u64,
    /// Latest span end.
    pub max_end: u64,
    /// Bytes written.
    pub bytes: u64,
}

#[derive(Default)]
struct AttributeBuffer {
    rows: Vec<u8>,
    types: Vec<u8>,
    values: Vec<u8>,
    entries: u32,
    last_row: u32,
}

#[derive(Default)]
struct ChunkBuffer {
    columns: [Vec<u8>; 15],
    trace_count: u32,
    span_count: u32,
    first_trace: [u8; 16],
    last_trace: [u8; 16],
    min_start: u64,
    max_start: u64,
    max_end: u64,
    max_duration: u64,
    previous_trace_start: u64,
    names: Option<BTreeSet<u32>>,
    attributes: HashMap<u32, AttributeBuffer>,
    shapes: HashMap<Vec<u32>, u32>,
    shape_list: Vec<Vec<u32>>,
    shape_ids: Vec<u8>,
}

impl ChunkBuffer {
    fn column(&mut self, column: Column) -> &mut Vec<u8> {
        &mut self.columns[column.index()]
    }
}

/// Interns resources and scopes by their encoded bytes.
#[derive(Default)]
struct Interned {
    ids: HashMap<Vec<u8>, u32>,
    entries: Vec<Vec<u8>>,
}

impl Interned {
    fn id(&mut self, encoded: Vec<u8>) -> u32 {
        if let Some(&id) = self.ids.get(&encoded) {
            return id;
        }
        let id = u32::try_from(self.entries.len()).expect("fewer than 2^32 resources per block");
        self.entries.push(encoded.clone());
        self.ids.insert(encoded, id);
        id
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        varint::put(&mut out, self.entries.len() as u64);
        for entry in &self.entries {
            varint::put(&mut out, entry.len() as u64);
            out.extend_from_slice(entry);
        }
        out
    }
}

/// A `ResourceSpans` / `ScopeSpans` without its repeated field 2: the resource or scope
/// (field 1) and the schema URL (field 3), encoded field by field (no trimmed clone).
/// The block's resource and scope tables and the hot tier's dictionary both hold this.
pub fn head_entry(head: Option<&impl Message>, schema_url: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(head) = head {
        prost::encoding::message::encode(1, head, &mut bytes);
    }
    if !schema_url.is_empty() {
        prost::encoding::encode_key(3, prost::encoding::WireType::LengthDelimited, &mut bytes);
        prost::encoding::encode_varint(schema_url.len() as u64, &mut bytes);
        bytes.extend_from_slice(schema_url.as_bytes());
    }
    bytes
}

/// One span while its trace is laid out.
struct Row<'a> {
    span: &'a Span,
    resource: u32,
    scope: u32,
}

pub struct BlockWriter<W: Write> {
    out: W,
    position: u64,
    options: BlockOptions,
    strings: StringsBuilder,
    resources: Interned,
    scopes: Interned,
    chunk: ChunkBuffer,
    chunks: Vec<ChunkMeta>,
    trace_ids: Vec<[u8; 16]>,
    span_count: u64,
    min_start: u64,
    max_end: u64,
}

impl<W: Write> BlockWriter<W> {
    pub fn new(mut out: W, options: BlockOptions) -> Result<Self, BlockError> {
        out.write_all(MAGIC)?;
        out.write_all(&[FORMAT_VERSION])?;
        Ok(BlockWriter {
            out,
            position: crate::layout::HEADER_LEN as u64,
            options,
            strings: StringsBuilder::default(),
            resources: Interned::default(),
            scopes: Interned::default(),
            chunk: ChunkBuffer::default(),
            chunks: Vec::new(),
            trace_ids: Vec::new(),
            span_count: 0,
            min_start: u64::MAX,
            max_end: 0,
        })
    }

    /// Adds one trace: every span of `trace` must carry `trace_id`, a span id of 8
    /// bytes and a parent id that is empty or 8 bytes. Traces must come in strictly
    /// increasing id order. A trace without spans is skipped.
    pub fn push_trace(
        &mut self,
        trace_id: [u8; 16],
        trace: &[ResourceSpans],
    ) -> Result<(), BlockError> {
        if self.trace_ids.last().is_some_and(|last| *last >= trace_id) {
            return Err(BlockError::Unordered);
        }
        let mut rows = Vec::new();
        for resource_spans in trace {
            let resource = self.resources.id(head_entry(
                resource_spans.resource.as_ref(),
                &resource_spans.schema_url,
            ));
            for scope_spans in &resource_spans.scope_spans {
                let scope = self.scopes.id(head_entry(
                    scope_spans.scope.as_ref(),
                    &scope_spans.schema_url,
                ));
                for span in &scope_spans.spans {
                    if span.trace_id != trace_id
                        || span.span_id.len() != 8
                        || !(span.parent_span_id.is_empty() || span.parent_span_id.len() == 8)
                    {
                        return Err(BlockError::InvalidSpan);
                    }
                    rows.push(Row {
                        span,
                        resource,
                        scope,
                    });
                }
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        // Tempo's trace order: start time, then span id.
        rows.sort_by(|a, b| {
            (a.span.start_time_unix_nano, &a.span.span_id)
                .cmp(&(b.span.start_time_unix_nano, &b.span.span_id))
        });
        let chunk_spans = self.chunk.span_count as usize;
        if chunk_spans > 0 && chunk_spans + rows.len() > self.options.chunk_spans {
            self.flush_chunk()?;
        }
        self.add_trace(trace_id, &rows);
        self.trace_ids.push(trace_id);
        Ok(())
    }

    fn add_trace(&mut self, trace_id: [u8; 16], rows: &[Row<'_>]) {
        let chunk = &mut self.chunk;
        if chunk.trace_count == 0 {
            chunk.first_trace = trace_id;
            chunk.min_start = u64::MAX;
            chunk.names = Some(BTreeSet::new());
        }
        chunk.last_trace = trace_id;
        chunk.trace_count += 1;
        chunk.column(Column::TraceIds).extend_from_slice(&trace_id);
        varint::put(chunk.column(Column::TraceSpans), rows.len() as u64);

        let positions: HashMap<&[u8], usize> = if rows.len() > 16 {
            rows.iter()
                .enumerate()
                .map(|(i, r)| (r.span.span_id.as_slice(), i))
                .collect()
        } else {
            HashMap::new()
        };
        let position_of = |id: &[u8]| -> Option<usize> {
            if rows.len() > 16 {
                positions.get(id).copied()
            } else {
                rows.iter().position(|r| r.span.span_id == id)
            }
        };

        let mut previous_start = 0;
        for (i, row) in rows.iter().enumerate() {
            let span = row.span;
            let row_index = chunk.span_count;
            chunk.span_count += 1;
            self.span_count += 1;
            let start = span.start_time_unix_nano;
            let end = span.end_time_unix_nano;
            chunk.min_start = chunk.min_start.min(start);
            chunk.max_start = chunk.max_start.max(start);
            chunk.max_end = chunk.max_end.max(end);
            chunk.max_duration = chunk.max_duration.max(end.saturating_sub(start));
            self.min_start = self.min_start.min(start);
            self.max_end = self.max_end.max(end);

            chunk
                .column(Column::SpanIds)
                .extend_from_slice(&span.span_id);
            if span.parent_span_id.is_empty() {
                varint::put(chunk.column(Column::Parents), 0);
            } else if let Some(parent) = position_of(&span.parent_span_id) {
                varint::put(chunk.column(Column::Parents), parent as u64 + 2);
            } else {
                varint::put(chunk.column(Column::Parents), 1);
                chunk
                    .column(Column::ParentIds)
                    .extend_from_slice(&span.parent_span_id);
            }
            varint::put(chunk.column(Column::Resources), u64::from(row.resource));
            varint::put(chunk.column(Column::Scopes), u64::from(row.scope));
            let name = self.strings.id(&span.name);
            varint::put(chunk.column(Column::Names), u64::from(name));
            if let Some(names) = &mut chunk.names {
                names.insert(name);
                if names.len() > MAX_VALUE_SET {
                    chunk.names = None;
                }
            }
            varint::put_signed(chunk.column(Column::Kinds), i64::from(span.kind));
            match &span.status {
                None => varint::put(chunk.column(Column::Statuses), 0),
                Some(status) => {
                    let code =
                        ((i64::from(status.code) << 1) ^ (i64::from(status.code) >> 63)) as u64;
                    varint::put(chunk.column(Column::Statuses), code + 1);
                    let message = self.strings.id(&status.message);
                    varint::put(chunk.column(Column::StatusMessages), u64::from(message));
                }
            }
            if i == 0 {
                let delta = start.wrapping_sub(chunk.previous_trace_start) as i64;
                varint::put_signed(chunk.column(Column::Starts), delta);
                chunk.previous_trace_start = start;
            } else {
                varint::put(chunk.column(Column::Starts), start - previous_start);
            }
            previous_start = start;
            varint::put_signed(
                chunk.column(Column::Durations),
                end.wrapping_sub(start) as i64,
            );

            let mut shape = Vec::with_capacity(span.attributes.len());
            for attribute in &span.attributes {
                let key = self.strings.id(&attribute.key);
                shape.push(key);
                let column = chunk.attributes.entry(key).or_default();
                let delta = if column.entries == 0 {
                    row_index
                } else {
                    row_index - column.last_row
                };
                varint::put(&mut column.rows, u64::from(delta));
                column.last_row = row_index;
                column.entries += 1;
                let value_type = encode_value(
                    attribute.value.as_ref(),
                    &mut self.strings,
                    &mut column.values,
                );
                column.types.push(value_type);
            }
            let shape_count = chunk.shape_list.len() as u32;
            let shape_id = *chunk
                .shapes
                .entry(shape.clone())
                .or_insert_with(|| shape_count);
            if shape_id == shape_count {
                chunk.shape_list.push(shape);
            }
            varint::put(&mut chunk.shape_ids, u64::from(shape_id));

            let rest = Span {
                trace_state: span.trace_state.clone(),
                flags: span.flags,
                dropped_attributes_count: span.dropped_attributes_count,
                events: span.events.clone(),
                dropped_events_count: span.dropped_events_count,
                links: span.links.clone(),
                dropped_links_count: span.dropped_links_count,
                ..Span::default()
            };
            let rest_column = chunk.column(Column::Rest);
            varint::put(rest_column, rest.encoded_len() as u64);
            rest.encode_raw(rest_column);
        }
    }

    fn write_section(&mut self, raw: &[u8]) -> Result<Section, BlockError> {
        let compressed = zstd::bulk::compress(raw, self.options.zstd_level)?;
        self.out.write_all(&compressed)?;
        let section = Section {
            offset: self.position,
            len: u32::try_from(compressed.len()).map_err(|_| BlockError::TooLarge)?,
            raw_len: u32::try_from(raw.len()).map_err(|_| BlockError::TooLarge)?,
        };
        self.position += compressed.len() as u64;
        Ok(section)
    }

    fn flush_chunk(&mut self) -> Result<(), BlockError> {
        if self.chunk.span_count == 0 {
            return Ok(());
        }
        let mut chunk = std::mem::take(&mut self.chunk);
        // Shapes: the table, then a shape id per span.
        let shapes = &mut chunk.columns[Column::Shapes.index()];
        varint::put(shapes, chunk.shape_list.len() as u64);
        for shape in &chunk.shape_list {
            varint::put(shapes, shape.len() as u64);
            for key in shape {
                varint::put(shapes, u64::from(*key));
            }
        }
        let shape_ids = std::mem::take(&mut chunk.shape_ids);
        chunk.column(Column::Shapes).extend_from_slice(&shape_ids);

        let mut sections = [Section::default(); 15];
        for column in Column::ALL {
            sections[column.index()] = self.write_section(&chunk.columns[column.index()])?;
        }
        let mut keys: Vec<u32> = chunk.attributes.keys().copied().collect();
        keys.sort_unstable();
        let mut attributes = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(column) = chunk.attributes.remove(&key) else {
                continue;
            };
            let string_values = string_value_set(&column);
            let mut raw = Vec::with_capacity(
                column.rows.len() + column.types.len() + column.values.len() + 12,
            );
            varint::put(&mut raw, u64::from(column.entries));
            varint::put(&mut raw, column.rows.len() as u64);
            raw.extend_from_slice(&column.rows);
            raw.extend_from_slice(&column.types);
            raw.extend_from_slice(&column.values);
            attributes.push(AttributeColumnMeta {
                key,
                section: self.write_section(&raw)?,
                entries: column.entries,
                string_values,
            });
        }
        self.chunks.push(ChunkMeta {
            trace_count: chunk.trace_count,
            span_count: chunk.span_count,
            first_trace: chunk.first_trace,
            last_trace: chunk.last_trace,
            min_start: chunk.min_start,
            max_start: chunk.max_start,
            max_end: chunk.max_end,
            max_duration: chunk.max_duration,
            names: chunk.names.map(|set| set.into_iter().collect()),
            sections,
            attributes,
        });
        Ok(())
    }

    /// Writes the last chunk, the dictionary, resources, scopes and footer.
    pub fn finish(mut self) -> Result<(W, BlockSummary), BlockError> {
        self.flush_chunk()?;
        let mut raw = Vec::new();
        strings::encode(self.strings.strings(), &mut raw);
        let strings = self.write_section(&raw)?;
        let resources = self.write_section(&self.resources.encode())?;
        let scopes = self.write_section(&self.scopes.encode())?;
        let mut bloom = Bloom::with_capacity(self.trace_ids.len());
        self.trace_ids.iter().for_each(|id| bloom.insert(id));
        let footer = Footer {
            span_count: self.span_count,
            trace_count: self.trace_ids.len() as u64,
            min_start: if self.span_count == 0 {
                0
            } else {
                self.min_start
            },
            max_end: self.max_end,
            strings,
            resources,
            scopes,
            chunks: std::mem::take(&mut self.chunks),
            bloom,
        };
        let mut encoded = Vec::new();
        footer.encode(&mut encoded);
        let footer_len = u32::try_from(encoded.len()).map_err(|_| BlockError::TooLarge)?;
        self.out.write_all(&encoded)?;
        self.out.write_all(&footer_len.to_le_bytes())?;
        self.out.write_all(MAGIC)?;
        self.out.flush()?;
        let bytes = self.position + encoded.len() as u64 + crate::layout::TRAILER_LEN as u64;
        Ok((
            self.out,
            BlockSummary {
                span_count: footer.span_count,
                trace_count: footer.trace_count,
                min_start: footer.min_start,
                max_end: footer.max_end,
                bytes,
            },
        ))
    }
}

/// The sorted distinct string ids of a column whose values are all strings, when few.
fn string_value_set(column: &AttributeBuffer) -> Option<Vec<u32>> {
    if column.types.iter().any(|t| *t != value_type::STRING) {
        return None;
    }
    let mut reader = varint::Reader::new(&column.values);
    let mut set = BTreeSet::new();
    while !reader.is_empty() {
        let id = u32::try_from(reader.get().ok()?).ok()?;
        set.insert(id);
        if set.len() > MAX_VALUE_SET {
            return None;
        }
    }
    Some(set.into_iter().collect())
}

/// Appends `value` to `out`; returns its type.
fn encode_value(value: Option<&AnyValue>, strings: &mut StringsBuilder, out: &mut Vec<u8>) -> u8 {
    let Some(value) = value else {
        return value_type::ABSENT;
    };
    match &value.value {
        None => value_type::EMPTY,
        Some(any_value::Value::StringValue(text)) => {
            varint::put(out, u64::from(strings.id(text)));
            value_type::STRING
        }
        Some(any_value::Value::BoolValue(flag)) => {
            out.push(u8::from(*flag));
            value_type::BOOL
        }
        Some(any_value::Value::IntValue(number)) => {
            varint::put_signed(out, *number);
            value_type::INT
        }
        Some(any_value::Value::DoubleValue(number)) => {
            out.extend_from_slice(&number.to_bits().to_le_bytes());
            value_type::DOUBLE
        }
        Some(_) => {
            varint::put(out, value.encoded_len() as u64);
            value.encode_raw(out);
            value_type::OTHER
        }
    }
}
