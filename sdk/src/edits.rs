//! The edits a processor answers with, built by name instead of by wit variant.
//!
//! Edits address the batch the processor was given: attribute rows
//! ([`Attribute::row`](crate::batch::Attribute::row)), span indexes
//! ([`SpanView::index`](crate::batch::SpanView::index)) or event indexes
//! ([`EventView::index`](crate::batch::EventView::index)). The host checks each one
//! (in range, field declared; a row both set and removed is refused) and applies them to
//! its own spans.

use crate::bindings::types::{AttributeValue, Edit};

/// The edits of one `process` call, in the order they were asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Edits {
    edits: Vec<Edit>,
}

impl Edits {
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the value of span-attribute row `row` (the key stays).
    pub fn set_span_attribute(&mut self, row: u32, value: AttributeValue) {
        self.edits.push(Edit::SetSpanAttribute((row, value)));
    }

    pub fn remove_span_attribute(&mut self, row: u32) {
        self.edits.push(Edit::RemoveSpanAttribute(row));
    }

    /// Adds attribute `key` to span `span` (the host replaces the value if the span
    /// already has `key`).
    pub fn add_span_attribute(&mut self, span: u32, key: impl Into<String>, value: AttributeValue) {
        self.edits
            .push(Edit::AddSpanAttribute((span, key.into(), value)));
    }

    /// Replaces the value of resource-attribute row `row`: every span of that resource
    /// sees the change.
    pub fn set_resource_attribute(&mut self, row: u32, value: AttributeValue) {
        self.edits.push(Edit::SetResourceAttribute((row, value)));
    }

    pub fn remove_resource_attribute(&mut self, row: u32) {
        self.edits.push(Edit::RemoveResourceAttribute(row));
    }

    pub fn set_event_attribute(&mut self, row: u32, value: AttributeValue) {
        self.edits.push(Edit::SetEventAttribute((row, value)));
    }

    pub fn remove_event_attribute(&mut self, row: u32) {
        self.edits.push(Edit::RemoveEventAttribute(row));
    }

    pub fn set_link_attribute(&mut self, row: u32, value: AttributeValue) {
        self.edits.push(Edit::SetLinkAttribute((row, value)));
    }

    pub fn remove_link_attribute(&mut self, row: u32) {
        self.edits.push(Edit::RemoveLinkAttribute(row));
    }

    /// Renames span `span` (needs the `name` field declared).
    pub fn set_name(&mut self, span: u32, name: impl Into<String>) {
        self.edits.push(Edit::SetName((span, name.into())));
    }

    /// Needs the `status-message` field declared.
    pub fn set_status_message(&mut self, span: u32, message: impl Into<String>) {
        self.edits
            .push(Edit::SetStatusMessage((span, message.into())));
    }

    /// Renames global event `event` (needs `event-names` declared).
    pub fn set_event_name(&mut self, event: u32, name: impl Into<String>) {
        self.edits.push(Edit::SetEventName((event, name.into())));
    }

    /// Removes span `span` from the batch.
    pub fn drop_span(&mut self, span: u32) {
        self.edits.push(Edit::DropSpan(span));
    }

    pub fn len(&self) -> usize {
        self.edits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    pub fn as_slice(&self) -> &[Edit] {
        &self.edits
    }

    pub fn into_vec(self) -> Vec<Edit> {
        self.edits
    }

    /// Forgets every edit (keeps the allocation).
    pub fn clear(&mut self) {
        self.edits.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_builder_pushes_its_variant_in_order() {
        let mut edits = Edits::new();
        assert!(edits.is_empty());
        edits.set_span_attribute(1, AttributeValue::Int(2));
        edits.remove_span_attribute(3);
        edits.add_span_attribute(4, "k", AttributeValue::Boolean(true));
        edits.set_resource_attribute(5, AttributeValue::Str("r".into()));
        edits.remove_resource_attribute(6);
        edits.set_event_attribute(7, AttributeValue::Double(0.5));
        edits.remove_event_attribute(8);
        edits.set_link_attribute(9, AttributeValue::Int(-1));
        edits.remove_link_attribute(10);
        edits.set_name(11, "n");
        edits.set_status_message(12, String::from("m"));
        edits.set_event_name(13, "e");
        edits.drop_span(14);
        assert_eq!(edits.len(), 13);
        assert_eq!(
            edits.as_slice(),
            &[
                Edit::SetSpanAttribute((1, AttributeValue::Int(2))),
                Edit::RemoveSpanAttribute(3),
                Edit::AddSpanAttribute((4, "k".into(), AttributeValue::Boolean(true))),
                Edit::SetResourceAttribute((5, AttributeValue::Str("r".into()))),
                Edit::RemoveResourceAttribute(6),
                Edit::SetEventAttribute((7, AttributeValue::Double(0.5))),
                Edit::RemoveEventAttribute(8),
                Edit::SetLinkAttribute((9, AttributeValue::Int(-1))),
                Edit::RemoveLinkAttribute(10),
                Edit::SetName((11, "n".into())),
                Edit::SetStatusMessage((12, "m".into())),
                Edit::SetEventName((13, "e".into())),
                Edit::DropSpan(14),
            ]
        );
        let vec = edits.clone().into_vec();
        assert_eq!(vec.as_slice(), edits.as_slice());
        edits.clear();
        assert!(edits.is_empty());
    }
}
