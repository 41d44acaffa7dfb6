//! The plugin host's column builder and edit applier, for the fuzz targets (`fuzz/`,
//! re-exported by `crate::fuzzing`): what `running.rs` does around a processor call,
//! with the plugin's declaration and answer given as plain data (no WebAssembly runs).

use super::bindings::wit;
use super::columns::Columns;
use super::convert::{FIELD_NAMES, Needs};
use super::edits::{EditScratch, apply_edits};
use crate::model::ExportTraceServiceRequest;

/// Which attributes of one kind a plugin declared it reads (`attribute-selection`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeSelection {
    None,
    Keys(Vec<String>),
    AllStrings,
    All,
}

/// A plugin's declaration: `fields` holds one bit per `span-fields` flag, in the order
/// wit/plugin.wit lists them; selections for span, resource, event, link attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginNeeds {
    pub fields: u16,
    pub selections: [AttributeSelection; 4],
}

/// What the host handed the plugin and what became of its answer.
#[derive(Debug)]
pub struct ProcessorCall {
    /// The batch: `span-batch.len`, `.columns` and `.strings`.
    pub spans: u32,
    pub columns: Vec<u8>,
    pub strings: Vec<u8>,
    /// The answer's outcome: the number of spans dropped, or why it was refused.
    pub outcome: Result<usize, String>,
}

fn selection(selection: &AttributeSelection) -> wit::AttributeSelection {
    match selection {
        AttributeSelection::None => wit::AttributeSelection::None,
        AttributeSelection::Keys(keys) => wit::AttributeSelection::Keys(keys.clone()),
        AttributeSelection::AllStrings => wit::AttributeSelection::AllStrings,
        AttributeSelection::All => wit::AttributeSelection::All,
    }
}

/// Builds the columns of `request` for a processor declaring `needs`, then checks and
/// applies its answer (edit `records` and `strings`) to `request`.
pub fn process(
    request: &mut ExportTraceServiceRequest,
    needs: &PluginNeeds,
    records: Vec<u8>,
    strings: Vec<u8>,
) -> ProcessorCall {
    let fields = FIELD_NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| needs.fields & (1 << bit) != 0)
        .fold(wit::SpanFields::empty(), |all, (_, (flag, _))| all | *flag);
    let [span, resource, event, link] = &needs.selections;
    let needs = Needs::from_wit(&wit::Needs {
        name: "fuzz".to_owned(),
        version: "0".to_owned(),
        fields,
        span_attributes: selection(span),
        resource_attributes: selection(resource),
        event_attributes: selection(event),
        link_attributes: selection(link),
    });
    let mut columns = Columns::default();
    columns.build(request, &needs);
    let edits = wit::Edits { records, strings };
    let outcome = apply_edits(
        request,
        &edits,
        &columns,
        &needs,
        &mut EditScratch::default(),
    )
    .map_err(|invalid| invalid.0);
    ProcessorCall {
        spans: columns.span_count(),
        columns: columns.batch.columns,
        strings: columns.batch.strings,
        outcome,
    }
}
