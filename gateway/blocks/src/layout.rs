//! The footer: where every section of a block lives and the statistics that let a
//! reader skip chunks without decompressing them.

use crate::BlockError;
use crate::bloom::Bloom;
use crate::varint::{self, Reader};

/// First and last bytes of every block file.
pub(crate) const MAGIC: &[u8; 4] = b"SPGB";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// `MAGIC ‖ version`.
pub(crate) const HEADER_LEN: usize = 5;
/// `footer_len:u32 LE ‖ MAGIC`.
pub(crate) const TRAILER_LEN: usize = 8;

/// One zstd frame in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Section {
    pub offset: u64,
    /// Compressed bytes.
    pub len: u32,
    /// Bytes once decompressed (checked on decompression).
    pub raw_len: u32,
}

/// The per-span and per-trace columns every chunk has, in footer order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// 16 bytes per trace.
    TraceIds,
    /// Spans per trace (varint).
    TraceSpans,
    /// 8 bytes per span.
    SpanIds,
    /// 0: no parent; 1: a parent outside the trace (next entry of `ParentIds`);
    /// k + 2: the span at index k of the same trace.
    Parents,
    /// 8 bytes per parent outside its trace.
    ParentIds,
    /// Index into the block's resources.
    Resources,
    /// Index into the block's scopes.
    Scopes,
    /// String id.
    Names,
    /// Zigzag of the OTLP kind number.
    Kinds,
    /// 0: no status; else 1 + zigzag of the status code.
    Statuses,
    /// String id, for spans with a status only.
    StatusMessages,
    /// First span of a trace: zigzag delta from the previous trace's first start; others:
    /// delta from the previous span's start (spans are sorted by start in a trace).
    Starts,
    /// Zigzag of `end - start` (wrapping), so any pair of u64 round-trips.
    Durations,
    /// The chunk's distinct attribute-key sequences, then a sequence id per span.
    Shapes,
    /// Per span: length ‖ protobuf `Span` holding only what no other column holds
    /// (trace state, flags, events, links, dropped counts).
    Rest,
}

impl Column {
    pub(crate) const ALL: [Column; 15] = [
        Column::TraceIds,
        Column::TraceSpans,
        Column::SpanIds,
        Column::Parents,
        Column::ParentIds,
        Column::Resources,
        Column::Scopes,
        Column::Names,
        Column::Kinds,
        Column::Statuses,
        Column::StatusMessages,
        Column::Starts,
        Column::Durations,
        Column::Shapes,
        Column::Rest,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A span attribute key's column in one chunk: one entry per occurrence, in row order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeColumnMeta {
    /// String id of the key.
    pub key: u32,
    pub section: Section,
    /// Entries (occurrences of the key).
    pub entries: u32,
    /// The distinct string values (string ids, sorted) when there are at most
    /// [`crate::writer::MAX_VALUE_SET`] of them and every value is a string; lets a
    /// reader skip the column for an equality it cannot satisfy.
    pub string_values: Option<Vec<u32>>,
}

/// Statistics and sections of one chunk: whole traces, at most about
/// `BlockOptions::chunk_spans` spans (a larger trace is a chunk of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkMeta {
    pub trace_count: u32,
    pub span_count: u32,
    pub first_trace: [u8; 16],
    pub last_trace: [u8; 16],
    pub min_start: u64,
    pub max_start: u64,
    pub max_end: u64,
    pub max_duration: u64,
    /// Distinct span names (string ids, sorted) when at most `MAX_VALUE_SET`.
    pub names: Option<Vec<u32>>,
    pub sections: [Section; 15],
    /// Sorted by key id.
    pub attributes: Vec<AttributeColumnMeta>,
}

impl ChunkMeta {
    pub fn section(&self, column: Column) -> Section {
        self.sections[column.index()]
    }

    pub fn attribute(&self, key: u32) -> Option<&AttributeColumnMeta> {
        self.attributes
            .binary_search_by_key(&key, |a| a.key)
            .ok()
            .map(|i| &self.attributes[i])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Footer {
    pub span_count: u64,
    pub trace_count: u64,
    pub min_start: u64,
    pub max_end: u64,
    pub strings: Section,
    pub resources: Section,
    pub scopes: Section,
    pub chunks: Vec<ChunkMeta>,
    pub bloom: Bloom,
}

fn put_section(out: &mut Vec<u8>, section: &Section) {
    varint::put(out, section.offset);
    varint::put(out, u64::from(section.len));
    varint::put(out, u64::from(section.raw_len));
}

fn get_section(reader: &mut Reader<'_>) -> Result<Section, BlockError> {
    let offset = reader.get()?;
    let len = u32::try_from(reader.get()?).map_err(|_| BlockError::Corrupt("section length"))?;
    let raw_len =
        u32::try_from(reader.get()?).map_err(|_| BlockError::Corrupt("section raw length"))?;
    Ok(Section {
        offset,
        len,
        raw_len,
    })
}

fn put_id_set(out: &mut Vec<u8>, set: &Option<Vec<u32>>) {
    match set {
        None => varint::put(out, 0),
        Some(ids) => {
            varint::put(out, ids.len() as u64 + 1);
            for id in ids {
                varint::put(out, u64::from(*id));
            }
        }
    }
}

fn get_id_set(reader: &mut Reader<'_>) -> Result<Option<Vec<u32>>, BlockError> {
    let len = reader.get_len(reader.remaining() + 1)?;
    if len == 0 {
        return Ok(None);
    }
    (0..len - 1)
        .map(|_| get_u32(reader))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn get_u32(reader: &mut Reader<'_>) -> Result<u32, BlockError> {
    u32::try_from(reader.get()?).map_err(|_| BlockError::Corrupt("value over 32 bits"))
}

impl Footer {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        varint::put(out, self.span_count);
        varint::put(out, self.trace_count);
        varint::put(out, self.min_start);
        varint::put(out, self.max_end);
        put_section(out, &self.strings);
        put_section(out, &self.resources);
        put_section(out, &self.scopes);
        varint::put(out, self.chunks.len() as u64);
        for chunk in &self.chunks {
            varint::put(out, u64::from(chunk.trace_count));
            varint::put(out, u64::from(chunk.span_count));
            out.extend_from_slice(&chunk.first_trace);
            out.extend_from_slice(&chunk.last_trace);
            varint::put(out, chunk.min_start);
            varint::put(out, chunk.max_start);
            varint::put(out, chunk.max_end);
            varint::put(out, chunk.max_duration);
            put_id_set(out, &chunk.names);
            for section in &chunk.sections {
                put_section(out, section);
            }
            varint::put(out, chunk.attributes.len() as u64);
            for attribute in &chunk.attributes {
                varint::put(out, u64::from(attribute.key));
                put_section(out, &attribute.section);
                varint::put(out, u64::from(attribute.entries));
                put_id_set(out, &attribute.string_values);
            }
        }
        self.bloom.encode(out);
    }

    pub(crate) fn decode(raw: &[u8]) -> Result<Footer, BlockError> {
        let mut reader = Reader::new(raw);
        let span_count = reader.get()?;
        let trace_count = reader.get()?;
        let min_start = reader.get()?;
        let max_end = reader.get()?;
        let strings = get_section(&mut reader)?;
        let resources = get_section(&mut reader)?;
        let scopes = get_section(&mut reader)?;
        let chunk_count = reader.get_len(raw.len())?;
        let mut chunks = Vec::with_capacity(chunk_count);
        for _ in 0..chunk_count {
            let trace_count = get_u32(&mut reader)?;
            let span_count = get_u32(&mut reader)?;
            let first_trace = reader.array::<16>()?;
            let last_trace = reader.array::<16>()?;
            let min_start = reader.get()?;
            let max_start = reader.get()?;
            let max_end = reader.get()?;
            let max_duration = reader.get()?;
            let names = get_id_set(&mut reader)?;
            let mut sections = [Section::default(); 15];
            for section in &mut sections {
                *section = get_section(&mut reader)?;
            }
            let attribute_count = reader.get_len(raw.len())?;
            let mut attributes = Vec::with_capacity(attribute_count);
            for _ in 0..attribute_count {
                attributes.push(AttributeColumnMeta {
                    key: get_u32(&mut reader)?,
                    section: get_section(&mut reader)?,
                    entries: get_u32(&mut reader)?,
                    string_values: get_id_set(&mut reader)?,
                });
            }
            if !attributes.windows(2).all(|w| w[0].key < w[1].key) {
                return Err(BlockError::Corrupt("attribute columns not sorted by key"));
            }
            chunks.push(ChunkMeta {
                trace_count,
                span_count,
                first_trace,
                last_trace,
                min_start,
                max_start,
                max_end,
                max_duration,
                names,
                sections,
                attributes,
            });
        }
        let bloom = Bloom::decode(&mut reader)?;
        Ok(Footer {
            span_count,
            trace_count,
            min_start,
            max_end,
            strings,
            resources,
            scopes,
            chunks,
            bloom,
        })
    }
}
