//! Edit records decoded into [`Edit`]s, with the contract's checks on each record alone
//! (known op, writable value kind, string references inside the string buffer and
//! UTF-8). Checks against the batch (ranges, declared fields) are the host's, modelled
//! by `testing::apply_edits`.

use spangate_plugin_abi::{EditRecord, StrRef, op, value_kind};

use super::value::AttributeValue;

/// One edit, decoded: what a record asks for, in the WIT's terms.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// (span attribute row, new value)
    SetSpanAttribute(u32, AttributeValue),
    /// span attribute row
    RemoveSpanAttribute(u32),
    /// (span index, key, value); a key the span has gets its value replaced
    AddSpanAttribute(u32, String, AttributeValue),
    SetResourceAttribute(u32, AttributeValue),
    RemoveResourceAttribute(u32),
    SetEventAttribute(u32, AttributeValue),
    RemoveEventAttribute(u32),
    SetLinkAttribute(u32, AttributeValue),
    RemoveLinkAttribute(u32),
    /// (span index, new name)
    SetName(u32, String),
    /// (span index, new message)
    SetStatusMessage(u32, String),
    /// (global event index, new name)
    SetEventName(u32, String),
    /// span index
    DropSpan(u32),
}

impl Edit {
    /// Decodes one record whose strings are in `strings`.
    pub fn decode(record: &EditRecord, strings: &[u8]) -> Result<Edit, String> {
        let target = record.target;
        let value = || decode_value(record, strings);
        let text = || {
            if record.kind != value_kind::STR {
                return Err(format!(
                    "the value must be a `str` (kind 0), not kind {}",
                    record.kind
                ));
            }
            string(StrRef::from_u64(record.value), strings, "value")
        };
        Ok(match record.op {
            op::SET_SPAN_ATTRIBUTE => Edit::SetSpanAttribute(target, value()?),
            op::REMOVE_SPAN_ATTRIBUTE => Edit::RemoveSpanAttribute(target),
            op::ADD_SPAN_ATTRIBUTE => {
                let key = string(record.key, strings, "key")?;
                Edit::AddSpanAttribute(target, key, value()?)
            }
            op::SET_RESOURCE_ATTRIBUTE => Edit::SetResourceAttribute(target, value()?),
            op::REMOVE_RESOURCE_ATTRIBUTE => Edit::RemoveResourceAttribute(target),
            op::SET_EVENT_ATTRIBUTE => Edit::SetEventAttribute(target, value()?),
            op::REMOVE_EVENT_ATTRIBUTE => Edit::RemoveEventAttribute(target),
            op::SET_LINK_ATTRIBUTE => Edit::SetLinkAttribute(target, value()?),
            op::REMOVE_LINK_ATTRIBUTE => Edit::RemoveLinkAttribute(target),
            op::SET_NAME => Edit::SetName(target, text()?),
            op::SET_STATUS_MESSAGE => Edit::SetStatusMessage(target, text()?),
            op::SET_EVENT_NAME => Edit::SetEventName(target, text()?),
            op::DROP_SPAN => Edit::DropSpan(target),
            unknown => return Err(format!("unknown op {unknown}")),
        })
    }

    /// The WIT name of the edit and what it addresses, as error messages show it:
    /// `set-name span 3`.
    pub fn describe(&self) -> String {
        match self {
            Edit::SetSpanAttribute(row, _) => format!("set-span-attribute row {row}"),
            Edit::RemoveSpanAttribute(row) => format!("remove-span-attribute row {row}"),
            Edit::AddSpanAttribute(span, key, _) => {
                format!("add-span-attribute span {span} key {key:?}")
            }
            Edit::SetResourceAttribute(row, _) => format!("set-resource-attribute row {row}"),
            Edit::RemoveResourceAttribute(row) => format!("remove-resource-attribute row {row}"),
            Edit::SetEventAttribute(row, _) => format!("set-event-attribute row {row}"),
            Edit::RemoveEventAttribute(row) => format!("remove-event-attribute row {row}"),
            Edit::SetLinkAttribute(row, _) => format!("set-link-attribute row {row}"),
            Edit::RemoveLinkAttribute(row) => format!("remove-link-attribute row {row}"),
            Edit::SetName(span, _) => format!("set-name span {span}"),
            Edit::SetStatusMessage(span, _) => format!("set-status-message span {span}"),
            Edit::SetEventName(event, _) => format!("set-event-name event {event}"),
            Edit::DropSpan(span) => format!("drop-span span {span}"),
        }
    }
}

fn decode_value(record: &EditRecord, strings: &[u8]) -> Result<AttributeValue, String> {
    Ok(match record.kind {
        value_kind::STR => {
            AttributeValue::Str(string(StrRef::from_u64(record.value), strings, "value")?)
        }
        value_kind::INT => AttributeValue::Int(record.value as i64),
        value_kind::DOUBLE => AttributeValue::Double(f64::from_bits(record.value)),
        value_kind::BOOL => AttributeValue::Boolean(record.value != 0),
        value_kind::JSON => return Err("a `json` value (kind 4) cannot be written".to_owned()),
        unknown => return Err(format!("unknown value kind {unknown}")),
    })
}

fn string(reference: StrRef, strings: &[u8], what: &str) -> Result<String, String> {
    let bytes = reference.get(strings).ok_or_else(|| {
        format!(
            "the {what} string (offset {}, length {}) lies outside the {}-byte string buffer",
            reference.offset,
            reference.len,
            strings.len()
        )
    })?;
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(_) => Err(format!("the {what} string is not UTF-8")),
    }
}
