//! What the plugin reads of a span, as its config decides: the component
//! declares exactly this to the host, so nothing else crosses the boundary.

/// Span fields and attribute keys read by the enabled processors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    pub trace_id: bool,
    pub span_id: bool,
    pub parent_span_id: bool,
    /// The resource's `service.name`.
    pub service_name: bool,
    pub name: bool,
    pub kind: bool,
    /// Start and end times.
    pub times: bool,
    pub status: bool,
    pub status_message: bool,
    /// The encoded size.
    pub size: bool,
    /// Resource attribute keys, sorted, without duplicates.
    pub resource_keys: Vec<String>,
    /// Span attribute keys, sorted, without duplicates.
    pub span_keys: Vec<String>,
}

impl Reads {
    /// `key` is looked up in the resource first, then in the span.
    pub fn resource_then_span(&mut self, key: &str) {
        insert_sorted(&mut self.resource_keys, key);
        insert_sorted(&mut self.span_keys, key);
    }

    /// `key` is looked up in the span attributes only.
    pub fn span_only(&mut self, key: &str) {
        insert_sorted(&mut self.span_keys, key);
    }
}

fn insert_sorted(keys: &mut Vec<String>, key: &str) {
    if let Err(at) = keys.binary_search_by(|k| k.as_str().cmp(key)) {
        keys.insert(at, key.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_unique() {
        let mut reads = Reads::default();
        reads.resource_then_span("b");
        reads.span_only("c");
        reads.resource_then_span("a");
        reads.span_only("b");
        assert_eq!(reads.resource_keys, ["a", "b"]);
        assert_eq!(reads.span_keys, ["a", "b", "c"]);
    }
}
