//! Decoding a chunk's columns, each on its own, so a query decompresses only the
//! columns it reads.

use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::BlockError;
use crate::varint::Reader;
use crate::writer::value_type;

/// A column must hold exactly its rows: bytes left over mean it does not belong here.
fn fully_read(reader: &Reader<'_>) -> Result<(), BlockError> {
    if reader.is_empty() {
        Ok(())
    } else {
        Err(BlockError::Corrupt("column longer than its row count"))
    }
}

fn get_u32(reader: &mut Reader<'_>) -> Result<u32, BlockError> {
    u32::try_from(reader.get()?).map_err(|_| BlockError::Corrupt("value over 32 bits"))
}

/// `count` fixed-width ids.
pub(crate) fn fixed<const N: usize>(raw: &[u8], count: usize) -> Result<Vec<[u8; N]>, BlockError> {
    if raw.len() != count * N {
        return Err(BlockError::Corrupt("fixed-width column size"));
    }
    Ok(raw
        .chunks_exact(N)
        .map(|c| {
            let mut id = [0u8; N];
            id.copy_from_slice(c);
            id
        })
        .collect())
}

/// `count` unsigned varints that fit 32 bits.
pub(crate) fn u32s(raw: &[u8], count: usize) -> Result<Vec<u32>, BlockError> {
    let mut reader = Reader::new(raw);
    let values = (0..count)
        .map(|_| get_u32(&mut reader))
        .collect::<Result<Vec<_>, _>>()?;
    fully_read(&reader)?;
    Ok(values)
}

/// Trace boundaries: `offsets[t]..offsets[t + 1]` are trace `t`'s rows.
pub(crate) fn trace_offsets(
    raw: &[u8],
    trace_count: usize,
    span_count: usize,
) -> Result<Vec<u32>, BlockError> {
    let mut offsets = Vec::with_capacity(trace_count + 1);
    offsets.push(0u32);
    let mut total = 0u32;
    for spans in u32s(raw, trace_count)? {
        total = total
            .checked_add(spans)
            .filter(|&t| t as usize <= span_count && spans > 0)
            .ok_or(BlockError::Corrupt("trace span counts"))?;
        offsets.push(total);
    }
    if total as usize != span_count {
        return Err(BlockError::Corrupt("trace span counts do not add up"));
    }
    Ok(offsets)
}

/// Zigzag varints that fit an `i32` (span kinds).
pub(crate) fn i32s(raw: &[u8], count: usize) -> Result<Vec<i32>, BlockError> {
    let mut reader = Reader::new(raw);
    let values = (0..count)
        .map(|_| {
            i32::try_from(reader.get_signed()?)
                .map_err(|_| BlockError::Corrupt("kind over 32 bits"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    fully_read(&reader)?;
    Ok(values)
}

/// Start times from their deltas.
pub(crate) fn starts(raw: &[u8], offsets: &[u32]) -> Result<Vec<u64>, BlockError> {
    let span_count = offsets.last().copied().unwrap_or(0) as usize;
    let mut reader = Reader::new(raw);
    let mut starts = Vec::with_capacity(span_count);
    let mut trace_start = 0u64;
    for bounds in offsets.windows(2) {
        let mut start = trace_start.wrapping_add(reader.get_signed()? as u64);
        trace_start = start;
        starts.push(start);
        for _ in bounds[0] + 1..bounds[1] {
            start = start
                .checked_add(reader.get()?)
                .ok_or(BlockError::Corrupt("start time overflows"))?;
            starts.push(start);
        }
    }
    fully_read(&reader)?;
    Ok(starts)
}

/// End times from starts and the durations column.
pub(crate) fn ends(raw: &[u8], starts: &[u64]) -> Result<Vec<u64>, BlockError> {
    let mut reader = Reader::new(raw);
    let ends = starts
        .iter()
        .map(|start| Ok(start.wrapping_add(reader.get_signed()? as u64)))
        .collect::<Result<Vec<_>, BlockError>>()?;
    fully_read(&reader)?;
    Ok(ends)
}

/// Durations (end − start, wrapping, as stored) without the starts.
pub(crate) fn durations(raw: &[u8], count: usize) -> Result<Vec<u64>, BlockError> {
    let mut reader = Reader::new(raw);
    let values = (0..count)
        .map(|_| Ok(reader.get_signed()? as u64))
        .collect::<Result<Vec<_>, BlockError>>()?;
    fully_read(&reader)?;
    Ok(values)
}

/// A span's status: the OTLP code and the message's string id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCell {
    pub code: i32,
    pub message: u32,
}

/// Status codes (`None`: the span has no status) and, for spans with one, messages.
pub(crate) fn statuses(
    codes: &[u8],
    messages: &[u8],
    count: usize,
) -> Result<Vec<Option<StatusCell>>, BlockError> {
    let mut codes = Reader::new(codes);
    let mut messages = Reader::new(messages);
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let raw = codes.get()?;
        if raw == 0 {
            out.push(None);
            continue;
        }
        let zigzag = raw - 1;
        let code = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        out.push(Some(StatusCell {
            code: i32::try_from(code).map_err(|_| BlockError::Corrupt("status code"))?,
            message: get_u32(&mut messages)?,
        }));
    }
    fully_read(&codes)?;
    fully_read(&messages)?;
    Ok(out)
}

/// Parent span ids, resolved: `None` for a span without a parent.
pub(crate) fn parents(
    raw: &[u8],
    external: &[u8],
    offsets: &[u32],
    span_ids: &[[u8; 8]],
) -> Result<Vec<Option<[u8; 8]>>, BlockError> {
    let mut reader = Reader::new(raw);
    let external = fixed::<8>(external, external.len() / 8)?;
    let mut next_external = external.iter();
    let mut out = Vec::with_capacity(span_ids.len());
    for bounds in offsets.windows(2) {
        let (first, last) = (bounds[0] as usize, bounds[1] as usize);
        for _ in first..last {
            let parent = match reader.get()? {
                0 => None,
                1 => Some(
                    *next_external
                        .next()
                        .ok_or(BlockError::Corrupt("missing external parent id"))?,
                ),
                k => {
                    let index = usize::try_from(k - 2)
                        .ok()
                        .map(|k| first + k)
                        .filter(|&i| i < last)
                        .ok_or(BlockError::Corrupt("parent index outside its trace"))?;
                    Some(span_ids[index])
                }
            };
            out.push(parent);
        }
    }
    fully_read(&reader)?;
    if next_external.next().is_some() {
        return Err(BlockError::Corrupt("unused external parent ids"));
    }
    Ok(out)
}

/// The chunk's attribute-key sequences and each span's sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shapes {
    /// Key string ids, in the order the span listed its attributes.
    pub table: Vec<Vec<u32>>,
    pub per_span: Vec<u32>,
}

pub(crate) fn shapes(raw: &[u8], count: usize) -> Result<Shapes, BlockError> {
    let mut reader = Reader::new(raw);
    let shape_count = reader.get_len(raw.len())?;
    let mut table = Vec::with_capacity(shape_count);
    for _ in 0..shape_count {
        let len = reader.get_len(raw.len())?;
        table.push(
            (0..len)
                .map(|_| get_u32(&mut reader))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let per_span = (0..count)
        .map(|_| {
            let id = get_u32(&mut reader)?;
            if (id as usize) < table.len() {
                Ok(id)
            } else {
                Err(BlockError::Corrupt("shape id out of range"))
            }
        })
        .collect::<Result<Vec<_>, BlockError>>()?;
    fully_read(&reader)?;
    Ok(Shapes { table, per_span })
}

/// The fields of each span no other column holds (events, links, trace state, flags,
/// dropped counts): the raw column and where each span's protobuf lies in it, decoded
/// only for the spans materialized ([`Rest::span`]).
#[derive(Debug, Clone, Default)]
pub struct Rest {
    raw: Vec<u8>,
    /// `(start, len)` in `raw` per span.
    ranges: Vec<(u32, u32)>,
}

impl Rest {
    /// Span `row`'s partial `Span` (default when it has none of these fields).
    pub fn span(&self, row: usize) -> Result<Span, BlockError> {
        let &(start, len) = self
            .ranges
            .get(row)
            .ok_or(BlockError::Corrupt("rest row out of range"))?;
        if len == 0 {
            return Ok(Span::default());
        }
        let bytes = self
            .raw
            .get(start as usize..start as usize + len as usize)
            .ok_or(BlockError::Corrupt("rest range"))?;
        Ok(Span::decode(bytes)?)
    }
}

pub(crate) fn rest(raw: Vec<u8>, count: usize) -> Result<Rest, BlockError> {
    let mut reader = Reader::new(&raw);
    let mut ranges = Vec::with_capacity(count);
    for _ in 0..count {
        let len = reader.get_len(raw.len())?;
        let start = raw.len() - reader.remaining();
        reader.bytes(len)?;
        ranges.push((start as u32, len as u32));
    }
    fully_read(&reader)?;
    Ok(Rest { raw, ranges })
}

/// One attribute value in an attribute column.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrCell {
    /// The `KeyValue` had no value.
    Absent,
    /// An `AnyValue` without a value.
    Empty,
    /// A string id.
    Str(u32),
    Bool(bool),
    Int(i64),
    Double(f64),
    /// Bytes, arrays, key-value lists.
    Other(AnyValue),
}

/// A span attribute key's entries in one chunk: the row of each occurrence (ascending)
/// and its value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeColumn {
    pub rows: Vec<u32>,
    pub values: Vec<AttrCell>,
}

pub(crate) fn attribute(raw: &[u8], span_count: u32) -> Result<AttributeColumn, BlockError> {
    let mut reader = Reader::new(raw);
    let entries = reader.get_len(raw.len())?;
    let rows_len = reader.get_len(raw.len())?;
    let mut row_reader = Reader::new(reader.bytes(rows_len)?);
    let types = reader.bytes(entries)?;
    let mut rows = Vec::with_capacity(entries);
    let mut row = 0u32;
    for i in 0..entries {
        let delta = get_u32(&mut row_reader)?;
        row = if i == 0 {
            delta
        } else {
            row.checked_add(delta)
                .ok_or(BlockError::Corrupt("attribute row"))?
        };
        if row >= span_count {
            return Err(BlockError::Corrupt("attribute row past the chunk"));
        }
        rows.push(row);
    }
    fully_read(&row_reader)?;
    let mut values = Vec::with_capacity(entries);
    for &value_type in types {
        values.push(match value_type {
            value_type::ABSENT => AttrCell::Absent,
            value_type::EMPTY => AttrCell::Empty,
            value_type::STRING => AttrCell::Str(get_u32(&mut reader)?),
            value_type::BOOL => AttrCell::Bool(reader.byte()? != 0),
            value_type::INT => AttrCell::Int(reader.get_signed()?),
            value_type::DOUBLE => {
                AttrCell::Double(f64::from_bits(u64::from_le_bytes(reader.array::<8>()?)))
            }
            value_type::OTHER => {
                let len = reader.get_len(raw.len())?;
                AttrCell::Other(AnyValue::decode(reader.bytes(len)?)?)
            }
            _ => return Err(BlockError::Corrupt("unknown attribute value type")),
        });
    }
    fully_read(&reader)?;
    Ok(AttributeColumn { rows, values })
}
