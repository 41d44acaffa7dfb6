//! Spans → one Parquet file, with the low-level `parquet` API (no arrow): one row per span,
//! rows sorted by (trace_id, start), dedicated columns for frequent attributes, the rest as
//! protobuf.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use opentelemetry_proto::tonic::{
    common::v1::{KeyValue, any_value::Value},
    trace::v1::Span,
};
use parquet::{
    basic::{Compression, Encoding, LogicalType, Repetition, Type as PhysicalType, ZstdLevel},
    data_type::{
        BoolType, ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType,
        Int32Type, Int64Type,
    },
    file::{
        metadata::SortingColumn,
        properties::{EnabledStatistics, WriterProperties},
        writer::SerializedFileWriter,
    },
    schema::types::{ColumnPath, Type},
};
use prost::Message;

use crate::data::{BUCKET_NANOS, Dataset, FlatSpan};

#[derive(Clone, Copy, Debug)]
pub enum Codec {
    Zstd(i32),
    Snappy,
}

impl Codec {
    pub fn label(&self) -> String {
        match self {
            Codec::Zstd(level) => format!("zstd-{level}"),
            Codec::Snappy => "snappy".to_string(),
        }
    }
}

/// `65536` → `64Ki`, `1048576` → `1Mi`, anything else as is (labels of row groups, chunks).
pub fn count_label(count: usize) -> String {
    if count > 0 && count % (1 << 20) == 0 {
        format!("{}Mi", count >> 20)
    } else if count > 0 && count % 1024 == 0 {
        format!("{}Ki", count >> 10)
    } else {
        count.to_string()
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub row_group_rows: usize,
    pub codec: Codec,
    /// Data page row limit; `None`: the crate's default (20,000 rows, or 1 MiB first).
    pub page_rows: Option<usize>,
}

impl Config {
    pub fn label(&self) -> String {
        let rows = count_label(self.row_group_rows);
        match self.page_rows {
            None => format!("parquet rg={rows} {}", self.codec.label()),
            Some(page) => format!("parquet rg={rows} {} page={page}", self.codec.label()),
        }
    }
}

/// The value type of a dedicated attribute column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttrType {
    String,
    Int,
    Double,
    Bool,
}

/// One column of the layout, in schema order.
#[derive(Clone, Debug, PartialEq)]
pub enum Col {
    TraceId,
    SpanId,
    ParentSpanId,
    ServiceName,
    Name,
    Kind,
    StatusCode,
    StatusMessage,
    Start,
    Duration,
    Bucket,
    Flags,
    ScopeName,
    ScopeVersion,
    /// A resource attribute other than `service.name` (strings).
    Resource(String),
    /// A span attribute present on ≥ 5 % of spans, always with this type.
    Attr(String, AttrType),
    /// Protobuf `Span` with only what no column holds: other attributes, events, links,
    /// trace state, dropped counts. Null when there is nothing.
    Rest,
}

impl Col {
    pub fn name(&self) -> String {
        match self {
            Col::TraceId => "trace_id".into(),
            Col::SpanId => "span_id".into(),
            Col::ParentSpanId => "parent_span_id".into(),
            Col::ServiceName => "service_name".into(),
            Col::Name => "name".into(),
            Col::Kind => "kind".into(),
            Col::StatusCode => "status_code".into(),
            Col::StatusMessage => "status_message".into(),
            Col::Start => "start_time_unix_nano".into(),
            Col::Duration => "duration_nano".into(),
            Col::Bucket => "start_rounded_15s".into(),
            Col::Flags => "flags".into(),
            Col::ScopeName => "scope_name".into(),
            Col::ScopeVersion => "scope_version".into(),
            Col::Resource(key) => format!("resource.{key}"),
            Col::Attr(key, _) => format!("attr.{key}"),
            Col::Rest => "rest".into(),
        }
    }

    fn optional(&self) -> bool {
        matches!(
            self,
            Col::ParentSpanId
                | Col::StatusMessage
                | Col::ScopeName
                | Col::ScopeVersion
                | Col::Resource(_)
                | Col::Attr(..)
                | Col::Rest
        )
    }

    fn schema_type(&self) -> Result<Type> {
        let repetition = if self.optional() {
            Repetition::OPTIONAL
        } else {
            Repetition::REQUIRED
        };
        let string = Some(LogicalType::String);
        let (physical, length, logical) = match self {
            Col::TraceId => (PhysicalType::FIXED_LEN_BYTE_ARRAY, 16, None),
            Col::SpanId | Col::ParentSpanId => (PhysicalType::FIXED_LEN_BYTE_ARRAY, 8, None),
            Col::ServiceName
            | Col::Name
            | Col::StatusMessage
            | Col::ScopeName
            | Col::ScopeVersion
            | Col::Resource(_)
            | Col::Attr(_, AttrType::String) => (PhysicalType::BYTE_ARRAY, -1, string),
            Col::Kind | Col::StatusCode | Col::Bucket | Col::Flags => {
                (PhysicalType::INT32, -1, None)
            }
            Col::Start | Col::Duration | Col::Attr(_, AttrType::Int) => {
                (PhysicalType::INT64, -1, None)
            }
            Col::Attr(_, AttrType::Double) => (PhysicalType::DOUBLE, -1, None),
            Col::Attr(_, AttrType::Bool) => (PhysicalType::BOOLEAN, -1, None),
            Col::Rest => (PhysicalType::BYTE_ARRAY, -1, None),
        };
        Ok(Type::primitive_type_builder(&self.name(), physical)
            .with_repetition(repetition)
            .with_length(length)
            .with_logical_type(logical)
            .build()?)
    }
}

/// Column layout of one file, chosen from its spans.
#[derive(Clone, Debug)]
pub struct Layout {
    pub columns: Vec<Col>,
}

pub const TRACE_ID_COLUMN: usize = 0;

impl Layout {
    /// Fixed columns, then one per resource attribute key, then one per span attribute key
    /// on ≥ 5 % of the spans with a single value type, then `rest`.
    pub fn discover(data: &Dataset) -> Layout {
        let mut columns = vec![
            Col::TraceId,
            Col::SpanId,
            Col::ParentSpanId,
            Col::ServiceName,
            Col::Name,
            Col::Kind,
            Col::StatusCode,
            Col::StatusMessage,
            Col::Start,
            Col::Duration,
            Col::Bucket,
            Col::Flags,
            Col::ScopeName,
            Col::ScopeVersion,
        ];
        let mut resource_keys: Vec<&str> = Vec::new();
        for resource in &data.resources {
            for kv in &resource.attributes {
                let is_string = matches!(
                    kv.value.as_ref().and_then(|v| v.value.as_ref()),
                    Some(Value::StringValue(_))
                );
                // Non-string resource attributes would need their own columns (or a
                // resource "rest"): the generator sends none.
                if kv.key != "service.name"
                    && is_string
                    && !resource_keys.contains(&kv.key.as_str())
                {
                    resource_keys.push(&kv.key);
                }
            }
        }
        columns.extend(
            resource_keys
                .iter()
                .map(|key| Col::Resource(key.to_string())),
        );

        // key → (count, type if it was always the same)
        let mut keys: HashMap<&str, (usize, Option<AttrType>, bool)> = HashMap::new();
        let mut order: Vec<&str> = Vec::new();
        for flat in &data.spans {
            for kv in &flat.span.attributes {
                let Some(kind) = attr_type(kv) else { continue };
                let entry = keys.entry(&kv.key).or_insert_with(|| {
                    order.push(&kv.key);
                    (0, Some(kind), true)
                });
                entry.0 += 1;
                if entry.1 != Some(kind) {
                    entry.2 = false;
                }
            }
        }
        let threshold = data.spans.len().div_ceil(20);
        for key in order {
            let (count, kind, uniform) = keys[key];
            if count >= threshold && uniform {
                if let Some(kind) = kind {
                    columns.push(Col::Attr(key.to_string(), kind));
                }
            }
        }
        columns.push(Col::Rest);
        Layout { columns }
    }

    pub fn schema(&self) -> Result<Type> {
        let fields = self
            .columns
            .iter()
            .map(|col| col.schema_type().map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        Ok(Type::group_type_builder("span")
            .with_fields(fields)
            .build()?)
    }

    pub fn index_of(&self, col: &Col) -> Option<usize> {
        self.columns.iter().position(|c| c == col)
    }
}

fn attr_type(kv: &KeyValue) -> Option<AttrType> {
    match kv.value.as_ref()?.value.as_ref()? {
        Value::StringValue(_) => Some(AttrType::String),
        Value::IntValue(_) => Some(AttrType::Int),
        Value::DoubleValue(_) => Some(AttrType::Double),
        Value::BoolValue(_) => Some(AttrType::Bool),
        _ => None,
    }
}

fn properties(config: &Config, layout: &Layout) -> WriterProperties {
    let compression = match config.codec {
        Codec::Zstd(level) => Compression::ZSTD(ZstdLevel::try_new(level).expect("zstd level")),
        Codec::Snappy => Compression::SNAPPY,
    };
    let path = |col: &Col| ColumnPath::from(col.name());
    let mut builder = WriterProperties::builder()
        .set_compression(compression)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(config.row_group_rows))
        .set_sorting_columns(Some(vec![
            SortingColumn {
                column_idx: TRACE_ID_COLUMN as i32,
                descending: false,
                nulls_first: false,
            },
            SortingColumn {
                column_idx: layout.index_of(&Col::Start).expect("start column") as i32,
                descending: false,
                nulls_first: false,
            },
        ]))
        // Bloom filter on trace_id only (fpp 1 %), sized for the traces of a row group;
        // folded down to what the values need when the row group closes.
        .set_column_bloom_filter_enabled(path(&Col::TraceId), true)
        .set_column_bloom_filter_fpp(path(&Col::TraceId), 0.01)
        .set_column_bloom_filter_max_ndv(path(&Col::TraceId), (config.row_group_rows / 4) as u64);
    // Random ids: a dictionary only costs; PLAIN.
    for col in [Col::TraceId, Col::SpanId, Col::ParentSpanId] {
        builder = builder.set_column_dictionary_enabled(path(&col), false);
    }
    for col in [Col::Start, Col::Duration, Col::Bucket] {
        builder = builder
            .set_column_dictionary_enabled(path(&col), false)
            .set_column_encoding(path(&col), Encoding::DELTA_BINARY_PACKED);
    }
    // Protobuf blobs: unique, min/max statistics useless.
    builder = builder
        .set_column_dictionary_enabled(path(&Col::Rest), false)
        .set_column_statistics_enabled(path(&Col::Rest), EnabledStatistics::None);
    if let Some(rows) = config.page_rows {
        builder = builder.set_data_page_row_count_limit(rows);
    }
    builder.build()
}

/// Values of one column chunk being built (non-null values plus definition levels).
enum Builder {
    Fixed { width: usize, data: Vec<u8> },
    Bytes { data: Vec<u8>, ends: Vec<usize> },
    I32(Vec<i32>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Bool(Vec<bool>),
}

struct ColumnBuild {
    values: Builder,
    defs: Vec<i16>,
}

impl ColumnBuild {
    fn push_bytes(&mut self, value: &[u8]) {
        match &mut self.values {
            Builder::Fixed { data, .. } => data.extend_from_slice(value),
            Builder::Bytes { data, ends } => {
                data.extend_from_slice(value);
                ends.push(data.len());
            }
            _ => unreachable!("bytes into a non-bytes column"),
        }
        self.defs.push(1);
    }
    fn null(&mut self) {
        self.defs.push(0);
    }
}

/// Writes all spans of `data` into one Parquet file in memory.
pub fn write(data: &Dataset, config: &Config) -> Result<(Vec<u8>, Layout)> {
    write_impl(data, config, true)
}

/// [`write`] without Parquet: layout discovery, sort and the column vectors only (the part
/// any columnar encoding pays, with this harness's code).
pub fn shred_only(data: &Dataset, config: &Config) -> Result<usize> {
    write_impl(data, config, false).map(|(_, layout)| layout.columns.len())
}

fn write_impl(data: &Dataset, config: &Config, encode: bool) -> Result<(Vec<u8>, Layout)> {
    let layout = Layout::discover(data);
    let schema = Arc::new(layout.schema()?);
    let props = Arc::new(properties(config, &layout));

    // Sort order: (trace_id, start).
    let mut order: Vec<u32> = (0..data.spans.len() as u32).collect();
    order.sort_unstable_by(|a, b| {
        let a = &data.spans[*a as usize].span;
        let b = &data.spans[*b as usize].span;
        a.trace_id
            .cmp(&b.trace_id)
            .then(a.start_time_unix_nano.cmp(&b.start_time_unix_nano))
    });

    // Per resource: its values for each Resource column; per scope: name, version.
    let resource_values: Vec<Vec<Option<&str>>> = data
        .resources
        .iter()
        .map(|resource| {
            layout
                .columns
                .iter()
                .map(|col| match col {
                    Col::Resource(key) => resource
                        .attributes
                        .iter()
                        .find(|kv| &kv.key == key)
                        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                            Value::StringValue(s) => Some(s.as_str()),
                            _ => None,
                        }),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let service_names: Vec<&str> = data
        .resources
        .iter()
        .map(crate::data::service_name)
        .collect();
    let attr_columns: HashMap<&str, (usize, AttrType)> = layout
        .columns
        .iter()
        .enumerate()
        .filter_map(|(index, col)| match col {
            Col::Attr(key, kind) => Some((key.as_str(), (index, *kind))),
            _ => None,
        })
        .collect();

    let mut out = Vec::with_capacity(data.spans.len() * 64);
    let mut writer = SerializedFileWriter::new(&mut out, schema, props)?;
    let mut filled = vec![false; layout.columns.len()];
    let mut rest_scratch = Vec::new();
    for rows in order.chunks(config.row_group_rows) {
        let mut builds: Vec<ColumnBuild> = layout
            .columns
            .iter()
            .map(|col| new_build(col, rows.len()))
            .collect();
        for &row in rows {
            let FlatSpan {
                resource,
                scope,
                span,
            } = &data.spans[row as usize];
            filled.fill(false);
            let mut leftovers: Vec<KeyValue> = Vec::new();
            for kv in &span.attributes {
                let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                let dedicated = attr_columns.get(kv.key.as_str()).copied();
                match (dedicated, value) {
                    (Some((index, AttrType::String)), Some(Value::StringValue(s)))
                        if !filled[index] =>
                    {
                        builds[index].push_bytes(s.as_bytes());
                        filled[index] = true;
                    }
                    (Some((index, AttrType::Int)), Some(Value::IntValue(v))) if !filled[index] => {
                        push_i64(&mut builds[index], *v);
                        filled[index] = true;
                    }
                    (Some((index, AttrType::Double)), Some(Value::DoubleValue(v)))
                        if !filled[index] =>
                    {
                        if let Builder::F64(values) = &mut builds[index].values {
                            values.push(*v);
                        }
                        builds[index].defs.push(1);
                        filled[index] = true;
                    }
                    (Some((index, AttrType::Bool)), Some(Value::BoolValue(v)))
                        if !filled[index] =>
                    {
                        if let Builder::Bool(values) = &mut builds[index].values {
                            values.push(*v);
                        }
                        builds[index].defs.push(1);
                        filled[index] = true;
                    }
                    _ => leftovers.push(kv.clone()),
                }
            }
            for (index, col) in layout.columns.iter().enumerate() {
                let build = &mut builds[index];
                match col {
                    Col::TraceId => build.push_bytes(&span.trace_id),
                    Col::SpanId => build.push_bytes(&span.span_id),
                    Col::ParentSpanId => {
                        if span.parent_span_id.len() == 8 {
                            build.push_bytes(&span.parent_span_id)
                        } else {
                            build.null()
                        }
                    }
                    Col::ServiceName => {
                        build.push_bytes(service_names[*resource as usize].as_bytes())
                    }
                    Col::Name => build.push_bytes(span.name.as_bytes()),
                    Col::Kind => push_i32(build, span.kind),
                    Col::StatusCode => {
                        push_i32(build, span.status.as_ref().map(|s| s.code).unwrap_or(0))
                    }
                    Col::StatusMessage => match span.status.as_ref().map(|s| s.message.as_str()) {
                        Some(message) if !message.is_empty() => {
                            build.push_bytes(message.as_bytes())
                        }
                        _ => build.null(),
                    },
                    Col::Start => push_i64(build, span.start_time_unix_nano as i64),
                    Col::Duration => push_i64(
                        build,
                        span.end_time_unix_nano
                            .saturating_sub(span.start_time_unix_nano)
                            as i64,
                    ),
                    Col::Bucket => {
                        push_i32(build, (span.start_time_unix_nano / BUCKET_NANOS) as i32)
                    }
                    Col::Flags => push_i32(build, span.flags as i32),
                    Col::ScopeName => {
                        let name = &data.scopes[*scope as usize].name;
                        if name.is_empty() {
                            build.null()
                        } else {
                            build.push_bytes(name.as_bytes())
                        }
                    }
                    Col::ScopeVersion => {
                        let version = &data.scopes[*scope as usize].version;
                        if version.is_empty() {
                            build.null()
                        } else {
                            build.push_bytes(version.as_bytes())
                        }
                    }
                    Col::Resource(_) => match resource_values[*resource as usize][index] {
                        Some(value) => build.push_bytes(value.as_bytes()),
                        None => build.null(),
                    },
                    Col::Attr(..) => {
                        if !filled[index] {
                            build.null()
                        }
                    }
                    Col::Rest => {
                        let rest = Span {
                            attributes: std::mem::take(&mut leftovers),
                            events: span.events.clone(),
                            links: span.links.clone(),
                            trace_state: span.trace_state.clone(),
                            dropped_attributes_count: span.dropped_attributes_count,
                            dropped_events_count: span.dropped_events_count,
                            dropped_links_count: span.dropped_links_count,
                            ..Default::default()
                        };
                        if rest == Span::default() {
                            build.null()
                        } else {
                            rest_scratch.clear();
                            rest.encode(&mut rest_scratch)?;
                            build.push_bytes(&rest_scratch);
                        }
                    }
                }
            }
        }

        if !encode {
            std::hint::black_box(&builds);
            continue;
        }
        let mut row_group = writer.next_row_group()?;
        for (col, build) in layout.columns.iter().zip(builds) {
            let mut column = row_group
                .next_column()?
                .context("schema has fewer columns")?;
            let defs = if col.optional() {
                Some(build.defs.as_slice())
            } else {
                None
            };
            match build.values {
                Builder::Fixed { width, data } => {
                    let data = Bytes::from(data);
                    let values: Vec<FixedLenByteArray> = (0..data.len() / width)
                        .map(|i| ByteArray::from(data.slice(i * width..(i + 1) * width)).into())
                        .collect();
                    column
                        .typed::<FixedLenByteArrayType>()
                        .write_batch(&values, defs, None)?;
                }
                Builder::Bytes { data, ends } => {
                    let data = Bytes::from(data);
                    let mut start = 0;
                    let values: Vec<ByteArray> = ends
                        .iter()
                        .map(|&end| {
                            let value = ByteArray::from(data.slice(start..end));
                            start = end;
                            value
                        })
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, defs, None)?;
                }
                Builder::I32(values) => {
                    column
                        .typed::<Int32Type>()
                        .write_batch(&values, defs, None)?;
                }
                Builder::I64(values) => {
                    column
                        .typed::<Int64Type>()
                        .write_batch(&values, defs, None)?;
                }
                Builder::F64(values) => {
                    column
                        .typed::<DoubleType>()
                        .write_batch(&values, defs, None)?;
                }
                Builder::Bool(values) => {
                    column
                        .typed::<BoolType>()
                        .write_batch(&values, defs, None)?;
                }
            }
            column.close()?;
        }
        row_group.close()?;
    }
    if !encode {
        drop(writer);
        return Ok((Vec::new(), layout));
    }
    writer.close()?;
    Ok((out, layout))
}

fn new_build(col: &Col, rows: usize) -> ColumnBuild {
    let values = match col {
        Col::TraceId => Builder::Fixed {
            width: 16,
            data: Vec::with_capacity(rows * 16),
        },
        Col::SpanId | Col::ParentSpanId => Builder::Fixed {
            width: 8,
            data: Vec::with_capacity(rows * 8),
        },
        Col::Kind | Col::StatusCode | Col::Bucket | Col::Flags => {
            Builder::I32(Vec::with_capacity(rows))
        }
        Col::Start | Col::Duration | Col::Attr(_, AttrType::Int) => {
            Builder::I64(Vec::with_capacity(rows))
        }
        Col::Attr(_, AttrType::Double) => Builder::F64(Vec::with_capacity(rows)),
        Col::Attr(_, AttrType::Bool) => Builder::Bool(Vec::with_capacity(rows)),
        _ => Builder::Bytes {
            data: Vec::new(),
            ends: Vec::with_capacity(rows),
        },
    };
    ColumnBuild {
        values,
        defs: Vec::with_capacity(rows),
    }
}

fn push_i32(build: &mut ColumnBuild, value: i32) {
    if let Builder::I32(values) = &mut build.values {
        values.push(value);
    }
    build.defs.push(1);
}

fn push_i64(build: &mut ColumnBuild, value: i64) {
    if let Builder::I64(values) = &mut build.values {
        values.push(value);
    }
    build.defs.push(1);
}
