//! The model: what the mock stores and the rules of time it follows, with no knowledge of
//! calls, protocols or files. Organizations and ids, the per-organization store, the
//! CREATING/UPDATING/DELETING lifecycle, clocks, zones, and the domain errors that every
//! protocol renders.
//!
//! Every other wing builds on this one; it imports none of them.

pub(crate) mod clock;
pub(crate) mod error;
pub(crate) mod lifecycle;
mod org;
pub(crate) mod store;
pub(crate) mod zones;

pub(crate) use org::org_for_token;
pub use org::OrgId;

/// The hash map of the per-call lookups (organizations, resources, tokens): foldhash, seeded
/// per map, several times cheaper per lookup than the standard SipHash. The keys are bounded
/// in number (quotas, the token memory) and mostly made by the server.
pub(crate) type Map<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The most characters of any caller's text (an id, a name, a key) that a message, a log
/// line or the journal quotes; the rest is cut and marked with `…`.
pub(crate) const MAX_QUOTED_CHARS: usize = 100;

/// `text` as messages quote it: whole when short, else its first [`MAX_QUOTED_CHARS`]
/// characters and `…`.
pub(crate) fn quoted(text: &str) -> std::borrow::Cow<'_, str> {
    coreweave_api::text::cut(text, MAX_QUOTED_CHARS)
}

/// A UUID as the API spells every id: lowercase and hyphenated.
pub(crate) fn uuid_text(id: uuid::Uuid) -> String {
    id.hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_is_cut_at_a_character_boundary() {
        assert_eq!(quoted("short"), "short");
        let long = "é".repeat(MAX_QUOTED_CHARS + 5);
        let shown = quoted(&long);
        assert_eq!(shown.chars().count(), MAX_QUOTED_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
