//! Reading a block: the footer, dictionary, resources and scopes once at open; chunk
//! columns on demand; whole traces by id or chunk by chunk.

use std::io;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

use crate::BlockError;
use crate::columns::{self, AttrCell, AttributeColumn, Rest, Shapes, StatusCell};
use crate::layout::{
    ChunkMeta, Column, FORMAT_VERSION, Footer, HEADER_LEN, MAGIC, Section, TRAILER_LEN,
};
use crate::strings::Strings;
use crate::varint::Reader;

/// Decompressed sections larger than this are refused as corrupt, before allocating.
const MAX_SECTION_BYTES: u32 = 1 << 30;

/// Where a block's bytes come from: a file, or memory (tests, uploads).
pub trait ReadAt {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
    fn size(&self) -> io::Result<u64>;
}

impl ReadAt for std::fs::File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl ReadAt for Vec<u8> {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let bytes = start
            .checked_add(buf.len())
            .and_then(|end| self.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
}

/// A trace id and the trace's spans as OTLP.
pub type TraceRows = ([u8; 16], Vec<ResourceSpans>);

/// An open block.
pub struct Block<R> {
    source: R,
    size: u64,
    footer: Footer,
    strings: Strings,
    resources: Vec<ResourceSpans>,
    scopes: Vec<ScopeSpans>,
}

fn entries<M: Message + Default>(raw: &[u8]) -> Result<Vec<M>, BlockError> {
    let mut reader = Reader::new(raw);
    let count = reader.get_len(raw.len())?;
    let list = (0..count)
        .map(|_| {
            let len = reader.get_len(raw.len())?;
            Ok(M::decode(reader.bytes(len)?)?)
        })
        .collect::<Result<Vec<_>, BlockError>>()?;
    if !reader.is_empty() {
        return Err(BlockError::Corrupt("bytes after the last entry"));
    }
    Ok(list)
}

impl<R: ReadAt> Block<R> {
    pub fn open(source: R) -> Result<Block<R>, BlockError> {
        let size = source.size()?;
        if size < (HEADER_LEN + TRAILER_LEN) as u64 {
            return Err(BlockError::Corrupt(
                "shorter than a block's header and trailer",
            ));
        }
        let mut header = [0u8; HEADER_LEN];
        source.read_exact_at(&mut header, 0)?;
        if &header[..4] != MAGIC {
            return Err(BlockError::Corrupt("not a block (bad magic)"));
        }
        if header[4] != FORMAT_VERSION {
            return Err(BlockError::Version {
                found: header[4],
                supported: FORMAT_VERSION,
            });
        }
        let mut trailer = [0u8; TRAILER_LEN];
        source.read_exact_at(&mut trailer, size - TRAILER_LEN as u64)?;
        if &trailer[4..] != MAGIC {
            return Err(BlockError::Corrupt("truncated block (bad trailing magic)"));
        }
        let footer_len = u64::from(u32::from_le_bytes([
            trailer[0], trailer[1], trailer[2], trailer[3],
        ]));
        let footer_start = (size - TRAILER_LEN as u64)
            .checked_sub(footer_len)
            .filter(|&start| start >= HEADER_LEN as u64)
            .ok_or(BlockError::Corrupt("footer length"))?;
        let mut raw_footer = vec![0u8; footer_len as usize];
        source.read_exact_at(&mut raw_footer, footer_start)?;
        let footer = Footer::decode(&raw_footer)?;
        let mut block = Block {
            source,
            size: footer_start,
            footer,
            strings: Strings::default(),
            resources: Vec::new(),
            scopes: Vec::new(),
        };
        block.strings = Strings::decode(&block.read_section(block.footer.strings)?)?;
        block.resources = entries(&block.read_section(block.footer.resources)?)?;
        block.scopes = entries(&block.read_section(block.footer.scopes)?)?;
        Ok(block)
    }

    pub fn span_count(&self) -> u64 {
        self.footer.span_count
    }

    pub fn trace_count(&self) -> u64 {
        self.footer.trace_count
    }

    /// Earliest span start.
    pub fn min_start(&self) -> u64 {
        self.footer.min_start
    }

    /// Latest span end.
    pub fn max_end(&self) -> u64 {
        self.footer.max_end
    }

    pub fn chunks(&self) -> &[ChunkMeta] {
        &self.footer.chunks
    }

    pub fn strings(&self) -> &Strings {
        &self.strings
    }

    /// The block's resources (each `ResourceSpans` without scopes), by index.
    pub fn resources(&self) -> &[ResourceSpans] {
        &self.resources
    }

    /// The block's scopes (each `ScopeSpans` without spans), by index.
    pub fn scopes(&self) -> &[ScopeSpans] {
        &self.scopes
    }

    /// False when the block certainly does not hold the trace.
    pub fn may_contain(&self, trace_id: &[u8; 16]) -> bool {
        self.footer.bloom.may_contain(trace_id)
    }

    /// A section, decompressed.
    pub fn read_section(&self, section: Section) -> Result<Vec<u8>, BlockError> {
        if section.raw_len > MAX_SECTION_BYTES
            || section
                .offset
                .checked_add(u64::from(section.len))
                .is_none_or(|end| end > self.size)
        {
            return Err(BlockError::Corrupt("section outside the block"));
        }
        if section.raw_len == 0 {
            return Ok(Vec::new());
        }
        let mut compressed = vec![0u8; section.len as usize];
        self.source.read_exact_at(&mut compressed, section.offset)?;
        let raw = zstd::bulk::decompress(&compressed, section.raw_len as usize)?;
        if raw.len() != section.raw_len as usize {
            return Err(BlockError::Corrupt(
                "section decompressed to the wrong size",
            ));
        }
        Ok(raw)
    }

    /// Column readers for chunk `index`.
    pub fn chunk(&self, index: usize) -> Result<ChunkReader<'_, R>, BlockError> {
        let meta = self
            .footer
            .chunks
            .get(index)
            .ok_or(BlockError::Corrupt("chunk index out of range"))?;
        Ok(ChunkReader { block: self, meta })
    }

    /// Every span of a trace, grouped as [`ChunkReader::traces`] groups them; `None`
    /// when the block does not hold it.
    pub fn trace(&self, trace_id: &[u8; 16]) -> Result<Option<Vec<ResourceSpans>>, BlockError> {
        if !self.may_contain(trace_id) {
            return Ok(None);
        }
        let chunks = &self.footer.chunks;
        let index = chunks.partition_point(|c| c.last_trace < *trace_id);
        let Some(meta) = chunks.get(index).filter(|c| c.first_trace <= *trace_id) else {
            return Ok(None);
        };
        let chunk = ChunkReader { block: self, meta };
        let ids = chunk.trace_ids()?;
        let Ok(position) = ids.binary_search(trace_id) else {
            return Ok(None);
        };
        let decoded = chunk.decode_all()?;
        Ok(Some(decoded.trace(self, position)?))
    }
}

/// The columns of one chunk, each decoded on request.
pub struct ChunkReader<'b, R> {
    block: &'b Block<R>,
    meta: &'b ChunkMeta,
}

impl<R: ReadAt> ChunkReader<'_, R> {
    pub fn meta(&self) -> &ChunkMeta {
        self.meta
    }

    fn raw(&self, column: Column) -> Result<Vec<u8>, BlockError> {
        self.block.read_section(self.meta.section(column))
    }

    fn spans(&self) -> usize {
        self.meta.span_count as usize
    }

    pub fn trace_ids(&self) -> Result<Vec<[u8; 16]>, BlockError> {
        columns::fixed::<16>(&self.raw(Column::TraceIds)?, self.meta.trace_count as usize)
    }

    /// `offsets[t]..offsets[t + 1]` are the rows of trace `t`.
    pub fn trace_offsets(&self) -> Result<Vec<u32>, BlockError> {
        columns::trace_offsets(
            &self.raw(Column::TraceSpans)?,
            self.meta.trace_count as usize,
            self.spans(),
        )
    }

    pub fn span_ids(&self) -> Result<Vec<[u8; 8]>, BlockError> {
        columns::fixed::<8>(&self.raw(Column::SpanIds)?, self.spans())
    }

    pub fn parents(
        &self,
        offsets: &[u32],
        span_ids: &[[u8; 8]],
    ) -> Result<Vec<Option<[u8; 8]>>, BlockError> {
        columns::parents(
            &self.raw(Column::Parents)?,
            &self.raw(Column::ParentIds)?,
            offsets,
            span_ids,
        )
    }

    /// Per span, its resource's index in [`Block::resources`].
    pub fn resources(&self) -> Result<Vec<u32>, BlockError> {
        let resources = columns::u32s(&self.raw(Column::Resources)?, self.spans())?;
        if resources
            .iter()
            .any(|&r| r as usize >= self.block.resources.len())
        {
            return Err(BlockError::Corrupt("resource index out of range"));
        }
        Ok(resources)
    }

    pub fn scopes(&self) -> Result<Vec<u32>, BlockError> {
        let scopes = columns::u32s(&self.raw(Column::Scopes)?, self.spans())?;
        if scopes
            .iter()
            .any(|&s| s as usize >= self.block.scopes.len())
        {
            return Err(BlockError::Corrupt("scope index out of range"));
        }
        Ok(scopes)
    }

    /// Span names as string ids.
    pub fn names(&self) -> Result<Vec<u32>, BlockError> {
        columns::u32s(&self.raw(Column::Names)?, self.spans())
    }

    pub fn kinds(&self) -> Result<Vec<i32>, BlockError> {
        columns::i32s(&self.raw(Column::Kinds)?, self.spans())
    }

    pub fn statuses(&self) -> Result<Vec<Option<StatusCell>>, BlockError> {
        columns::statuses(
            &self.raw(Column::Statuses)?,
            &self.raw(Column::StatusMessages)?,
            self.spans(),
        )
    }

    pub fn starts(&self, offsets: &[u32]) -> Result<Vec<u64>, BlockError> {
        columns::starts(&self.raw(Column::Starts)?, offsets)
    }

    /// `end - start` per span (wrapping, as stored).
    pub fn durations(&self) -> Result<Vec<u64>, BlockError> {
        columns::durations(&self.raw(Column::Durations)?, self.spans())
    }

    pub fn shapes(&self) -> Result<Shapes, BlockError> {
        columns::shapes(&self.raw(Column::Shapes)?, self.spans())
    }

    pub fn rest(&self) -> Result<Rest, BlockError> {
        columns::rest(self.raw(Column::Rest)?, self.spans())
    }

    /// The column of span attribute `key` (a string id); `None` when no span of the
    /// chunk has it.
    pub fn attribute(&self, key: u32) -> Result<Option<AttributeColumn>, BlockError> {
        let Some(meta) = self.meta.attribute(key) else {
            return Ok(None);
        };
        let column = columns::attribute(
            &self.block.read_section(meta.section)?,
            self.meta.span_count,
        )?;
        if column.rows.len() != meta.entries as usize {
            return Err(BlockError::Corrupt("attribute entry count"));
        }
        Ok(Some(column))
    }

    /// Every column, for materializing spans.
    pub fn decode_all(&self) -> Result<DecodedChunk, BlockError> {
        let offsets = self.trace_offsets()?;
        let span_ids = self.span_ids()?;
        let parents = self.parents(&offsets, &span_ids)?;
        let starts = self.starts(&offsets)?;
        let ends = columns::ends(&self.raw(Column::Durations)?, &starts)?;
        let mut attributes = Vec::with_capacity(self.meta.attributes.len());
        for meta in &self.meta.attributes {
            let column = self.attribute(meta.key)?.unwrap_or_default();
            attributes.push((meta.key, column));
        }
        Ok(DecodedChunk {
            trace_ids: self.trace_ids()?,
            offsets,
            span_ids,
            parents,
            resources: self.resources()?,
            scopes: self.scopes()?,
            names: self.names()?,
            kinds: self.kinds()?,
            statuses: self.statuses()?,
            starts,
            ends,
            shapes: self.shapes()?,
            rest: self.rest()?,
            attributes,
        })
    }

    /// Every trace of the chunk, materialized.
    pub fn traces(&self) -> Result<Vec<TraceRows>, BlockError> {
        let decoded = self.decode_all()?;
        (0..decoded.trace_ids.len())
            .map(|t| Ok((decoded.trace_ids[t], decoded.trace(self.block, t)?)))
            .collect()
    }
}

/// All columns of a chunk.
#[derive(Debug, Clone)]
pub struct DecodedChunk {
    pub trace_ids: Vec<[u8; 16]>,
    pub offsets: Vec<u32>,
    pub span_ids: Vec<[u8; 8]>,
    pub parents: Vec<Option<[u8; 8]>>,
    pub resources: Vec<u32>,
    pub scopes: Vec<u32>,
    pub names: Vec<u32>,
    pub kinds: Vec<i32>,
    pub statuses: Vec<Option<StatusCell>>,
    pub starts: Vec<u64>,
    pub ends: Vec<u64>,
    pub shapes: Shapes,
    pub rest: Rest,
    /// By key string id, sorted.
    pub attributes: Vec<(u32, AttributeColumn)>,
}

fn attribute_value(cell: &AttrCell, strings: &Strings) -> Result<Option<AnyValue>, BlockError> {
    let value = match cell {
        AttrCell::Absent => return Ok(None),
        AttrCell::Empty => None,
        AttrCell::Str(id) => Some(any_value::Value::StringValue(strings.get(*id)?.to_owned())),
        AttrCell::Bool(flag) => Some(any_value::Value::BoolValue(*flag)),
        AttrCell::Int(number) => Some(any_value::Value::IntValue(*number)),
        AttrCell::Double(number) => Some(any_value::Value::DoubleValue(*number)),
        AttrCell::Other(value) => return Ok(Some(value.clone())),
    };
    Ok(Some(AnyValue { value }))
}

impl DecodedChunk {
    /// Trace `t` as OTLP: spans in row order (start time, then span id), grouped under
    /// their resource and scope in order of first appearance.
    pub fn trace<R>(&self, block: &Block<R>, t: usize) -> Result<Vec<ResourceSpans>, BlockError> {
        let (first, last) = match (self.offsets.get(t), self.offsets.get(t + 1)) {
            (Some(&first), Some(&last)) => (first as usize, last as usize),
            _ => return Err(BlockError::Corrupt("trace index out of range")),
        };
        // Each attribute column's first entry at or after the trace's first row.
        let mut cursors: Vec<usize> = self
            .attributes
            .iter()
            .map(|(_, column)| column.rows.partition_point(|&r| (r as usize) < first))
            .collect();
        let mut groups: Vec<ResourceSpans> = Vec::new();
        let mut group_keys: Vec<(u32, Vec<u32>)> = Vec::new();
        for row in first..last {
            let span = self.span(block, row, &mut cursors)?;
            let (resource, scope) = (self.resources[row], self.scopes[row]);
            let group = match group_keys.iter().position(|(r, _)| *r == resource) {
                Some(index) => index,
                None => {
                    let mut resource_spans = block
                        .resources
                        .get(resource as usize)
                        .ok_or(BlockError::Corrupt("resource index out of range"))?
                        .clone();
                    resource_spans.scope_spans.clear();
                    groups.push(resource_spans);
                    group_keys.push((resource, Vec::new()));
                    groups.len() - 1
                }
            };
            let scopes = &mut group_keys[group].1;
            let scope_spans = &mut groups[group].scope_spans;
            match scopes.iter().position(|s| *s == scope) {
                Some(index) => scope_spans[index].spans.push(span),
                None => {
                    let mut entry = block
                        .scopes
                        .get(scope as usize)
                        .ok_or(BlockError::Corrupt("scope index out of range"))?
                        .clone();
                    entry.spans = vec![span];
                    scope_spans.push(entry);
                    scopes.push(scope);
                }
            }
        }
        Ok(groups)
    }

    fn span<R>(
        &self,
        block: &Block<R>,
        row: usize,
        cursors: &mut [usize],
    ) -> Result<Span, BlockError> {
        let trace = self.offsets.partition_point(|&o| (o as usize) <= row) - 1;
        let mut span = self.rest.span(row)?;
        span.trace_id = self.trace_ids[trace].to_vec();
        span.span_id = self.span_ids[row].to_vec();
        span.parent_span_id = self.parents[row].map(|p| p.to_vec()).unwrap_or_default();
        span.name = block.strings.get(self.names[row])?.to_owned();
        span.kind = self.kinds[row];
        span.start_time_unix_nano = self.starts[row];
        span.end_time_unix_nano = self.ends[row];
        span.status = match self.statuses[row] {
            None => None,
            Some(cell) => Some(Status {
                message: block.strings.get(cell.message)?.to_owned(),
                code: cell.code,
            }),
        };
        let shape = &self.shapes.table[self.shapes.per_span[row] as usize];
        span.attributes = Vec::with_capacity(shape.len());
        for &key in shape {
            let column_index = self
                .attributes
                .binary_search_by_key(&key, |(k, _)| *k)
                .map_err(|_| BlockError::Corrupt("shape names a key without a column"))?;
            let column = &self.attributes[column_index].1;
            let cursor = &mut cursors[column_index];
            if column.rows.get(*cursor) != Some(&(row as u32)) {
                return Err(BlockError::Corrupt(
                    "attribute column out of step with shapes",
                ));
            }
            let value = attribute_value(&column.values[*cursor], &block.strings)?;
            *cursor += 1;
            span.attributes.push(KeyValue {
                key: block.strings.get(key)?.to_owned(),
                value,
                ..KeyValue::default()
            });
        }
        Ok(span)
    }
}
