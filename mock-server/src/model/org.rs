//! Organizations: every resource lives in exactly one, and a bearer token names one.

use std::{fmt, sync::Arc};

use uuid::Uuid;

use super::uuid_text;

/// The organization a caller belongs to. Every resource lives in exactly one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(Arc<str>);

impl OrgId {
    /// An organization id as a snapshot names it: a UUID.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text)
            .ok()
            .map(|uuid| Self(uuid_text(uuid).into()))
    }

    /// The organization id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrgId({})", self.0)
    }
}

/// Namespace for deriving organization ids from tokens (UUIDv5), so the same token always maps
/// to the same organization and the id reveals nothing about the token.
const ORG_NAMESPACE: Uuid = Uuid::from_u128(0x6f2c_51d4_93a1_4b1e_8d57_2a0e_c3f1_9b44);

/// The organization a token belongs to.
pub(crate) fn org_for_token(token: &str) -> OrgId {
    OrgId(uuid_text(Uuid::new_v5(&ORG_NAMESPACE, token.as_bytes())).into())
}
