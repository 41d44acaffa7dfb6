//! The string arena of a batch: string references resolved to `&str`.
//!
//! A string reads as its bytes when they are UTF-8, and as "" otherwise (the host never
//! sends such a string; this is about not trapping). The arena is checked for UTF-8
//! once, on the first string read, after which each read is a slice with a
//! character-boundary check: a slice of valid UTF-8 is valid exactly when it starts and
//! ends on character boundaries, so both paths give the same answer.

use std::cell::OnceCell;

use spangate_plugin_abi::StrRef;

/// An arena and what is known of its UTF-8 validity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arena<'a> {
    bytes: &'a [u8],
    utf8: &'a OnceCell<bool>,
}

impl<'a> Arena<'a> {
    pub(crate) fn new(bytes: &'a [u8], utf8: &'a OnceCell<bool>) -> Self {
        Arena { bytes, utf8 }
    }

    /// The referenced bytes, unchecked; empty when the reference lies outside the arena.
    #[inline]
    pub(crate) fn bytes(self, reference: StrRef) -> &'a [u8] {
        reference.get(self.bytes).unwrap_or_default()
    }

    /// The referenced string; "" when it lies outside the arena or is not UTF-8.
    #[inline]
    #[allow(unsafe_code)] // unchecked UTF-8 of a checked arena; see SAFETY below
    pub(crate) fn text(self, reference: StrRef) -> &'a str {
        let whole_arena_is_utf8 = *self
            .utf8
            .get_or_init(|| std::str::from_utf8(self.bytes).is_ok());
        if !whole_arena_is_utf8 {
            return std::str::from_utf8(self.bytes(reference)).unwrap_or("");
        }
        // SAFETY: `utf8` belongs to this very arena (both are fields of one `SpanBatch`,
        // immutable behind its shared borrow) and holds `true` only when `from_utf8`
        // accepted all of its bytes. `str::get` refuses ranges off character boundaries,
        // so no invalid `&str` is made from it.
        let text = unsafe { std::str::from_utf8_unchecked(self.bytes) };
        let start = reference.offset as usize;
        start
            .checked_add(reference.len as usize)
            .and_then(|end| text.get(start..end))
            .unwrap_or("")
    }
}
