//! The plugin host around a processor call: the columns built from a batch for a
//! fuzzed declaration, and a fuzzed answer (edit records) checked and applied. The
//! batch is a fixed sample (resources, events, links, every value type) or decoded from
//! the input. The columns always parse as the SDK reads them; a refused answer leaves
//! the request untouched; an applied one drops exactly the spans it says.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use spangate::fuzzing::{AttributeSelection, PluginNeeds, process};
use spangate::model::ExportTraceServiceRequest;
use spangate_plugin_abi::{BatchView, EditRecord, StrRef, push_string};

#[derive(Arbitrary, Debug)]
enum Batch {
    Sample,
    Protobuf(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Selection {
    None,
    Keys(Vec<String>),
    AllStrings,
    All,
}

/// A record's key or value: a string placed in the answer's strings, or raw bits.
#[derive(Arbitrary, Debug)]
enum Word {
    Text(String),
    Raw(u64),
}

#[derive(Arbitrary, Debug)]
struct Record {
    op: u8,
    kind: u8,
    /// Small, so that most targets exist in the batch.
    target: u8,
    key: Option<Word>,
    value: Word,
}

#[derive(Arbitrary, Debug)]
struct Input {
    batch: Batch,
    fields: u16,
    selections: [Selection; 4],
    records: Vec<Record>,
    /// Bytes appended to the records (a record cut short) and to the strings.
    ragged: Vec<u8>,
    junk_strings: Vec<u8>,
}

fn selection(selection: &Selection) -> AttributeSelection {
    match selection {
        Selection::None => AttributeSelection::None,
        Selection::Keys(keys) => AttributeSelection::Keys(keys.clone()),
        Selection::AllStrings => AttributeSelection::AllStrings,
        Selection::All => AttributeSelection::All,
    }
}

fn word(word: &Word, strings: &mut Vec<u8>) -> u64 {
    match word {
        Word::Text(text) => push_string(strings, text.as_bytes()).to_u64(),
        Word::Raw(bits) => *bits,
    }
}

fuzz_target!(|input: Input| {
    let mut request = match &input.batch {
        Batch::Sample => spangate_fuzz::sample_request(),
        Batch::Protobuf(bytes) => match ExportTraceServiceRequest::decode(bytes.as_slice()) {
            Ok(request) => request,
            Err(_) => return,
        },
    };
    // As ingest does before any plugin runs.
    spangate::fuzzing::retain_valid_spans(&mut request);
    let mut strings = Vec::new();
    let mut records = Vec::new();
    for record in &input.records {
        EditRecord {
            // Mostly ops that exist (1..=13), sometimes one that does not.
            op: record.op % 16,
            kind: record.kind % 6,
            target: u32::from(record.target),
            key: record
                .key
                .as_ref()
                .map(|key| StrRef::from_u64(word(key, &mut strings)))
                .unwrap_or_default(),
            value: word(&record.value, &mut strings),
        }
        .encode(&mut records);
    }
    records.extend_from_slice(&input.ragged[..input.ragged.len().min(23)]);
    strings.extend_from_slice(&input.junk_strings);
    let needs = PluginNeeds {
        fields: input.fields,
        selections: input.selections.each_ref().map(selection),
    };

    let before = request.encode_to_vec();
    let spans_before = spangate_fuzz::span_count(&request);
    let call = process(&mut request, &needs, records, strings);
    assert_eq!(call.spans as usize, spans_before);
    if let Err(error) = BatchView::parse(&call.columns, &call.strings) {
        panic!("the host built columns the SDK cannot read: {error:?}");
    }
    match call.outcome {
        Err(_) => assert_eq!(
            request.encode_to_vec(),
            before,
            "a refused answer changed the batch"
        ),
        Ok(dropped) => {
            assert_eq!(spangate_fuzz::span_count(&request), spans_before - dropped);
            if dropped > 0 {
                assert!(request.resource_spans.iter().all(|resource| {
                    resource
                        .scope_spans
                        .iter()
                        .all(|scope| !scope.spans.is_empty())
                }));
            }
            spangate_fuzz::check_protobuf_round_trip(&request);
        }
    }
});
