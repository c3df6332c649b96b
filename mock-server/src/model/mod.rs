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

/// A UUID as the API spells every id: lowercase and hyphenated.
pub(crate) fn uuid_text(id: uuid::Uuid) -> String {
    id.hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}
