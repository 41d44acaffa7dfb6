//! The queries, over a Parquet file in memory, with the low-level `parquet` reader.

use std::collections::HashMap;

use anyhow::{Context, Result, bail, ensure};
use bytes::Bytes;
use opentelemetry_proto::tonic::{
    common::v1::{AnyValue, KeyValue, any_value::Value},
    trace::v1::{Span, Status},
};
use parquet::{
    basic::Encoding,
    bloom_filter::Sbbf,
    column::{
        page::{Page, PageReader},
        reader::{ColumnReader, ColumnReaderImpl, get_typed_column_reader},
    },
    data_type::{ByteArray, ByteArrayType, DataType, FixedLenByteArrayType, Int32Type},
    file::{
        page_index::column_index::ColumnIndexMetaData,
        reader::{FileReader, RowGroupReader},
        serialized_reader::{ReadOptionsBuilder, SerializedFileReader},
        statistics::Statistics,
    },
};
use prost::Message;
use regex::bytes::Regex;

use crate::pq_write::TRACE_ID_COLUMN;
use crate::rle::{DataPage, plain_byte_arrays};

/// A file opened for queries: footer, page indexes (column + offset index) and the trace_id
/// bloom filters parsed once, as a store would cache them.
pub struct Opened {
    pub reader: SerializedFileReader<Bytes>,
    blooms: Vec<Option<Sbbf>>,
    names: Vec<String>,
    optional: Vec<bool>,
}

pub fn open(file: &Bytes) -> Result<Opened> {
    let options = ReadOptionsBuilder::new().with_page_index().build();
    let reader = SerializedFileReader::new_with_options(file.clone(), options)?;
    let blooms = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|rg| Sbbf::read_from_column_chunk(rg.column(TRACE_ID_COLUMN), file))
        .collect::<parquet::errors::Result<Vec<_>>>()?;
    let schema = reader.metadata().file_metadata().schema_descr();
    let names = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let optional = schema
        .columns()
        .iter()
        .map(|c| c.max_def_level() > 0)
        .collect();
    Ok(Opened {
        reader,
        blooms,
        names,
        optional,
    })
}

impl Opened {
    pub fn column(&self, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .with_context(|| format!("no column {name}"))
    }

    fn row_groups(&self) -> usize {
        self.reader.num_row_groups()
    }

    /// Size of the bloom filters held in memory.
    pub fn bloom_bytes(&self) -> usize {
        self.blooms
            .iter()
            .flatten()
            .map(|b| {
                let mut out = Vec::new();
                b.write_bitset(&mut out).map(|_| out.len()).unwrap_or(0)
            })
            .sum()
    }
}

/// Reads `count` records after skipping `start` of one column of a row group (levels into
/// `defs` for optional columns).
fn read_range<T: DataType>(
    mut reader: ColumnReaderImpl<T>,
    start: usize,
    count: usize,
    defs: &mut Vec<i16>,
) -> Result<Vec<T::T>> {
    if start > 0 {
        let skipped = reader.skip_records(start)?;
        ensure!(skipped == start, "skipped {skipped} of {start}");
    }
    let mut values = Vec::with_capacity(count);
    let mut read = 0;
    while read < count {
        let (records, _, _) = reader.read_records(count - read, Some(defs), None, &mut values)?;
        if records == 0 {
            break;
        }
        read += records;
    }
    ensure!(read == count, "read {read} of {count} records");
    Ok(values)
}

fn typed<T: DataType>(rg: &dyn RowGroupReader, column: usize) -> Result<ColumnReaderImpl<T>> {
    Ok(get_typed_column_reader::<T>(rg.get_column_reader(column)?))
}

fn rows(rg: &dyn RowGroupReader) -> usize {
    rg.metadata().num_rows() as usize
}

fn int32_range(stats: Option<&Statistics>) -> Option<(i32, i32)> {
    match stats? {
        Statistics::Int32(s) => Some((*s.min_opt()?, *s.max_opt()?)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// (a) rate() by service: service_name + start_rounded_15s → counts per (service, bucket).

/// Dense counts: `counts[service * buckets + (bucket - first_bucket)]`.
pub struct Rate {
    pub services: Vec<String>,
    pub first_bucket: i32,
    pub buckets: usize,
    pub counts: Vec<u64>,
}

impl Rate {
    pub fn to_map(&self) -> HashMap<(String, i64), u64> {
        let mut map = HashMap::new();
        for (s, service) in self.services.iter().enumerate() {
            for b in 0..self.buckets {
                let count = self.counts[s * self.buckets + b];
                if count > 0 {
                    map.insert(
                        (service.clone(), i64::from(self.first_bucket) + b as i64),
                        count,
                    );
                }
            }
        }
        map
    }

    fn new(o: &Opened, bucket_col: usize) -> Result<Rate> {
        let metadata = o.reader.metadata();
        let mut low = i32::MAX;
        let mut high = i32::MIN;
        for rg in metadata.row_groups() {
            let (min, max) =
                int32_range(rg.column(bucket_col).statistics()).context("bucket stats")?;
            low = low.min(min);
            high = high.max(max);
        }
        Ok(Rate {
            services: Vec::new(),
            first_bucket: low,
            buckets: (high - low + 1) as usize,
            counts: Vec::new(),
        })
    }

    fn service_id(&mut self, name: &[u8]) -> usize {
        if let Some(id) = self.services.iter().position(|s| s.as_bytes() == name) {
            return id;
        }
        self.services
            .push(String::from_utf8_lossy(name).into_owned());
        self.counts.resize(self.services.len() * self.buckets, 0);
        self.services.len() - 1
    }
}

/// Through the typed column reader: every service_name value is materialised as a
/// `ByteArray` and mapped to a service number (last-value cache, then a scan of the names).
pub fn rate_by_service_typed(o: &Opened) -> Result<Rate> {
    let service_col = o.column("service_name")?;
    let bucket_col = o.column("start_rounded_15s")?;
    let mut rate = Rate::new(o, bucket_col)?;
    let mut defs = Vec::new();
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let n = rows(&*rg);
        let services: Vec<ByteArray> =
            read_range(typed::<ByteArrayType>(&*rg, service_col)?, 0, n, &mut defs)?;
        let buckets: Vec<i32> = read_range(typed::<Int32Type>(&*rg, bucket_col)?, 0, n, &mut defs)?;
        let mut last: Option<(&[u8], usize)> = None;
        for (service, bucket) in services.iter().zip(&buckets) {
            let name = service.data();
            let id = match last {
                Some((last_name, id)) if last_name == name => id,
                _ => {
                    let id = rate.service_id(name);
                    last = Some((name, id));
                    id
                }
            };
            rate.counts[id * rate.buckets + (bucket - rate.first_bucket) as usize] += 1;
        }
    }
    Ok(rate)
}

/// Dictionary indices straight from the pages (own RLE decoder): the dictionary page's
/// entries are mapped to service numbers once per row group, then each row costs an index.
pub fn rate_by_service_dict(o: &Opened) -> Result<Rate> {
    let service_col = o.column("service_name")?;
    let bucket_col = o.column("start_rounded_15s")?;
    let mut rate = Rate::new(o, bucket_col)?;
    let mut defs = Vec::new();
    let mut ids: Vec<u32> = Vec::new();
    let mut indices: Vec<u32> = Vec::new();
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let n = rows(&*rg);
        let buckets: Vec<i32> = read_range(typed::<Int32Type>(&*rg, bucket_col)?, 0, n, &mut defs)?;
        let mut pages = rg.get_column_page_reader(service_col)?;
        let mut dictionary: Vec<u32> = Vec::new();
        ids.clear();
        while let Some(page) = pages.get_next_page()? {
            match &page {
                Page::DictionaryPage { buf, .. } => {
                    dictionary = plain_byte_arrays(buf)
                        .map(|name| rate.service_id(name) as u32)
                        .collect();
                }
                _ => {
                    let data = DataPage::split(&page, false)?;
                    if data.encoding == Encoding::PLAIN {
                        ids.extend(
                            plain_byte_arrays(data.values).map(|name| rate.service_id(name) as u32),
                        );
                    } else {
                        indices.clear();
                        data.dictionary_indices(&mut indices)?;
                        ids.extend(indices.iter().map(|i| dictionary[*i as usize]));
                    }
                }
            }
        }
        ensure!(ids.len() == n, "service ids {} of {n}", ids.len());
        let width = rate.buckets;
        let first = rate.first_bucket;
        let counts = &mut rate.counts;
        for (id, bucket) in ids.iter().zip(&buckets) {
            counts[*id as usize * width + (bucket - first) as usize] += 1;
        }
    }
    Ok(rate)
}

// ---------------------------------------------------------------------------------------
// (b) the name column.

/// Every name materialised through the typed reader; returns the distinct count (by a last
/// value cache + hash set of the distinct ones, so the values are really looked at).
pub fn name_typed(o: &Opened) -> Result<(usize, usize)> {
    let col = o.column("name")?;
    let mut defs = Vec::new();
    let mut distinct: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    let mut total = 0;
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let n = rows(&*rg);
        let names: Vec<ByteArray> =
            read_range(typed::<ByteArrayType>(&*rg, col)?, 0, n, &mut defs)?;
        let mut last: &[u8] = &[];
        for name in &names {
            total += 1;
            if name.data() != last {
                last = name.data();
                if !distinct.contains(last) {
                    distinct.insert(last.to_vec());
                }
            }
        }
    }
    Ok((total, distinct.len()))
}

/// Names as dictionary indices (own RLE decoder), counted per distinct value.
pub fn name_dict(o: &Opened) -> Result<(usize, usize)> {
    let col = o.column("name")?;
    let mut distinct: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut indices = Vec::new();
    let mut total = 0;
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let mut pages = rg.get_column_page_reader(col)?;
        let mut dictionary: Vec<Vec<u8>> = Vec::new();
        let mut counts: Vec<u64> = Vec::new();
        while let Some(page) = pages.get_next_page()? {
            match &page {
                Page::DictionaryPage { buf, .. } => {
                    dictionary = plain_byte_arrays(buf).map(<[u8]>::to_vec).collect();
                    counts = vec![0; dictionary.len()];
                }
                _ => {
                    let data = DataPage::split(&page, false)?;
                    if data.encoding == Encoding::PLAIN {
                        for value in plain_byte_arrays(data.values) {
                            *distinct.entry(value.to_vec()).or_insert(0) += 1;
                            total += 1;
                        }
                    } else {
                        indices.clear();
                        data.dictionary_indices(&mut indices)?;
                        total += indices.len();
                        for i in &indices {
                            counts[*i as usize] += 1;
                        }
                    }
                }
            }
        }
        for (value, count) in dictionary.into_iter().zip(counts) {
            if count > 0 {
                *distinct.entry(value).or_insert(0) += count;
            }
        }
    }
    Ok((total, distinct.len()))
}

// ---------------------------------------------------------------------------------------
// (c) regex over an unindexed high-cardinality string attribute.

#[derive(Default)]
pub struct RegexResult {
    /// Matching rows (file-wide row numbers).
    pub rows: Vec<u32>,
    /// Regex evaluations made.
    pub evaluations: u64,
    /// Non-null values in the column.
    pub values: u64,
    /// Data pages that were dictionary encoded / PLAIN (dictionary fell back).
    pub dict_pages: u32,
    pub plain_pages: u32,
}

/// Once per dictionary entry when the page is dictionary encoded, per value on PLAIN
/// (fallback) pages; definition levels map values back to rows.
pub fn regex_per_distinct(o: &Opened, column: &str, regex: &Regex) -> Result<RegexResult> {
    let col = o.column(column)?;
    let optional = o.optional[col];
    let mut result = RegexResult::default();
    let mut indices = Vec::new();
    let mut first_row = 0u32;
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let mut pages = rg.get_column_page_reader(col)?;
        let mut matches: Vec<bool> = Vec::new();
        let mut row = first_row;
        while let Some(page) = pages.get_next_page()? {
            match &page {
                Page::DictionaryPage { buf, .. } => {
                    matches = plain_byte_arrays(buf).map(|v| regex.is_match(v)).collect();
                    result.evaluations += matches.len() as u64;
                }
                _ => {
                    let data = DataPage::split(&page, optional)?;
                    let plain = data.encoding == Encoding::PLAIN;
                    // Match flags of the page's non-null values, in order.
                    let hits: Vec<bool> = if plain {
                        result.plain_pages += 1;
                        let hits: Vec<bool> = plain_byte_arrays(data.values)
                            .map(|v| regex.is_match(v))
                            .collect();
                        result.evaluations += hits.len() as u64;
                        hits
                    } else {
                        result.dict_pages += 1;
                        indices.clear();
                        data.dictionary_indices(&mut indices)?;
                        indices.iter().map(|i| matches[*i as usize]).collect()
                    };
                    result.values += hits.len() as u64;
                    match &data.defs {
                        None => {
                            for (k, hit) in hits.iter().enumerate() {
                                if *hit {
                                    result.rows.push(row + k as u32);
                                }
                            }
                        }
                        Some(defs) => {
                            let mut value = 0;
                            for (k, def) in defs.iter().enumerate() {
                                if *def != 0 {
                                    if hits[value] {
                                        result.rows.push(row + k as u32);
                                    }
                                    value += 1;
                                }
                            }
                        }
                    }
                    row += data.num_levels as u32;
                }
            }
        }
        first_row += rows(&*rg) as u32;
        ensure!(row == first_row, "pages cover {row} of {first_row} rows");
    }
    Ok(result)
}

/// Every value materialised by the typed reader, regex on each.
pub fn regex_per_value(o: &Opened, column: &str, regex: &Regex) -> Result<RegexResult> {
    let col = o.column(column)?;
    let mut result = RegexResult::default();
    let mut first_row = 0u32;
    let mut defs = Vec::new();
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let n = rows(&*rg);
        defs.clear();
        let values: Vec<ByteArray> =
            read_range(typed::<ByteArrayType>(&*rg, col)?, 0, n, &mut defs)?;
        let mut value = 0;
        for (k, def) in defs.iter().enumerate() {
            if *def != 0 {
                if regex.is_match(values[value].data()) {
                    result.rows.push(first_row + k as u32);
                }
                value += 1;
            }
        }
        result.evaluations += values.len() as u64;
        result.values += values.len() as u64;
        first_row += n as u32;
    }
    Ok(result)
}

// ---------------------------------------------------------------------------------------
// (d) one trace by id.

#[derive(Default, Debug, Clone, Copy)]
pub struct LookupStats {
    pub row_groups_by_stats: u64,
    pub row_groups_by_bloom: u64,
    pub bloom_false_positives: u64,
    pub rows_scanned_for_id: u64,
}

/// Row-group statistics on trace_id, then its bloom filter, then the page index (column
/// index min/max per page + offset index first rows) to find the candidate rows; trace_id
/// is read there to find the trace's rows, then every column is read for just those rows
/// (`skip_records` skips whole pages without decompressing them) and the spans rebuilt.
pub fn trace_by_id(o: &Opened, id: &[u8; 16], stats: &mut LookupStats) -> Result<Vec<Span>> {
    trace_by_id_impl(o, id, stats, false).map(|(spans, _)| spans)
}

/// Only finds the trace's rows (statistics, bloom, page index, trace_id pages): the first
/// half of [`trace_by_id`]; returns the number of rows.
pub fn locate_trace(o: &Opened, id: &[u8; 16], stats: &mut LookupStats) -> Result<usize> {
    trace_by_id_impl(o, id, stats, true).map(|(_, rows)| rows)
}

fn trace_by_id_impl(
    o: &Opened,
    id: &[u8; 16],
    stats: &mut LookupStats,
    locate_only: bool,
) -> Result<(Vec<Span>, usize)> {
    let mut found = 0;
    let metadata = o.reader.metadata();
    let mut spans = Vec::new();
    for (rg_index, rg_meta) in metadata.row_groups().iter().enumerate() {
        if let Some(Statistics::FixedLenByteArray(s)) = rg_meta.column(TRACE_ID_COLUMN).statistics()
        {
            if let (Some(min), Some(max)) = (s.min_bytes_opt(), s.max_bytes_opt()) {
                if id.as_slice() < min || id.as_slice() > max {
                    continue;
                }
            }
        }
        stats.row_groups_by_stats += 1;
        if let Some(bloom) = &o.blooms[rg_index] {
            if !bloom.check(id.as_slice()) {
                continue;
            }
        }
        stats.row_groups_by_bloom += 1;

        // Candidate rows from the page index.
        let page_index = metadata.page_index_for_row_group(rg_index);
        let n = rg_meta.num_rows() as usize;
        let (mut from, mut to) = (0usize, n);
        if let (Some(ColumnIndexMetaData::FIXED_LEN_BYTE_ARRAY(ci)), Some(oi)) = (
            page_index.column_index(TRACE_ID_COLUMN),
            page_index.offset_index(TRACE_ID_COLUMN),
        ) {
            let locations = oi.page_locations();
            let candidates: Vec<usize> = (0..locations.len())
                .filter(|p| match (ci.min_value(*p), ci.max_value(*p)) {
                    (Some(min), Some(max)) => min <= id.as_slice() && id.as_slice() <= max,
                    _ => true,
                })
                .collect();
            let (Some(first), Some(last)) = (candidates.first(), candidates.last()) else {
                stats.bloom_false_positives += 1;
                continue;
            };
            from = locations[*first].first_row_index as usize;
            to = locations
                .get(last + 1)
                .map(|l| l.first_row_index as usize)
                .unwrap_or(n);
        }
        let rg = o.reader.get_row_group(rg_index)?;
        let mut defs = Vec::new();
        let ids = read_range(
            typed::<FixedLenByteArrayType>(&*rg, TRACE_ID_COLUMN)?,
            from,
            to - from,
            &mut defs,
        )?;
        stats.rows_scanned_for_id += ids.len() as u64;
        let lo = ids.partition_point(|v| v.data() < id.as_slice());
        let hi = ids.partition_point(|v| v.data() <= id.as_slice());
        if lo == hi {
            stats.bloom_false_positives += 1;
            continue;
        }
        let (start, count) = (from + lo, hi - lo);
        found += count;
        if !locate_only {
            spans.extend(rebuild_rows(o, &*rg, start, count)?);
        }
    }
    Ok((spans, found))
}

/// Values of one column for a row range, by physical type.
enum Values {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Bytes(Vec<ByteArray>),
    Fixed(Vec<parquet::data_type::FixedLenByteArray>),
}

fn read_any(
    rg: &dyn RowGroupReader,
    col: usize,
    start: usize,
    count: usize,
    defs: &mut Vec<i16>,
) -> Result<Values> {
    Ok(match rg.get_column_reader(col)? {
        ColumnReader::BoolColumnReader(r) => Values::Bool(read_range(r, start, count, defs)?),
        ColumnReader::Int32ColumnReader(r) => Values::I32(read_range(r, start, count, defs)?),
        ColumnReader::Int64ColumnReader(r) => Values::I64(read_range(r, start, count, defs)?),
        ColumnReader::DoubleColumnReader(r) => Values::F64(read_range(r, start, count, defs)?),
        ColumnReader::ByteArrayColumnReader(r) => Values::Bytes(read_range(r, start, count, defs)?),
        ColumnReader::FixedLenByteArrayColumnReader(r) => {
            Values::Fixed(read_range(r, start, count, defs)?)
        }
        _ => bail!("unexpected column type"),
    })
}

fn any_value(values: &Values, k: usize) -> Option<Value> {
    Some(match values {
        Values::Bool(v) => Value::BoolValue(v[k]),
        Values::I32(v) => Value::IntValue(i64::from(v[k])),
        Values::I64(v) => Value::IntValue(v[k]),
        Values::F64(v) => Value::DoubleValue(v[k]),
        Values::Bytes(v) => Value::StringValue(String::from_utf8_lossy(v[k].data()).into_owned()),
        Values::Fixed(v) => Value::BytesValue(v[k].data().to_vec()),
    })
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// Reads every column for `count` rows from `start` and rebuilds the OTLP spans (resource
/// attributes are returned as span attributes prefixed `resource.`, the way a trace-by-id
/// answer would regroup them is not measured).
fn rebuild_rows(
    o: &Opened,
    rg: &dyn RowGroupReader,
    start: usize,
    count: usize,
) -> Result<Vec<Span>> {
    let mut spans: Vec<Span> = (0..count).map(|_| Span::default()).collect();
    let mut defs = Vec::new();
    for (col, name) in o.names.iter().enumerate() {
        defs.clear();
        let values = read_any(rg, col, start, count, &mut defs)?;
        // Row → index of its value (None = null).
        let positions: Vec<Option<usize>> = if o.optional[col] {
            let mut next = 0;
            defs.iter()
                .map(|d| {
                    (*d != 0).then(|| {
                        next += 1;
                        next - 1
                    })
                })
                .collect()
        } else {
            (0..count).map(Some).collect()
        };
        for (span, position) in spans.iter_mut().zip(positions) {
            let Some(k) = position else { continue };
            match (name.as_str(), &values) {
                ("trace_id", Values::Fixed(v)) => span.trace_id = v[k].data().to_vec(),
                ("span_id", Values::Fixed(v)) => span.span_id = v[k].data().to_vec(),
                ("parent_span_id", Values::Fixed(v)) => span.parent_span_id = v[k].data().to_vec(),
                ("name", Values::Bytes(v)) => {
                    span.name = String::from_utf8_lossy(v[k].data()).into_owned()
                }
                ("kind", Values::I32(v)) => span.kind = v[k],
                ("status_code", Values::I32(v)) => {
                    span.status.get_or_insert_with(Status::default).code = v[k];
                }
                ("status_message", Values::Bytes(v)) => {
                    span.status.get_or_insert_with(Status::default).message =
                        String::from_utf8_lossy(v[k].data()).into_owned();
                }
                ("start_time_unix_nano", Values::I64(v)) => {
                    span.start_time_unix_nano = v[k] as u64;
                    span.end_time_unix_nano += v[k] as u64;
                }
                ("duration_nano", Values::I64(v)) => span.end_time_unix_nano += v[k] as u64,
                ("start_rounded_15s", _) => {}
                ("flags", Values::I32(v)) => span.flags = v[k] as u32,
                ("rest", Values::Bytes(v)) => {
                    let rest = Span::decode(v[k].data())?;
                    span.attributes.extend(rest.attributes);
                    span.events = rest.events;
                    span.links = rest.links;
                    span.trace_state = rest.trace_state;
                    span.dropped_attributes_count = rest.dropped_attributes_count;
                    span.dropped_events_count = rest.dropped_events_count;
                    span.dropped_links_count = rest.dropped_links_count;
                }
                (other, values) => {
                    let key = other.strip_prefix("attr.").unwrap_or(other);
                    if let Some(value) = any_value(values, k) {
                        span.attributes.push(kv(key, value));
                    }
                }
            }
        }
    }
    Ok(spans)
}

// ---------------------------------------------------------------------------------------
// (e) { status = error } | count() > 1

#[derive(Debug, PartialEq, Eq)]
pub struct ErrorTraces {
    pub traces: u64,
    pub error_spans: u64,
}

/// Counting over runs of equal (sorted) trace ids, carried across row groups.
struct RunCounter {
    current: Option<[u8; 16]>,
    count: u64,
    result: ErrorTraces,
}

impl RunCounter {
    fn new() -> Self {
        RunCounter {
            current: None,
            count: 0,
            result: ErrorTraces {
                traces: 0,
                error_spans: 0,
            },
        }
    }
    fn push(&mut self, id: &[u8]) {
        if self.current.as_ref().map(|c| c.as_slice()) == Some(id) {
            self.count += 1;
        } else {
            self.flush();
            self.current = id.try_into().ok();
            self.count = 1;
        }
    }
    fn flush(&mut self) {
        if self.count > 1 {
            self.result.traces += 1;
            self.result.error_spans += self.count;
        }
        self.count = 0;
    }
    fn finish(mut self) -> ErrorTraces {
        self.flush();
        self.result
    }
}

fn error_rows(o: &Opened, rg: &dyn RowGroupReader, n: usize) -> Result<Vec<usize>> {
    let mut defs = Vec::new();
    let status: Vec<i32> = read_range(
        typed::<Int32Type>(rg, o.column("status_code")?)?,
        0,
        n,
        &mut defs,
    )?;
    Ok(status
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == 2)
        .map(|(i, _)| i)
        .collect())
}

/// For every row group with error rows, `push_ids` hands those rows' trace ids (in row
/// order) to the counter.
fn count_error_traces(
    o: &Opened,
    mut push_ids: impl FnMut(&dyn RowGroupReader, usize, Vec<usize>, &mut RunCounter) -> Result<()>,
) -> Result<ErrorTraces> {
    let mut counter = RunCounter::new();
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let n = rows(&*rg);
        let errors = error_rows(o, &*rg, n)?;
        if !errors.is_empty() {
            push_ids(&*rg, n, errors, &mut counter)?;
        }
    }
    Ok(counter.finish())
}

/// status_code fully, then trace_id fully (only for row groups with errors).
pub fn errors_full(o: &Opened) -> Result<ErrorTraces> {
    let mut defs = Vec::new();
    count_error_traces(o, |rg, n, errors, counter| {
        let reader = typed::<FixedLenByteArrayType>(rg, TRACE_ID_COLUMN)?;
        let ids = read_range(reader, 0, n, &mut defs)?;
        for row in errors {
            counter.push(ids[row].data());
        }
        Ok(())
    })
}

/// status_code fully, then trace_id only at the error rows (`skip_records` between them).
pub fn errors_skip(o: &Opened) -> Result<ErrorTraces> {
    let mut defs = Vec::new();
    let mut value = Vec::with_capacity(1);
    count_error_traces(o, |rg, _, errors, counter| {
        let mut reader = typed::<FixedLenByteArrayType>(rg, TRACE_ID_COLUMN)?;
        let mut position = 0;
        for row in errors {
            if row > position {
                reader.skip_records(row - position)?;
            }
            value.clear();
            reader.read_records(1, Some(&mut defs), None, &mut value)?;
            counter.push(value[0].data());
            position = row + 1;
        }
        Ok(())
    })
}

/// For the row group(s) the trace's statistics select: every column's dictionary page read
/// and decompressed (what a lookup pays before reaching its rows); returns the bytes.
pub fn dictionary_pages_for(o: &Opened, id: &[u8; 16]) -> Result<usize> {
    let metadata = o.reader.metadata();
    let mut bytes = 0;
    for (rg_index, rg_meta) in metadata.row_groups().iter().enumerate() {
        if let Some(Statistics::FixedLenByteArray(s)) = rg_meta.column(TRACE_ID_COLUMN).statistics()
        {
            if let (Some(min), Some(max)) = (s.min_bytes_opt(), s.max_bytes_opt()) {
                if id.as_slice() < min || id.as_slice() > max {
                    continue;
                }
            }
        }
        let rg = o.reader.get_row_group(rg_index)?;
        for col in 0..o.names.len() {
            if rg_meta.column(col).dictionary_page_offset().is_none() {
                continue;
            }
            let mut pages = rg.get_column_page_reader(col)?;
            if let Some(page) = pages.get_next_page()? {
                if page.is_dictionary_page() {
                    bytes += page.buffer().len();
                }
            }
        }
    }
    Ok(bytes)
}

/// Decodes one whole column through the typed reader (a component of the queries above);
/// returns the values decoded.
pub fn decode_column(o: &Opened, column: &str) -> Result<usize> {
    let col = o.column(column)?;
    let mut total = 0;
    let mut defs = Vec::new();
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let n = rows(&*rg);
        defs.clear();
        total += match read_any(&*rg, col, 0, n, &mut defs)? {
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Bytes(v) => v.len(),
            Values::Fixed(v) => v.len(),
        };
    }
    Ok(total)
}

/// Dictionary indices of one column straight from its pages (own RLE decoder), no values.
pub fn dictionary_indices(o: &Opened, column: &str) -> Result<usize> {
    let col = o.column(column)?;
    let optional = o.optional[col];
    let mut indices = Vec::new();
    let mut total = 0;
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let mut pages = rg.get_column_page_reader(col)?;
        while let Some(page) = pages.get_next_page()? {
            if page.is_dictionary_page() {
                continue;
            }
            let data = DataPage::split(&page, optional)?;
            indices.clear();
            data.dictionary_indices(&mut indices)?;
            total += indices.len();
        }
    }
    Ok(total)
}

/// Decompresses every page of one column and nothing else.
pub fn decompress_column(o: &Opened, column: &str) -> Result<usize> {
    let col = o.column(column)?;
    let mut bytes = 0;
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let mut pages = rg.get_column_page_reader(col)?;
        while let Some(page) = pages.get_next_page()? {
            bytes += page.buffer().len();
        }
    }
    Ok(bytes)
}

/// Page count, encodings per column (for the report).
pub fn describe_pages(o: &Opened, column: &str) -> Result<String> {
    let col = o.column(column)?;
    let mut dict = 0;
    let mut plain = 0;
    let mut other = 0;
    let mut dictionary_entries = 0;
    for rg_index in 0..o.row_groups() {
        let rg = o.reader.get_row_group(rg_index)?;
        let mut pages: Box<dyn PageReader> = rg.get_column_page_reader(col)?;
        while let Some(page) = pages.get_next_page()? {
            match page.encoding() {
                _ if page.is_dictionary_page() => dictionary_entries += page.num_values(),
                Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY => dict += 1,
                Encoding::PLAIN => plain += 1,
                _ => other += 1,
            }
        }
    }
    Ok(format!(
        "{column}: {dict} dictionary-encoded + {plain} PLAIN (dictionary full, fell back) + {other} other data pages; {dictionary_entries} dictionary entries"
    ))
}
