//! Our own encoding, `spangate-blocks` (gateway/blocks): the same spans, the same five
//! queries and the same checks against the truth as the Parquet side
//! (`measure_parquet` in main.rs), through the crate's public API only.

use std::hint::black_box;
use std::io;

use anyhow::{Context, Result, ensure};
use bytes::Bytes;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use regex::bytes::Regex;
use spangate_blocks::{
    AttrCell, Block, BlockOptions, BlockWriter, ChunkMeta, Column, ReadAt, Section,
};

use crate::data::{self, BUCKET_NANOS, Dataset};
use crate::pq_read::{ErrorTraces, Rate};
use crate::pq_write::count_label;
use crate::{
    Measurements, Query, Timing, best_of, check_regex, check_trace, expected_errors, time_lookups,
};

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub chunk_spans: usize,
    pub zstd_level: i32,
}

impl Config {
    pub fn label(&self) -> String {
        format!(
            "spangate-blocks chunk={} zstd-{}",
            count_label(self.chunk_spans),
            self.zstd_level
        )
    }

    fn options(&self) -> BlockOptions {
        BlockOptions {
            chunk_spans: self.chunk_spans,
            zstd_level: self.zstd_level,
        }
    }
}

/// The file in memory, shared (cheap clone) like the Parquet side's `Bytes`, so `open` is
/// timed without copying the file. Reads copy the requested range, as `ReadAt` for
/// `Vec<u8>` does.
#[derive(Clone)]
pub struct Shared(Bytes);

impl ReadAt for Shared {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let bytes = start
            .checked_add(buf.len())
            .and_then(|end| self.0.get(start..end))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.len() as u64)
    }
}

type Opened = Block<Shared>;

// ---------------------------------------------------------------------------------------
// Writing.

/// The writer's input: the dataset's spans sorted by trace id, each trace handed to `sink`
/// as OTLP `ResourceSpans` (spans cloned from the dataset; each resource taken from a pool
/// and put back instead of cloned per trace; scopes cloned).
fn for_each_trace(
    data: &Dataset,
    mut sink: impl FnMut([u8; 16], &[ResourceSpans]) -> Result<()>,
) -> Result<()> {
    let spans = &data.spans;
    let mut order: Vec<u32> = (0..spans.len() as u32).collect();
    order.sort_unstable_by(|a, b| {
        spans[*a as usize]
            .span
            .trace_id
            .cmp(&spans[*b as usize].span.trace_id)
    });
    let mut pool: Vec<ResourceSpans> = data
        .resources
        .iter()
        .map(|resource| ResourceSpans {
            resource: Some(resource.clone()),
            ..ResourceSpans::default()
        })
        .collect();
    let mut trace: Vec<ResourceSpans> = Vec::new();
    // Per entry of `trace`: its resource index and the scope index of each ScopeSpans.
    let mut keys: Vec<(u32, Vec<u32>)> = Vec::new();
    let mut first = 0;
    while first < order.len() {
        let id = &spans[order[first] as usize].span.trace_id;
        let end = first
            + order[first..]
                .iter()
                .position(|&k| spans[k as usize].span.trace_id != *id)
                .unwrap_or(order.len() - first);
        for &k in &order[first..end] {
            let flat = &spans[k as usize];
            let group = match keys.iter().position(|(r, _)| *r == flat.resource) {
                Some(group) => group,
                None => {
                    trace.push(std::mem::take(&mut pool[flat.resource as usize]));
                    keys.push((flat.resource, Vec::new()));
                    trace.len() - 1
                }
            };
            let scopes = &mut keys[group].1;
            let scope_spans = &mut trace[group].scope_spans;
            let scope = match scopes.iter().position(|s| *s == flat.scope) {
                Some(scope) => scope,
                None => {
                    scope_spans.push(ScopeSpans {
                        scope: Some(data.scopes[flat.scope as usize].clone()),
                        ..ScopeSpans::default()
                    });
                    scopes.push(flat.scope);
                    scope_spans.len() - 1
                }
            };
            scope_spans[scope].spans.push(flat.span.clone());
        }
        let trace_id: [u8; 16] = id.as_slice().try_into().context("16-byte trace id")?;
        sink(trace_id, &trace)?;
        for (mut resource_spans, (resource, _)) in trace.drain(..).zip(keys.drain(..)) {
            resource_spans.scope_spans.clear();
            pool[resource as usize] = resource_spans;
        }
        first = end;
    }
    Ok(())
}

/// Dataset → block bytes: the conversion above and the writer, streamed trace by trace.
pub fn write(data: &Dataset, config: &Config) -> Result<Vec<u8>> {
    let mut writer = BlockWriter::new(Vec::new(), config.options())?;
    for_each_trace(data, |id, trace| Ok(writer.push_trace(id, trace)?))?;
    let (file, summary) = writer.finish()?;
    ensure!(
        summary.span_count == data.spans.len() as u64,
        "block holds {} spans",
        summary.span_count
    );
    Ok(file)
}

/// The conversion alone (sort, grouping, span clones), for the report.
pub fn convert_only(data: &Dataset) -> Result<usize> {
    let mut traces = 0;
    for_each_trace(data, |id, trace| {
        black_box((id, trace));
        traces += 1;
        Ok(())
    })?;
    Ok(traces)
}

/// Every trace, grouped as the writer takes them (built once, untimed).
pub fn grouped(data: &Dataset) -> Result<Vec<([u8; 16], Vec<ResourceSpans>)>> {
    let mut traces = Vec::new();
    for_each_trace(data, |id, trace| {
        traces.push((id, trace.to_vec()));
        Ok(())
    })?;
    Ok(traces)
}

/// The writer alone, on traces already grouped as `ResourceSpans`.
pub fn write_grouped(
    traces: &[([u8; 16], Vec<ResourceSpans>)],
    config: &Config,
) -> Result<Vec<u8>> {
    let mut writer = BlockWriter::new(Vec::new(), config.options())?;
    for (id, trace) in traces {
        writer.push_trace(*id, trace)?;
    }
    Ok(writer.finish()?.0)
}

pub fn open(file: &Bytes) -> Result<Opened> {
    Ok(Block::open(Shared(file.clone()))?)
}

// ---------------------------------------------------------------------------------------
// Sizes.

/// The 15 fixed columns, named like the Parquet column holding the same thing where there
/// is one.
const FIXED_COLUMNS: [(Column, &str); 15] = [
    (Column::TraceIds, "trace_id"),
    (Column::TraceSpans, "spans per trace (blocks)"),
    (Column::SpanIds, "span_id"),
    (Column::Parents, "parent as in-trace index (blocks)"),
    (Column::ParentIds, "parent_span_id"),
    (Column::Resources, "resource index (blocks)"),
    (Column::Scopes, "scope index (blocks)"),
    (Column::Names, "name"),
    (Column::Kinds, "kind"),
    (Column::Statuses, "status_code"),
    (Column::StatusMessages, "status_message"),
    (Column::Starts, "start_time_unix_nano"),
    (Column::Durations, "duration_nano"),
    (Column::Shapes, "attribute-key sequences (blocks)"),
    (
        Column::Rest,
        "rest (blocks: events, links, flags, trace state)",
    ),
];

/// Compressed bytes per column kind (summed over chunks), per attribute key, then the
/// block-wide sections and the footer (everything else: header, footer, trailer).
fn column_bytes(block: &Opened, file: &[u8]) -> Result<Vec<(String, u64)>> {
    let chunks = block.chunks();
    let mut out: Vec<(String, u64)> = FIXED_COLUMNS
        .iter()
        .map(|(column, name)| {
            let bytes = chunks
                .iter()
                .map(|c| u64::from(c.section(*column).len))
                .sum();
            (name.to_string(), bytes)
        })
        .collect();
    let mut attributes: Vec<(String, u64)> = Vec::new();
    for meta in chunks.iter().flat_map(|c| &c.attributes) {
        let name = format!("attr.{}", block.strings().get(meta.key)?);
        match attributes.iter_mut().find(|(n, _)| *n == name) {
            Some((_, bytes)) => *bytes += u64::from(meta.section.len),
            None => attributes.push((name, u64::from(meta.section.len))),
        }
    }
    attributes.sort_by(|a, b| b.1.cmp(&a.1));
    out.extend(attributes);
    let sections: u64 = out.iter().map(|(_, b)| b).sum();
    let [strings, resources, scopes] = block_sections(block, file)?;
    out.push(("(strings: block-wide dictionary)".into(), strings));
    out.push(("(resources table)".into(), resources));
    out.push(("(scopes table)".into(), scopes));
    let rest = (file.len() as u64)
        .checked_sub(sections + strings + resources + scopes)
        .context("sections larger than the file")?;
    out.push((
        "(footer: chunk stats + bloom; header, trailer)".into(),
        rest,
    ));
    Ok(out)
}

/// Compressed sizes of the strings, resources and scopes sections. Their `Section`s are in
/// the block's private footer, so they are found in the file: the writer writes them, one
/// zstd frame each and in that order, right after the last chunk section, and the footer
/// (`footer_len:u32 LE ‖ "SPGB"` at the end) follows them.
fn block_sections(block: &Opened, file: &[u8]) -> Result<[u64; 3]> {
    let chunks_end = block
        .chunks()
        .iter()
        .flat_map(all_sections)
        .map(|s| s.offset + u64::from(s.len))
        .max()
        .unwrap_or(5) as usize;
    let trailer = file.len().checked_sub(8).context("short file")?;
    let footer_len = u32::from_le_bytes(file[trailer..trailer + 4].try_into()?) as usize;
    let footer_start = trailer.checked_sub(footer_len).context("footer length")?;
    let mut position = chunks_end;
    let mut sizes = [0u64; 3];
    for size in &mut sizes {
        let frame = &file[position..footer_start];
        let len = zstd::zstd_safe::find_frame_compressed_size(frame)
            .map_err(|code| anyhow::anyhow!("not a zstd frame: {code}"))?;
        *size = len as u64;
        position += len;
    }
    ensure!(
        position == footer_start,
        "strings, resources and scopes do not fill the space before the footer"
    );
    Ok(sizes)
}

// ---------------------------------------------------------------------------------------
// (a) rate() by service: resources + (trace offsets →) starts → dense counts.

pub fn rate_by_service(block: &Opened) -> Result<Rate> {
    let mut services: Vec<String> = Vec::new();
    let service_of: Vec<usize> = block
        .resources()
        .iter()
        .map(|resource_spans| {
            let name = resource_spans
                .resource
                .as_ref()
                .map(data::service_name)
                .unwrap_or("");
            match services.iter().position(|s| s == name) {
                Some(id) => id,
                None => {
                    services.push(name.to_string());
                    services.len() - 1
                }
            }
        })
        .collect();
    let chunks = block.chunks();
    let first = block.min_start() / BUCKET_NANOS;
    let last = chunks.iter().map(|c| c.max_start).max().unwrap_or(0) / BUCKET_NANOS;
    let buckets = (last.max(first) - first + 1) as usize;
    let mut counts = vec![0u64; services.len() * buckets];
    for index in 0..chunks.len() {
        let chunk = block.chunk(index)?;
        let offsets = chunk.trace_offsets()?;
        let starts = chunk.starts(&offsets)?;
        let resources = chunk.resources()?;
        for (resource, start) in resources.iter().zip(&starts) {
            let bucket = (start / BUCKET_NANOS - first) as usize;
            counts[service_of[*resource as usize] * buckets + bucket] += 1;
        }
    }
    Ok(Rate {
        services,
        first_bucket: i32::try_from(first)?,
        buckets,
        counts,
    })
}

// ---------------------------------------------------------------------------------------
// (b) the name column: string ids, counted per id, distinct ones resolved to text.

pub fn names(block: &Opened) -> Result<(usize, usize)> {
    let strings = block.strings();
    // Indexed by string id, grown to the largest name id (names are interned early, so
    // their ids are small; the dictionary itself is mostly attribute values).
    let mut counts: Vec<u32> = Vec::new();
    let mut total = 0;
    for index in 0..block.chunks().len() {
        let names = block.chunk(index)?.names()?;
        total += names.len();
        for id in names {
            let id = id as usize;
            if id >= counts.len() {
                counts.resize(id + 1, 0);
            }
            counts[id] += 1;
        }
    }
    let mut distinct = Vec::new();
    for (id, count) in counts.iter().enumerate() {
        if *count > 0 {
            distinct.push(strings.get(id as u32)?);
        }
    }
    Ok((total, distinct.len()))
}

// ---------------------------------------------------------------------------------------
// (c) regex over a span attribute: once per distinct string id (memo over the block-wide
// dictionary), each chunk's attribute column decoded.

pub struct RegexFound {
    /// Matching rows (block-wide row numbers).
    pub rows: Vec<u32>,
    pub evaluations: u64,
    /// String values in the column.
    pub values: u64,
}

/// The key's string id, found among the chunks' attribute keys (a few dozen) instead of
/// `Strings::find`, whose first call builds a map of the whole dictionary.
fn attribute_key(block: &Opened, key: &str) -> Result<Option<u32>> {
    for chunk in block.chunks() {
        for attribute in &chunk.attributes {
            if block.strings().get(attribute.key)? == key {
                return Ok(Some(attribute.key));
            }
        }
    }
    Ok(None)
}

pub fn regex(block: &Opened, key: &str, regex: &Regex) -> Result<RegexFound> {
    let mut found = RegexFound {
        rows: Vec::new(),
        evaluations: 0,
        values: 0,
    };
    let Some(key) = attribute_key(block, key)? else {
        return Ok(found);
    };
    let strings = block.strings();
    // Per string id: 0 not evaluated yet, 1 matches, 2 does not.
    let mut memo = vec![0u8; strings.len()];
    let mut first_row = 0u32;
    for index in 0..block.chunks().len() {
        let chunk = block.chunk(index)?;
        if let Some(column) = chunk.attribute(key)? {
            for (row, cell) in column.rows.iter().zip(&column.values) {
                let AttrCell::Str(id) = cell else { continue };
                found.values += 1;
                let state = memo.get_mut(*id as usize).context("string id")?;
                if *state == 0 {
                    found.evaluations += 1;
                    *state = if regex.is_match(strings.get(*id)?.as_bytes()) {
                        1
                    } else {
                        2
                    };
                }
                if *state == 1 {
                    found.rows.push(first_row + row);
                }
            }
        }
        first_row += chunk.meta().span_count;
    }
    Ok(found)
}

// ---------------------------------------------------------------------------------------
// (d) one trace by id.

pub fn trace(block: &Opened, id: &[u8; 16]) -> Result<Vec<Span>> {
    Ok(block
        .trace(id)?
        .unwrap_or_default()
        .into_iter()
        .flat_map(|resource_spans| resource_spans.scope_spans)
        .flat_map(|scope_spans| scope_spans.spans)
        .collect())
}

/// What `Block::trace` does before decoding the chunk: bloom filter, the chunk whose
/// first/last trace ids bracket the id, its trace_ids column, a binary search. Returns the
/// chunk index and the trace's position in it.
pub fn locate(block: &Opened, id: &[u8; 16]) -> Result<Option<(usize, usize)>> {
    if !block.may_contain(id) {
        return Ok(None);
    }
    let chunks = block.chunks();
    let index = chunks.partition_point(|c| c.last_trace < *id);
    if chunks.get(index).is_none_or(|c| c.first_trace > *id) {
        return Ok(None);
    }
    let ids = block.chunk(index)?.trace_ids()?;
    Ok(ids.binary_search(id).ok().map(|position| (index, position)))
}

/// The other part of `Block::trace`: every column of the trace's chunk decoded.
pub fn decode_chunk_of(block: &Opened, id: &[u8; 16]) -> Result<usize> {
    let (index, _) = locate(block, id)?.context("trace not found")?;
    Ok(block.chunk(index)?.decode_all()?.span_ids.len())
}

/// The floor of a lookup that would decode only the trace's rows: locate, then every
/// section of the chunk decompressed and nothing decoded.
pub fn decompress_chunk_of(block: &Opened, id: &[u8; 16]) -> Result<usize> {
    let (index, _) = locate(block, id)?.context("trace not found")?;
    let meta = &block.chunks()[index];
    let mut bytes = 0;
    for section in all_sections(meta) {
        bytes += block.read_section(section)?.len();
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------
// (e) { status = error } | count() > 1: statuses, then trace offsets in chunks with errors.

const STATUS_ERROR: i32 = 2;

pub fn errors(block: &Opened) -> Result<ErrorTraces> {
    let mut result = ErrorTraces {
        traces: 0,
        error_spans: 0,
    };
    for index in 0..block.chunks().len() {
        let chunk = block.chunk(index)?;
        let statuses = chunk.statuses()?;
        let is_error = |s: &Option<spangate_blocks::StatusCell>| {
            s.is_some_and(|cell| cell.code == STATUS_ERROR)
        };
        if !statuses.iter().any(is_error) {
            continue;
        }
        for bounds in chunk.trace_offsets()?.windows(2) {
            let errors = statuses[bounds[0] as usize..bounds[1] as usize]
                .iter()
                .filter(|s| is_error(s))
                .count() as u64;
            if errors > 1 {
                result.traces += 1;
                result.error_spans += errors;
            }
        }
    }
    Ok(result)
}

/// What (e) could cost with a status-code-only reader: the `Statuses` section is one
/// byte per span here (every varint < 0x80), so error rows are the bytes equal to
/// `1 + zigzag(2)`; no `StatusMessages`, no `Option<StatusCell>` per span. Falls back to
/// `statuses()` for a chunk whose codes are not all one byte.
pub fn errors_byte_scan(block: &Opened) -> Result<ErrorTraces> {
    const ERROR_BYTE: u8 = 1 + ((STATUS_ERROR as u8) << 1);
    let mut result = ErrorTraces {
        traces: 0,
        error_spans: 0,
    };
    for (index, meta) in block.chunks().iter().enumerate() {
        let raw = block.read_section(meta.section(Column::Statuses))?;
        let chunk = block.chunk(index)?;
        let is_error: Vec<bool> = if raw.len() == meta.span_count as usize {
            raw.iter().map(|b| *b == ERROR_BYTE).collect()
        } else {
            let statuses = chunk.statuses()?;
            statuses
                .iter()
                .map(|s| s.is_some_and(|c| c.code == STATUS_ERROR))
                .collect()
        };
        if !is_error.contains(&true) {
            continue;
        }
        for bounds in chunk.trace_offsets()?.windows(2) {
            let errors = is_error[bounds[0] as usize..bounds[1] as usize]
                .iter()
                .filter(|e| **e)
                .count() as u64;
            if errors > 1 {
                result.traces += 1;
                result.error_spans += errors;
            }
        }
    }
    Ok(result)
}

// ---------------------------------------------------------------------------------------
// Components.

/// Decompresses the chosen section of every chunk (no decoding); returns the raw bytes.
fn decompress(block: &Opened, pick: impl Fn(&ChunkMeta) -> Vec<Section>) -> Result<usize> {
    let mut bytes = 0;
    for meta in block.chunks() {
        for section in pick(meta) {
            bytes += block.read_section(section)?.len();
        }
    }
    Ok(bytes)
}

/// Every section of a chunk: the 15 columns and the attribute columns.
fn all_sections(meta: &ChunkMeta) -> Vec<Section> {
    let mut all = meta.sections.to_vec();
    all.extend(meta.attributes.iter().map(|a| a.section));
    all
}

/// [`decompress`] as `Block::read_section` could do it (a prototype, to size that
/// suggestion): straight from the shared buffer (no copy of the compressed bytes), with
/// one zstd decompression context and one output buffer reused for every section
/// (`read_section` calls `zstd::bulk::decompress`, which makes a fresh context, and
/// allocates both buffers, per section).
fn decompress_reusing(
    block: &Opened,
    file: &Bytes,
    chunks: impl Iterator<Item = usize>,
) -> Result<usize> {
    let mut context = zstd::bulk::Decompressor::new()?;
    let mut out: Vec<u8> = Vec::new();
    let mut bytes = 0;
    for index in chunks {
        for section in all_sections(&block.chunks()[index]) {
            let start = section.offset as usize;
            let compressed = file
                .get(start..start + section.len as usize)
                .context("section outside the file")?;
            out.clear();
            out.reserve(section.raw_len as usize);
            bytes += context.decompress_to_buffer(compressed, &mut out)?;
        }
    }
    Ok(bytes)
}

/// Decodes one column of every chunk through its `ChunkReader` method; returns the rows.
fn decode<T>(
    block: &Opened,
    read: impl Fn(&spangate_blocks::ChunkReader<'_, Shared>) -> Result<Vec<T>>,
) -> Result<usize> {
    let mut rows = 0;
    for index in 0..block.chunks().len() {
        rows += read(&block.chunk(index)?)?.len();
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------
// The measurement, as `measure_parquet` does it.

pub fn measure(
    data: &Dataset,
    config: &Config,
    runs: usize,
    lookups: &[[u8; 16]],
) -> Result<Measurements> {
    let truth = &data.truth;
    let spans = data.spans.len();
    let (write_time, file) = best_of(runs, || write(data, config))?;
    let file = Bytes::from(file);
    let (open_time, block) = best_of(runs, || open(&file))?;
    ensure!(block.span_count() == spans as u64, "span count");
    let column_bytes = column_bytes(&block, &file)?;

    let mut results = Vec::new();
    let mut components = Vec::new();
    let chunk_spans: Vec<u32> = block.chunks().iter().map(|c| c.span_count).collect();
    let attribute_columns: usize = block.chunks().iter().map(|c| c.attributes.len()).sum();
    let mut notes = vec![format!(
        "{} chunks of {}–{} spans, {} attribute columns in all ({} on average per chunk), {} strings in the dictionary, {} resources, {} scopes",
        chunk_spans.len(),
        chunk_spans.iter().min().unwrap_or(&0),
        chunk_spans.iter().max().unwrap_or(&0),
        attribute_columns,
        attribute_columns / chunk_spans.len().max(1),
        block.strings().len(),
        block.resources().len(),
        block.scopes().len()
    )];

    // (a) rate by service
    let (t, rate) = best_of(runs, || rate_by_service(&block))?;
    ensure!(
        rate.to_map() == truth.rate_by_service,
        "rate (blocks) differs from the truth"
    );
    results.push((
        Query::RateByService,
        "resources + trace offsets + starts".to_string(),
        t,
    ));

    // (b) name column
    let (t, (total, distinct)) = best_of(runs, || names(&block))?;
    ensure!(
        total == spans && distinct == truth.distinct_names,
        "names (blocks)"
    );
    results.push((Query::NameColumn, "string ids".to_string(), t));

    // (c) regex
    let pattern = Regex::new(data::REGEX)?;
    let (t, found) = best_of(runs, || regex(&block, data::REGEX_ATTRIBUTE, &pattern))?;
    check_regex(truth, found.rows.len(), found.values)?;
    results.push((Query::Regex, "per distinct string id".to_string(), t));
    notes.push(format!(
        "regex per distinct string id: {} evaluations for {} values ({} matches)",
        found.evaluations,
        found.values,
        found.rows.len()
    ));

    // (d) trace by id — check every answer once, untimed.
    let mut decoded_spans = 0u64;
    for id in lookups {
        check_trace(truth, id, &trace(&block, id)?)?;
        let (index, _) = locate(&block, id)?.context("located")?;
        decoded_spans += u64::from(block.chunks()[index].span_count);
    }
    let t = time_lookups(runs, lookups, |id| Ok(trace(&block, id)?.len()))?;
    results.push((
        Query::TraceById,
        "bloom + chunk ids + whole chunk decoded".to_string(),
        t,
    ));
    let sections_per_chunk = 15 + attribute_columns / chunk_spans.len().max(1);
    notes.push(format!(
        "trace by id: per lookup one chunk of {:.0} spans decoded entirely (about {} sections decompressed) to return {:.0} spans",
        decoded_spans as f64 / lookups.len().max(1) as f64,
        sections_per_chunk,
        spans as f64 / truth.spans_per_trace.len().max(1) as f64
    ));

    // (e) errors per trace
    let (t, found) = best_of(runs, || errors(&block))?;
    let expected = expected_errors(truth);
    ensure!(
        found == expected,
        "errors (blocks) {found:?} vs {expected:?}"
    );
    results.push((
        Query::ErrorsPerTrace,
        "statuses + trace offsets".to_string(),
        t,
    ));

    // Components: where the time goes.
    let t = time_lookups(runs, lookups, |id| {
        Ok(usize::from(locate(&block, id)?.is_some()))
    })?;
    components.push((
        "blocks (d): locate (bloom, chunk first/last ids, trace_ids column), per lookup"
            .to_string(),
        t,
    ));
    let t = time_lookups(runs, lookups, |id| decode_chunk_of(&block, id))?;
    components.push((
        "blocks (d): locate + decode_all of the trace's chunk, per lookup".to_string(),
        t,
    ));
    let t = time_lookups(runs, lookups, |id| decompress_chunk_of(&block, id))?;
    components.push((
        "blocks (d) floor: locate + decompress every section of the trace's chunk, no decoding, per lookup".to_string(),
        t,
    ));
    let t = time_lookups(runs, lookups, |id| {
        let (index, _) = locate(&block, id)?.context("trace not found")?;
        decompress_reusing(&block, &file, index..index + 1)
    })?;
    components.push((
        "blocks (d) floor, prototype: locate + decompress the chunk's sections with one reused zstd context, per lookup".to_string(),
        t,
    ));
    let (t, found) = best_of(runs, || errors_byte_scan(&block))?;
    ensure!(
        found == expected,
        "errors (byte scan) {found:?} vs {expected:?}"
    );
    components.push((
        "blocks (e) with a code-only reader: Statuses bytes scanned for errors + trace offsets"
            .to_string(),
        t,
    ));
    let key = attribute_key(&block, data::REGEX_ATTRIBUTE)?.context("regex attribute")?;
    let timed: [(&str, Box<dyn Fn() -> Result<usize> + '_>); 11] = [
        (
            "blocks: resources column: decompress only",
            Box::new(|| decompress(&block, |c| vec![c.section(Column::Resources)])),
        ),
        (
            "blocks: resources column: decode",
            Box::new(|| decode(&block, |c| Ok(c.resources()?))),
        ),
        (
            "blocks: starts: decompress only (with spans per trace)",
            Box::new(|| {
                decompress(&block, |c| {
                    vec![c.section(Column::TraceSpans), c.section(Column::Starts)]
                })
            }),
        ),
        (
            "blocks: starts: decode (trace_offsets + starts)",
            Box::new(|| decode(&block, |c| Ok(c.starts(&c.trace_offsets()?)?))),
        ),
        (
            "blocks: names column: decode",
            Box::new(|| decode(&block, |c| Ok(c.names()?))),
        ),
        (
            "blocks: statuses: decode (codes + messages)",
            Box::new(|| decode(&block, |c| Ok(c.statuses()?))),
        ),
        (
            "blocks: trace_ids column: decode",
            Box::new(|| decode(&block, |c| Ok(c.trace_ids()?))),
        ),
        (
            "blocks: attr.http.target: decompress only",
            Box::new(|| {
                decompress(&block, |c| {
                    c.attribute(key).map(|a| a.section).into_iter().collect()
                })
            }),
        ),
        (
            "blocks: attr.http.target: decode (rows + AttrCell values)",
            Box::new(|| {
                decode(&block, |c| {
                    Ok(c.attribute(key)?.map(|a| a.values).unwrap_or_default())
                })
            }),
        ),
        (
            "blocks: every section of every chunk: decompress only (full-scan floor)",
            Box::new(|| decompress(&block, all_sections)),
        ),
        (
            "blocks, prototype: every section of every chunk decompressed with one reused zstd context, no copy",
            Box::new(|| decompress_reusing(&block, &file, 0..block.chunks().len())),
        ),
    ];
    for (name, f) in &timed {
        let (t, _) = best_of(runs, f)?;
        components.push((name.to_string(), t));
    }
    let (t, _) = best_of(runs, || {
        let block = open(&file)?;
        Ok(block.strings().find(data::REGEX_ATTRIBUTE))
    })?;
    components.push((
        "blocks: open + first Strings::find (builds the text → id map of the dictionary)"
            .to_string(),
        t,
    ));

    // Write, split: the conversion to per-trace ResourceSpans and the writer alone.
    let (convert, _) = best_of(runs, || convert_only(data))?;
    components.push((
        "blocks write: conversion only (sort by trace id, group as ResourceSpans, clone spans)"
            .to_string(),
        convert,
    ));
    let traces = grouped(data)?;
    let (writer_only, _) = best_of(runs, || write_grouped(&traces, config))?;
    drop(traces);
    components.push((
        "blocks write: BlockWriter only (traces already grouped as ResourceSpans)".to_string(),
        writer_only,
    ));
    let us = |t: Timing| t.cpu.as_secs_f64() * 1e6 / spans as f64;
    notes.push(format!(
        "write: {:.2} µs/span in all = conversion of the dataset's spans to per-trace ResourceSpans ({:.2} µs/span alone: sort by trace id, grouping, span clones) + BlockWriter ({:.2} µs/span alone, on pre-grouped traces)",
        us(write_time),
        us(convert),
        us(writer_only)
    ));

    Ok(Measurements {
        label: config.label(),
        spans,
        file_bytes: file.len() as u64,
        column_bytes,
        write: Some(write_time),
        open: Some(open_time),
        results,
        components,
        notes,
    })
}
