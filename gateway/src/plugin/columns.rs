//! Builds the `span-batch` a plugin reads from an OTLP request (layout: wit/README.md,
//! "Batch layout", implemented by `spangate_plugin_abi::BatchBuilder`): only the
//! columns its needs declare, every string in one arena, service names and attribute
//! keys dictionary-encoded per batch.
//!
//! Spans are numbered in request order (resource spans → scope spans → spans); events
//! and links globally in the same order. Each attribute row remembers its owner and its
//! attribute's index within the owner, and each event and link its span, so an edit
//! addressed to a row, span or event finds what it edits in the request.
//!
//! This runs for every batch and every plugin: all buffers live in `Columns` (one per
//! pool slot) and are cleared, not freed, so the steady state allocates nothing but a
//! key the first time it is ever seen.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use spangate_plugin_abi::{BatchBuilder, StrRef, column, push_string, value_kind};

use super::bindings::wit;
use super::convert::{Needs, Selection};
use super::dictionary::{KeyDictionary, KeysColumn, NO_ID, service_index};
use super::json::write_json;
use crate::model::{ExportTraceServiceRequest, service_name};

/// The four attribute tables of a batch, in directory order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Table {
    Span = 0,
    Resource = 1,
    Event = 2,
    Link = 3,
}

impl Table {
    pub(super) const ALL: [Table; 4] = [Table::Span, Table::Resource, Table::Event, Table::Link];

    /// The table's first column (`owner-offsets`); its others follow.
    pub(super) fn first_column(self) -> usize {
        column::ATTRIBUTE_TABLES + self as usize * column::TABLE_COLUMNS
    }

    pub(super) fn noun(self) -> &'static str {
        match self {
            Table::Span => "span",
            Table::Resource => "resource",
            Table::Event => "event",
            Table::Link => "link",
        }
    }

    pub(super) fn selection(self, needs: &Needs) -> &Selection {
        match self {
            Table::Span => &needs.span_attributes,
            Table::Resource => &needs.resource_attributes,
            Table::Event => &needs.event_attributes,
            Table::Link => &needs.link_attributes,
        }
    }
}

/// Where an attribute row's attribute is: its owner (span, resource position, global
/// event or link index, by table) and its index in the owner's attribute list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Row {
    pub(super) owner: u32,
    pub(super) attribute: u32,
}

/// Where an event or link is: its span and its index in the span's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Member {
    pub(super) span: u32,
    pub(super) position: u32,
}

/// The buffers of one pool slot, and where the rows, events and links of the last batch
/// are in its request.
pub(super) struct Columns {
    /// What the plugin is called with. `columns` and `strings` are rewritten for each
    /// batch and keep their allocations.
    pub(super) batch: wit::SpanBatch,
    builder: BatchBuilder,
    /// Per table (`Table as usize`), per row.
    pub(super) rows: [Vec<Row>; 4],
    /// Per global event index; filled when the batch has event columns.
    pub(super) events: Vec<Member>,
    /// Per global link index; filled when the batch has link columns.
    pub(super) links: Vec<Member>,
    services: Vec<StrRef>,
    dictionaries: [KeyDictionary; 4],
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            batch: wit::SpanBatch {
                len: 0,
                columns: Vec::new(),
                strings: Vec::new(),
            },
            builder: BatchBuilder::default(),
            rows: Default::default(),
            events: Vec::new(),
            links: Vec::new(),
            services: Vec::new(),
            dictionaries: Default::default(),
        }
    }
}

/// Counts are u32 in the contract; a batch is far below 4 GiB (request size limits).
#[inline]
fn count(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// The WIT `span-kind` case of an OTLP kind (the same numbers; unknown ones unspecified).
fn span_kind(kind: i32) -> u8 {
    match kind {
        1..=5 => kind as u8,
        _ => 0,
    }
}

/// The WIT `status-code` case of a span's OTLP status (the same numbers).
fn status_code(span: &Span) -> u8 {
    match span.status.as_ref().map(|status| status.code) {
        Some(code @ 1..=2) => code as u8,
        _ => 0,
    }
}

impl Columns {
    /// Number of spans in the last batch.
    pub(super) fn span_count(&self) -> u32 {
        self.batch.len
    }

    /// Refills the batch from `request` for a plugin with `needs`.
    pub(super) fn build(&mut self, request: &ExportTraceServiceRequest, needs: &Needs) {
        let want_trace_id = needs.has(wit::SpanFields::TRACE_ID);
        let want_span_id = needs.has(wit::SpanFields::SPAN_ID);
        let want_parent = needs.has(wit::SpanFields::PARENT_SPAN_ID);
        let want_service = needs.has(wit::SpanFields::SERVICE_NAME);
        let want_name = needs.has(wit::SpanFields::NAME);
        let want_kind = needs.has(wit::SpanFields::KIND);
        let want_times = needs.has(wit::SpanFields::TIMES);
        let want_status = needs.has(wit::SpanFields::STATUS);
        let want_status_message = needs.has(wit::SpanFields::STATUS_MESSAGE);
        let want_size = needs.has(wit::SpanFields::SIZE);
        let want_event_names = needs.has(wit::SpanFields::EVENT_NAMES);
        let want_span_attributes = !needs.span_attributes.is_none();
        let want_resource_attributes = !needs.resource_attributes.is_none();
        let want_event_attributes = !needs.event_attributes.is_none();
        let want_link_attributes = !needs.link_attributes.is_none();
        let want_events = want_event_names || want_event_attributes;
        let want_links = want_link_attributes;

        let Columns {
            batch,
            builder,
            rows,
            events,
            links,
            services,
            dictionaries,
        } = self;
        // The arena the guest was last given becomes the builder's again.
        std::mem::swap(&mut builder.strings, &mut batch.strings);
        builder.clear();
        events.clear();
        links.clear();
        services.clear();
        if want_events {
            builder.push_u32(column::EVENT_OFFSETS, 0);
        }
        if want_links {
            builder.push_u32(column::LINK_OFFSETS, 0);
        }
        let [span_rows, resource_rows, event_rows, link_rows] = rows;
        let [span_keys, resource_keys, event_keys, link_keys] = dictionaries;
        let mut span_attributes = AttributeTable::begin(
            Table::Span,
            &needs.span_attributes,
            span_rows,
            span_keys,
            builder,
        );
        let mut resource_attributes = AttributeTable::begin(
            Table::Resource,
            &needs.resource_attributes,
            resource_rows,
            resource_keys,
            builder,
        );
        let mut event_attributes = AttributeTable::begin(
            Table::Event,
            &needs.event_attributes,
            event_rows,
            event_keys,
            builder,
        );
        let mut link_attributes = AttributeTable::begin(
            Table::Link,
            &needs.link_attributes,
            link_rows,
            link_keys,
            builder,
        );

        let mut spans: u32 = 0;
        for (resource_position, resource_spans) in request.resource_spans.iter().enumerate() {
            let resource_position = count(resource_position);
            let resource_attribute_list = resource_spans
                .resource
                .as_ref()
                .map_or(&[][..], |resource| resource.attributes.as_slice());
            if want_resource_attributes {
                resource_attributes.owner(builder, resource_position, resource_attribute_list);
            }
            let service = if want_service {
                service_index(
                    services,
                    builder,
                    column::SERVICES,
                    service_name(resource_attribute_list),
                )
            } else {
                0
            };
            for span in resource_spans
                .scope_spans
                .iter()
                .flat_map(|scope_spans| &scope_spans.spans)
            {
                let index = spans;
                spans += 1;
                if want_trace_id {
                    builder.push_id(column::TRACE_ID, &span.trace_id);
                }
                if want_span_id {
                    builder.push_id(column::SPAN_ID, &span.span_id);
                }
                if want_parent {
                    builder.push_id(column::PARENT_SPAN_ID, &span.parent_span_id);
                }
                if want_service {
                    builder.push_u32(column::SERVICE, service);
                }
                if want_name {
                    builder.push_str(column::NAME, span.name.as_bytes());
                }
                if want_kind {
                    builder.push_u8(column::KIND, span_kind(span.kind));
                }
                if want_status {
                    builder.push_u8(column::STATUS, status_code(span));
                }
                if want_times {
                    builder.push_u64(column::START, span.start_time_unix_nano);
                    builder.push_u64(column::END, span.end_time_unix_nano);
                }
                if want_status_message {
                    let message = span.status.as_ref().map_or("", |status| &status.message);
                    builder.push_str(column::STATUS_MESSAGE, message.as_bytes());
                }
                if want_size {
                    builder.push_u32(column::SIZE, count(span.encoded_len()));
                }
                if want_resource_attributes {
                    builder.push_u32(column::RESOURCE, resource_position);
                }
                if want_span_attributes {
                    span_attributes.owner(builder, index, &span.attributes);
                }
                if want_events {
                    for (position, event) in span.events.iter().enumerate() {
                        if want_event_names {
                            builder.push_str(column::EVENT_NAMES, event.name.as_bytes());
                        }
                        if want_event_attributes {
                            event_attributes.owner(builder, count(events.len()), &event.attributes);
                        }
                        events.push(Member {
                            span: index,
                            position: count(position),
                        });
                    }
                    builder.push_u32(column::EVENT_OFFSETS, count(events.len()));
                }
                if want_links {
                    for (position, link) in span.links.iter().enumerate() {
                        link_attributes.owner(builder, count(links.len()), &link.attributes);
                        links.push(Member {
                            span: index,
                            position: count(position),
                        });
                    }
                    builder.push_u32(column::LINK_OFFSETS, count(links.len()));
                }
            }
        }
        builder.write_columns(&mut batch.columns);
        std::mem::swap(&mut builder.strings, &mut batch.strings);
        batch.len = spans;
    }
}

/// Fills one attribute table, owner by owner.
struct AttributeTable<'a> {
    selection: &'a Selection,
    /// The table's first column.
    first: usize,
    rows: &'a mut Vec<Row>,
    dictionary: &'a mut KeyDictionary,
}

impl<'a> AttributeTable<'a> {
    fn begin(
        table: Table,
        selection: &'a Selection,
        rows: &'a mut Vec<Row>,
        dictionary: &'a mut KeyDictionary,
        builder: &mut BatchBuilder,
    ) -> AttributeTable<'a> {
        rows.clear();
        let first = table.first_column();
        if !selection.is_none() {
            builder.push_u32(first + column::OWNER_OFFSETS, 0);
            let declared_keys = match selection {
                Selection::Keys(keys) => keys.len(),
                _ => 0,
            };
            dictionary.begin(declared_keys);
        }
        AttributeTable {
            selection,
            first,
            rows,
            dictionary,
        }
    }

    /// Adds the selected attributes of owner `owner` (call only for a declared selection).
    #[inline]
    fn owner(&mut self, builder: &mut BatchBuilder, owner: u32, attributes: &[KeyValue]) {
        let mut keys = KeysColumn {
            builder,
            column: self.first + column::KEYS,
        };
        let mut previous = NO_ID;
        for (position, attribute) in attributes.iter().enumerate() {
            let value = attribute
                .value
                .as_ref()
                .and_then(|value| value.value.as_ref());
            let key_id = match self.selection {
                Selection::None => continue,
                Selection::AllStrings
                    if !matches!(value, Some(any_value::Value::StringValue(_))) =>
                {
                    continue;
                }
                Selection::AllStrings | Selection::All => {
                    previous = self
                        .dictionary
                        .id(&attribute.key, position, previous, &mut keys);
                    previous
                }
                Selection::Keys(declared) => match declared.lookup(&attribute.key) {
                    Some(declared) => {
                        self.dictionary
                            .declared_id(declared, &attribute.key, &mut keys)
                    }
                    None => continue,
                },
            };
            keys.builder.push_u32(self.first + column::KEY, key_id);
            push_value(keys.builder, self.first, value);
            self.rows.push(Row {
                owner,
                attribute: count(position),
            });
        }
        keys.builder
            .push_u32(self.first + column::OWNER_OFFSETS, count(self.rows.len()));
    }
}

/// One row's value kind and value.
#[inline]
fn push_value(builder: &mut BatchBuilder, first: usize, value: Option<&any_value::Value>) {
    let (kind, word) = match value {
        Some(any_value::Value::StringValue(text)) => (
            value_kind::STR,
            push_string(&mut builder.strings, text.as_bytes()).to_u64(),
        ),
        Some(any_value::Value::IntValue(int)) => (value_kind::INT, *int as u64),
        Some(any_value::Value::DoubleValue(double)) => (value_kind::DOUBLE, double.to_bits()),
        Some(any_value::Value::BoolValue(boolean)) => (value_kind::BOOL, u64::from(*boolean)),
        other => {
            let start = builder.strings.len();
            write_json(&mut builder.strings, other);
            let reference = StrRef {
                offset: count(start),
                len: count(builder.strings.len() - start),
            };
            (value_kind::JSON, reference.to_u64())
        }
    };
    builder.push_u8(first + column::VALUE_KIND, kind);
    builder.push_u64(first + column::VALUE, word);
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::{
        AnyValue, ArrayValue, KeyValue, KeyValueList, Resource, ResourceSpans, ScopeSpans, Span,
        Status, span,
    };
    use spangate_plugin_abi::BatchView;

    pub(crate) fn kv(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(AnyValue { value: Some(value) }),
            ..KeyValue::default()
        }
    }

    pub(crate) fn string(text: &str) -> any_value::Value {
        any_value::Value::StringValue(text.to_owned())
    }

    pub(crate) fn needs(
        fields: wit::SpanFields,
        span_attributes: wit::AttributeSelection,
        resource_attributes: wit::AttributeSelection,
        event_attributes: wit::AttributeSelection,
        link_attributes: wit::AttributeSelection,
    ) -> Needs {
        Needs::from_wit(&wit::Needs {
            name: "test".to_owned(),
            version: "0".to_owned(),
            fields,
            span_attributes,
            resource_attributes,
            event_attributes,
            link_attributes,
        })
    }

    /// Two resources (services "checkout" and "cart"), three spans, events and links.
    pub(crate) fn sample_request() -> ExportTraceServiceRequest {
        let mut first = Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0, 0, 0, 0, 0, 0, 0, 7],
            name: "GET /".to_owned(),
            kind: 2,
            start_time_unix_nano: 10,
            end_time_unix_nano: 25,
            status: Some(Status {
                message: "fine".to_owned(),
                code: 1,
            }),
            attributes: vec![
                kv("http.method", string("GET")),
                kv("http.status_code", any_value::Value::IntValue(200)),
                kv("secret", string("hunter2")),
            ],
            ..Default::default()
        };
        first.events.push(span::Event {
            name: "exception".to_owned(),
            attributes: vec![kv("exception.message", string("boom"))],
            ..Default::default()
        });
        first.events.push(span::Event {
            name: "retry".to_owned(),
            ..Default::default()
        });
        let second = Span {
            trace_id: (1..=16).collect(),
            span_id: vec![0, 0, 0, 0, 0, 0, 0, 8],
            parent_span_id: vec![0, 0, 0, 0, 0, 0, 0, 7],
            name: "SELECT".to_owned(),
            kind: 3,
            attributes: vec![
                kv("db.ok", any_value::Value::BoolValue(true)),
                kv("ratio", any_value::Value::DoubleValue(0.5)),
                kv(
                    "list",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![
                            AnyValue {
                                value: Some(string("a\"b")),
                            },
                            AnyValue {
                                value: Some(any_value::Value::IntValue(-3)),
                            },
                        ],
                    }),
                ),
            ],
            links: vec![span::Link {
                trace_id: vec![9; 16],
                span_id: vec![9; 8],
                attributes: vec![kv("link.kind", string("follows"))],
                ..Default::default()
            }],
            ..Default::default()
        };
        let third = Span {
            trace_id: vec![2; 16],
            span_id: vec![3; 8],
            name: "add to cart".to_owned(),
            status: Some(Status {
                message: String::new(),
                code: 2,
            }),
            attributes: vec![
                kv("secret", string("pw")),
                kv(
                    "map",
                    any_value::Value::KvlistValue(KeyValueList {
                        values: vec![kv("k", any_value::Value::BytesValue(vec![1, 2, 3]))],
                    }),
                ),
            ],
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![
                            kv("service.name", string("checkout")),
                            kv("host", string("a")),
                        ],
                        ..Default::default()
                    }),
                    scope_spans: vec![ScopeSpans {
                        spans: vec![first, second],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
                ResourceSpans {
                    resource: Some(Resource {
                        attributes: vec![kv("service.name", string("cart"))],
                        ..Default::default()
                    }),
                    scope_spans: vec![
                        ScopeSpans::default(),
                        ScopeSpans {
                            spans: vec![third],
                            ..Default::default()
                        },
                    ],
                    ..Default::default()
                },
            ],
        }
    }

    pub(crate) fn view(columns: &Columns) -> BatchView<'_> {
        BatchView::parse(&columns.batch.columns, &columns.batch.strings).unwrap()
    }

    /// The strings a string-reference column points to.
    pub(crate) fn strings(view: &BatchView<'_>, column: usize) -> Vec<String> {
        (0..view.count(column))
            .map(|index| String::from_utf8(view.str_at(column, index).unwrap().to_vec()).unwrap())
            .collect()
    }

    pub(crate) fn u32s(view: &BatchView<'_>, column: usize) -> Vec<u32> {
        (0..view.count(column))
            .map(|index| view.u32_at(column, index).unwrap())
            .collect()
    }

    fn u64s(view: &BatchView<'_>, column: usize) -> Vec<u64> {
        (0..view.count(column))
            .map(|index| view.u64_at(column, index).unwrap())
            .collect()
    }

    fn u8s(view: &BatchView<'_>, column: usize) -> Vec<u8> {
        view.column(column).to_vec()
    }

    fn ids(view: &BatchView<'_>, column: usize) -> Vec<Vec<u8>> {
        (0..view.count(column))
            .map(|index| view.id_at(column, index).unwrap().to_vec())
            .collect()
    }

    /// A row's value for humans: `str:x`, `int:1`, `double:0.5`, `bool:1`, `json:[..]`.
    pub(crate) fn render(view: &BatchView<'_>, table: Table, row: usize) -> String {
        let first = table.first_column();
        let word = view.u64_at(first + column::VALUE, row).unwrap();
        let text = || {
            let bytes = StrRef::from_u64(word).get(view.strings()).unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        match view.u8_at(first + column::VALUE_KIND, row).unwrap() {
            value_kind::STR => format!("str:{}", text()),
            value_kind::JSON => format!("json:{}", text()),
            value_kind::INT => format!("int:{}", word as i64),
            value_kind::BOOL => format!("bool:{word}"),
            value_kind::DOUBLE => format!("double:{}", f64::from_bits(word)),
            other => panic!("value kind {other}"),
        }
    }

    /// Rows as (owner, key, rendered value).
    pub(crate) fn rows(view: &BatchView<'_>, table: Table) -> Vec<(usize, String, String)> {
        let first = table.first_column();
        let keys = strings(view, first + column::KEYS);
        let owners = view.count(first + column::OWNER_OFFSETS).saturating_sub(1);
        let mut out = Vec::new();
        for owner in 0..owners {
            let (start, end) = view.range_at(first + column::OWNER_OFFSETS, owner).unwrap();
            for row in start as usize..end as usize {
                let key = view.u32_at(first + column::KEY, row).unwrap();
                out.push((owner, keys[key as usize].clone(), render(view, table, row)));
            }
        }
        out
    }

    use wit::AttributeSelection as Sel;

    fn fields_only(fields: wit::SpanFields) -> Needs {
        needs(fields, Sel::None, Sel::None, Sel::None, Sel::None)
    }

    #[test]
    fn undeclared_columns_stay_empty() {
        let mut columns = Columns::default();
        columns.build(&sample_request(), &fields_only(wit::SpanFields::empty()));
        assert_eq!(columns.batch.len, 3);
        let view = view(&columns);
        for index in 0..column::COUNT {
            assert_eq!(view.count(index), 0, "{}", column::NAMES[index]);
        }
        assert_eq!(columns.batch.columns.len(), column::DIRECTORY_BYTES);
        assert!(columns.batch.strings.is_empty());
    }

    #[test]
    fn span_fields_are_columns() {
        let mut columns = Columns::default();
        let request = sample_request();
        columns.build(&request, &fields_only(wit::SpanFields::all()));
        let view = view(&columns);
        let first_trace: Vec<u8> = (1..=16).collect();
        assert_eq!(
            ids(&view, column::TRACE_ID),
            vec![first_trace.clone(), first_trace, vec![2; 16]]
        );
        assert_eq!(
            ids(&view, column::SPAN_ID),
            vec![
                vec![0, 0, 0, 0, 0, 0, 0, 7],
                vec![0, 0, 0, 0, 0, 0, 0, 8],
                vec![3; 8]
            ]
        );
        assert_eq!(
            ids(&view, column::PARENT_SPAN_ID),
            vec![vec![0; 8], vec![0, 0, 0, 0, 0, 0, 0, 7], vec![0; 8]]
        );
        assert_eq!(strings(&view, column::SERVICES), vec!["checkout", "cart"]);
        assert_eq!(u32s(&view, column::SERVICE), vec![0, 0, 1]);
        assert_eq!(
            strings(&view, column::NAME),
            vec!["GET /", "SELECT", "add to cart"]
        );
        assert_eq!(u8s(&view, column::KIND), vec![2, 3, 0]);
        assert_eq!(u64s(&view, column::START), vec![10, 0, 0]);
        assert_eq!(u64s(&view, column::END), vec![25, 0, 0]);
        assert_eq!(u8s(&view, column::STATUS), vec![1, 0, 2]);
        assert_eq!(strings(&view, column::STATUS_MESSAGE), vec!["fine", "", ""]);
        let first_span = &request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            view.u32_at(column::SIZE, 0),
            Some(first_span.encoded_len() as u32)
        );
        assert_eq!(u32s(&view, column::EVENT_OFFSETS), vec![0, 2, 2, 2]);
        assert_eq!(
            strings(&view, column::EVENT_NAMES),
            vec!["exception", "retry"]
        );
        // Links are columns only with link attributes declared.
        assert_eq!(view.count(column::LINK_OFFSETS), 0);
        assert_eq!(view.count(column::RESOURCE), 0);
        assert_eq!(
            columns.events,
            vec![
                Member {
                    span: 0,
                    position: 0
                },
                Member {
                    span: 0,
                    position: 1
                }
            ]
        );
    }

    #[test]
    fn attribute_selections() {
        let request = sample_request();
        let mut columns = Columns::default();
        let keys = Sel::Keys(vec![
            "secret".to_owned(),
            "ratio".to_owned(),
            "absent".to_owned(),
        ]);
        columns.build(
            &request,
            &needs(
                wit::SpanFields::empty(),
                keys,
                Sel::None,
                Sel::None,
                Sel::None,
            ),
        );
        let batch = view(&columns);
        assert_eq!(
            rows(&batch, Table::Span),
            vec![
                (0, "secret".to_owned(), "str:hunter2".to_owned()),
                (1, "ratio".to_owned(), "double:0.5".to_owned()),
                (2, "secret".to_owned(), "str:pw".to_owned()),
            ]
        );
        let first = Table::Span.first_column();
        assert_eq!(
            strings(&batch, first + column::KEYS),
            vec!["secret", "ratio"]
        );
        let attributes: Vec<u32> = columns.rows[0].iter().map(|row| row.attribute).collect();
        assert_eq!(attributes, vec![2, 1, 0]);
        let owners: Vec<u32> = columns.rows[0].iter().map(|row| row.owner).collect();
        assert_eq!(owners, vec![0, 1, 2]);
        assert_eq!(
            u32s(&batch, first + column::OWNER_OFFSETS),
            vec![0, 1, 2, 3]
        );

        columns.build(
            &request,
            &needs(
                wit::SpanFields::empty(),
                Sel::AllStrings,
                Sel::None,
                Sel::None,
                Sel::None,
            ),
        );
        let batch = view(&columns);
        assert_eq!(
            rows(&batch, Table::Span),
            vec![
                (0, "http.method".to_owned(), "str:GET".to_owned()),
                (0, "secret".to_owned(), "str:hunter2".to_owned()),
                (2, "secret".to_owned(), "str:pw".to_owned()),
            ]
        );
        assert_eq!(
            strings(&batch, first + column::KEYS),
            vec!["http.method", "secret"]
        );

        columns.build(
            &request,
            &needs(
                wit::SpanFields::empty(),
                Sel::All,
                Sel::None,
                Sel::None,
                Sel::None,
            ),
        );
        let batch = view(&columns);
        assert_eq!(
            rows(&batch, Table::Span),
            vec![
                (0, "http.method".to_owned(), "str:GET".to_owned()),
                (0, "http.status_code".to_owned(), "int:200".to_owned()),
                (0, "secret".to_owned(), "str:hunter2".to_owned()),
                (1, "db.ok".to_owned(), "bool:1".to_owned()),
                (1, "ratio".to_owned(), "double:0.5".to_owned()),
                (1, "list".to_owned(), r#"json:["a\"b",-3]"#.to_owned()),
                (2, "secret".to_owned(), "str:pw".to_owned()),
                (2, "map".to_owned(), r#"json:{"k":"AQID"}"#.to_owned()),
            ]
        );
        assert_eq!(batch.count(first + column::VALUE_KIND), 8);
        assert_eq!(batch.count(first + column::VALUE), 8);
    }

    #[test]
    fn resource_event_and_link_attributes() {
        let request = sample_request();
        let mut columns = Columns::default();
        columns.build(
            &request,
            &needs(
                wit::SpanFields::empty(),
                Sel::None,
                Sel::AllStrings,
                Sel::All,
                Sel::Keys(vec!["link.kind".to_owned()]),
            ),
        );
        let batch = view(&columns);
        assert_eq!(u32s(&batch, column::RESOURCE), vec![0, 0, 1]);
        assert_eq!(
            rows(&batch, Table::Resource),
            vec![
                (0, "service.name".to_owned(), "str:checkout".to_owned()),
                (0, "host".to_owned(), "str:a".to_owned()),
                (1, "service.name".to_owned(), "str:cart".to_owned()),
            ]
        );
        assert_eq!(u32s(&batch, column::EVENT_OFFSETS), vec![0, 2, 2, 2]);
        assert_eq!(
            batch.count(column::EVENT_NAMES),
            0,
            "event names not declared"
        );
        assert_eq!(
            rows(&batch, Table::Event),
            vec![(0, "exception.message".to_owned(), "str:boom".to_owned())]
        );
        assert_eq!(
            u32s(&batch, Table::Event.first_column() + column::OWNER_OFFSETS),
            vec![0, 1, 1]
        );
        assert_eq!(u32s(&batch, column::LINK_OFFSETS), vec![0, 0, 1, 1]);
        assert_eq!(
            rows(&batch, Table::Link),
            vec![(0, "link.kind".to_owned(), "str:follows".to_owned())]
        );
        assert_eq!(
            columns.links,
            vec![Member {
                span: 1,
                position: 0
            }]
        );
        assert_eq!(
            columns.rows[Table::Resource as usize][2],
            Row {
                owner: 1,
                attribute: 0
            }
        );
    }

    #[test]
    fn dictionaries_restart_per_batch() {
        let request = sample_request();
        let mut columns = Columns::default();
        let all = needs(
            wit::SpanFields::empty(),
            Sel::All,
            Sel::None,
            Sel::None,
            Sel::None,
        );
        columns.build(&request, &all);
        let first = columns.batch.clone();
        let mut only_third = request.clone();
        only_third.resource_spans.remove(0);
        columns.build(&only_third, &all);
        let batch = view(&columns);
        let table = Table::Span.first_column();
        assert_eq!(strings(&batch, table + column::KEYS), vec!["secret", "map"]);
        assert_eq!(u32s(&batch, table + column::KEY), vec![0, 1]);
        columns.build(&request, &all);
        assert_eq!(columns.batch, first);
    }

    #[test]
    fn a_warm_slot_builds_without_allocating() {
        let request = sample_request();
        let mut columns = Columns::default();
        let everything = needs(
            wit::SpanFields::all(),
            Sel::All,
            Sel::All,
            Sel::All,
            Sel::All,
        );
        columns.build(&request, &everything);
        columns.build(&request, &everything);
        let buffers = (
            columns.batch.columns.as_ptr(),
            columns.batch.strings.as_ptr(),
        );
        for _ in 0..3 {
            columns.build(&request, &everything);
            assert_eq!(
                (
                    columns.batch.columns.as_ptr(),
                    columns.batch.strings.as_ptr()
                ),
                buffers
            );
        }
    }

    #[test]
    fn keys_at_the_same_position_may_differ_between_owners() {
        let mut request = sample_request();
        let spans = &mut request.resource_spans[0].scope_spans[0].spans;
        spans[0].attributes = vec![kv("a", string("1")), kv("b", string("2"))];
        spans[1].attributes = vec![
            kv("b", string("3")),
            kv("a", string("4")),
            kv("c", string("5")),
        ];
        let mut columns = Columns::default();
        let all = needs(
            wit::SpanFields::empty(),
            Sel::All,
            Sel::None,
            Sel::None,
            Sel::None,
        );
        columns.build(&request, &all);
        let batch = view(&columns);
        let table = Table::Span.first_column();
        assert_eq!(
            strings(&batch, table + column::KEYS),
            vec!["a", "b", "c", "secret", "map"]
        );
        assert_eq!(u32s(&batch, table + column::KEY), vec![0, 1, 1, 0, 2, 3, 4]);
        let values: Vec<String> = (0..5).map(|row| render(&batch, Table::Span, row)).collect();
        assert_eq!(values, ["str:1", "str:2", "str:3", "str:4", "str:5"]);
    }

    proptest::proptest! {
        /// Whatever the owners' shapes (the key predictions hit or miss), every row's
        /// key id names its own key, across consecutive batches.
        #[test]
        fn every_row_names_its_key(
            shapes in proptest::collection::vec(
                proptest::collection::vec(0usize..6, 0..6), 1..12),
            batches in 1usize..3,
        ) {
            const KEYS: [&str; 6] = ["a", "b", "c", "http.method", "http.route", "b2"];
            let mut request = sample_request();
            request.resource_spans.truncate(1);
            request.resource_spans[0].scope_spans.truncate(1);
            let spans = &mut request.resource_spans[0].scope_spans[0].spans;
            let template = spans[0].clone();
            spans.clear();
            for shape in &shapes {
                let mut span = template.clone();
                span.attributes = shape
                    .iter()
                    .map(|&key| kv(KEYS[key], string("v")))
                    .collect();
                spans.push(span);
            }
            let all = needs(wit::SpanFields::empty(), Sel::All, Sel::None, Sel::None, Sel::None);
            let mut columns = Columns::default();
            for _ in 0..batches {
                columns.build(&request, &all);
                let expected: Vec<(usize, String, String)> = shapes
                    .iter()
                    .enumerate()
                    .flat_map(|(owner, shape)| {
                        shape.iter().map(move |&key| (owner, KEYS[key].to_owned(), "str:v".to_owned()))
                    })
                    .collect();
                proptest::prop_assert_eq!(rows(&view(&columns), Table::Span), expected);
            }
        }
    }

    #[test]
    fn odd_ids_are_cut_or_padded() {
        let mut request = sample_request();
        request.resource_spans[0].scope_spans[0].spans[0].trace_id = vec![1, 2, 3];
        request.resource_spans[0].scope_spans[0].spans[0].span_id = vec![5; 9];
        let mut columns = Columns::default();
        columns.build(&request, &fields_only(wit::SpanFields::all()));
        let batch = view(&columns);
        let mut padded = [0u8; 16];
        padded[..3].copy_from_slice(&[1, 2, 3]);
        assert_eq!(batch.id_at(column::TRACE_ID, 0), Some(&padded[..]));
        assert_eq!(batch.id_at(column::SPAN_ID, 0), Some(&[5u8; 8][..]));
    }

    #[test]
    fn unknown_kinds_and_status_codes_are_unspecified_and_unset() {
        let mut request = sample_request();
        let span = &mut request.resource_spans[0].scope_spans[0].spans[0];
        span.kind = 9;
        span.status.as_mut().unwrap().code = -1;
        let mut columns = Columns::default();
        columns.build(
            &request,
            &fields_only(wit::SpanFields::KIND | wit::SpanFields::STATUS),
        );
        let batch = view(&columns);
        assert_eq!(u8s(&batch, column::KIND), vec![0, 3, 0]);
        assert_eq!(u8s(&batch, column::STATUS), vec![0, 0, 2]);
    }
}
