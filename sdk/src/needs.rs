//! Building [`Needs`]: what a plugin reads, declared at `init`.

use crate::bindings::types::{AttributeSelection, Needs, SpanFields, SpanKind, StatusCode};

// The enums are generated, so `#[derive(Default)]` is not ours to add.
#[allow(clippy::derivable_impls)]
impl Default for SpanKind {
    fn default() -> Self {
        SpanKind::Unspecified
    }
}

#[allow(clippy::derivable_impls)]
impl Default for StatusCode {
    fn default() -> Self {
        StatusCode::Unset
    }
}

impl Needs {
    /// Needs named `name`/`version` that read nothing: add fields and attributes with
    /// the builder methods below (or [`needs!`](crate::needs!), which fills in the
    /// crate's version).
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Needs {
            name: name.into(),
            version: version.into(),
            fields: SpanFields::empty(),
            span_attributes: AttributeSelection::None,
            resource_attributes: AttributeSelection::None,
            event_attributes: AttributeSelection::None,
            link_attributes: AttributeSelection::None,
        }
    }

    /// Sets the span fields read (replacing any set before).
    pub fn fields(mut self, fields: SpanFields) -> Self {
        self.fields = fields;
        self
    }

    pub fn span_attributes(mut self, selection: AttributeSelection) -> Self {
        self.span_attributes = selection;
        self
    }

    pub fn resource_attributes(mut self, selection: AttributeSelection) -> Self {
        self.resource_attributes = selection;
        self
    }

    pub fn event_attributes(mut self, selection: AttributeSelection) -> Self {
        self.event_attributes = selection;
        self
    }

    pub fn link_attributes(mut self, selection: AttributeSelection) -> Self {
        self.link_attributes = selection;
        self
    }

    /// `span_attributes(AttributeSelection::keys(keys))`; an empty list still selects
    /// (no rows arrive, and `add_span_attribute` is allowed).
    pub fn span_keys<K: Into<String>>(self, keys: impl IntoIterator<Item = K>) -> Self {
        self.span_attributes(AttributeSelection::keys(keys))
    }

    /// `resource_attributes(AttributeSelection::keys(keys))`.
    pub fn resource_keys<K: Into<String>>(self, keys: impl IntoIterator<Item = K>) -> Self {
        self.resource_attributes(AttributeSelection::keys(keys))
    }
}

impl AttributeSelection {
    /// `Keys` from any list of names.
    pub fn keys<K: Into<String>>(keys: impl IntoIterator<Item = K>) -> Self {
        AttributeSelection::Keys(keys.into_iter().map(Into::into).collect())
    }

    /// `Keys` from the list, or `None` when it is empty (nothing to read, and nothing
    /// added either).
    pub fn keys_or_none<K: Into<String>>(keys: impl IntoIterator<Item = K>) -> Self {
        match AttributeSelection::keys(keys) {
            AttributeSelection::Keys(keys) if keys.is_empty() => AttributeSelection::None,
            selection => selection,
        }
    }

    /// Whether an attribute with this key and value is sent under this selection
    /// (`is_string`: the value is a plain string, not JSON text of a non-scalar).
    pub fn selects(&self, key: &str, is_string: bool) -> bool {
        match self {
            AttributeSelection::None => false,
            AttributeSelection::Keys(keys) => keys.iter().any(|wanted| wanted == key),
            AttributeSelection::AllStrings => is_string,
            AttributeSelection::All => true,
        }
    }
}

/// [`Needs`] named `$name`, at the calling crate's version (`CARGO_PKG_VERSION`),
/// reading the span fields listed by flag name:
///
/// ```
/// use spangate_plugin_sdk::{AttributeSelection, Needs, SpanFields, needs};
///
/// let short = needs!("tag-slow-requests", TIMES | NAME).span_keys(["slow"]);
/// let long = Needs::new("tag-slow-requests", env!("CARGO_PKG_VERSION"))
///     .fields(SpanFields::TIMES | SpanFields::NAME)
///     .span_attributes(AttributeSelection::keys(["slow"]));
/// assert_eq!(short, long);
/// assert_eq!(needs!("nothing").fields, SpanFields::empty());
/// ```
#[macro_export]
macro_rules! needs {
    ($name:expr $(,)?) => {
        $crate::Needs::new($name, ::core::env!("CARGO_PKG_VERSION"))
    };
    ($name:expr, $($field:ident)|+ $(,)?) => {
        $crate::Needs::new($name, ::core::env!("CARGO_PKG_VERSION"))
            .fields($($crate::SpanFields::$field)|+)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_or_none_selects_nothing_for_no_keys() {
        assert_eq!(
            AttributeSelection::keys_or_none(Vec::<String>::new()),
            AttributeSelection::None
        );
        assert_eq!(
            AttributeSelection::keys_or_none(["a"]),
            AttributeSelection::Keys(vec!["a".into()])
        );
        assert_eq!(
            Needs::new("n", "1")
                .span_keys(Vec::<String>::new())
                .span_attributes,
            AttributeSelection::Keys(Vec::new())
        );
        assert_eq!(
            Needs::new("n", "1")
                .resource_keys(["host"])
                .resource_attributes,
            AttributeSelection::keys(["host"])
        );
    }
}
