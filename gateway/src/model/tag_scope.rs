//! Where an attribute name lives, as tag autocompletion speaks of it: the scope the
//! store indexes attribute keys by, and the scope a tag-name request asks for.

/// A scope of attribute names, plus `Intrinsic` for the fixed names (`name`, `status`,
/// `span:duration`, ...) that are not attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagScope {
    Resource,
    Span,
    Event,
    Link,
    Instrumentation,
    /// Intrinsics: a fixed list the query layer adds itself; nothing is stored for it.
    Intrinsic,
}

impl TagScope {
    /// Attribute scopes, in the order Tempo's v2 tag answer lists them.
    pub const ATTRIBUTE_SCOPES: [TagScope; 5] = [
        TagScope::Resource,
        TagScope::Span,
        TagScope::Event,
        TagScope::Link,
        TagScope::Instrumentation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagScope::Resource => "resource",
            TagScope::Span => "span",
            TagScope::Event => "event",
            TagScope::Link => "link",
            TagScope::Instrumentation => "instrumentation",
            TagScope::Intrinsic => "intrinsic",
        }
    }
}
