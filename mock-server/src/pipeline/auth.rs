//! Bearer-token authentication and the token-to-organization mapping.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
};

use crate::model::{error::ApiError, org_for_token, Map, OrgId};

/// Decides which `authorization` headers are accepted and whose organization they name.
#[derive(Debug, Clone)]
pub(crate) struct Authenticator {
    accepted: Option<HashSet<String>>,
    /// The token that grants the whole-server scope on the control API (`--admin-token`).
    admin: Option<Arc<str>>,
    /// The organizations of recently accepted `authorization` headers, by a 128-bit keyed
    /// hash of the header, so that a call does not parse and hash its token again, and the
    /// memory holds no token. Only accepted headers are remembered.
    known: Arc<Mutex<Map<u128, OrgId>>>,
    /// The keys of that hash, drawn per server.
    seeds: [u64; 2],
}

impl Default for Authenticator {
    fn default() -> Self {
        Self {
            accepted: None,
            admin: None,
            known: Arc::default(),
            seeds: [fastrand::u64(..), fastrand::u64(..)],
        }
    }
}

/// The longest `authorization` header accepted, in bytes; a longer one is UNAUTHENTICATED.
pub(crate) const MAX_AUTHORIZATION_BYTES: usize = 4096;

/// How many tokens' organizations are remembered; the memory is emptied when full.
const KNOWN_TOKENS: usize = 4096;

impl Authenticator {
    /// Accepts any well-formed bearer token.
    pub(crate) fn any_token() -> Self {
        Self::default()
    }

    /// Accepts only the given tokens.
    pub(crate) fn only<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            accepted: Some(tokens.into_iter().map(Into::into).collect()),
            ..Self::default()
        }
    }

    /// Also grants the whole-server scope on the control API to `token`.
    pub(crate) fn with_admin(mut self, token: impl Into<Arc<str>>) -> Self {
        self.admin = Some(token.into());
        self
    }

    /// Whether only listed tokens are accepted (`--token`).
    pub(crate) fn restricts_tokens(&self) -> bool {
        self.accepted.is_some()
    }

    /// Whether an `authorization` header carries the admin token.
    pub(crate) fn is_admin(&self, header: &str) -> bool {
        let admin = self.admin.as_deref();
        admin.is_some() && parse_bearer(header).ok() == admin
    }

    /// Checks an `authorization` header value and returns the caller's organization.
    pub(crate) fn authenticate(&self, header: Option<&str>) -> Result<OrgId, ApiError> {
        let header = header.ok_or_else(|| {
            ApiError::Unauthenticated(
                "missing authorization header: send `authorization: Bearer <token>`".into(),
            )
        })?;
        if header.len() > MAX_AUTHORIZATION_BYTES {
            return Err(ApiError::Unauthenticated(format!(
                "the authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes"
            )));
        }
        let key = self.key(header);
        if let Some(org) = self.lock_known().get(&key) {
            return Ok(org.clone());
        }
        let token = parse_bearer(header)?;
        if let Some(accepted) = &self.accepted {
            if !accepted.contains(token) {
                return Err(ApiError::Unauthenticated(
                    "the bearer token is not valid for this server".into(),
                ));
            }
        }
        let org = org_for_token(token);
        let mut known = self.lock_known();
        if known.len() >= KNOWN_TOKENS {
            known.clear();
        }
        known.insert(key, org.clone());
        Ok(org)
    }

    /// The memory's key for a header.
    fn key(&self, header: &str) -> u128 {
        use std::hash::BuildHasher;
        let [a, b] = self
            .seeds
            .map(|seed| foldhash::quality::FixedState::with_seed(seed).hash_one(header));
        (u128::from(a) << 64) | u128::from(b)
    }

    fn lock_known(&self) -> std::sync::MutexGuard<'_, Map<u128, OrgId>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn parse_bearer(header: &str) -> Result<&str, ApiError> {
    let (scheme, token) = header.trim().split_once(' ').ok_or_else(|| {
        ApiError::Unauthenticated(
            "malformed authorization header: expected `Bearer <token>`".into(),
        )
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated(
            "unsupported authorization scheme: expected `Bearer <token>`".into(),
        ));
    }
    let token = token.trim();
    let well_formed = !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic());
    if !well_formed {
        return Err(ApiError::Unauthenticated(
            "malformed bearer token: expected visible ASCII characters without spaces".into(),
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_token_same_org_and_different_tokens_differ() {
        let auth = Authenticator::any_token();
        let a = auth.authenticate(Some("Bearer CW-SECRET-a")).unwrap();
        assert_eq!(a, auth.authenticate(Some("bearer CW-SECRET-a")).unwrap());
        assert_ne!(a, auth.authenticate(Some("Bearer CW-SECRET-b")).unwrap());
        assert!(!a.as_str().contains("SECRET"));
    }

    #[test]
    fn rejects_malformed_headers() {
        let auth = Authenticator::any_token();
        for header in [
            None,
            Some("Basic abc"),
            Some("Bearer"),
            Some("Bearer  "),
            Some("token"),
        ] {
            assert!(matches!(
                auth.authenticate(header),
                Err(ApiError::Unauthenticated(_))
            ));
        }
    }

    #[test]
    fn headers_are_bounded_and_remembered_by_hash_alone() {
        let auth = Authenticator::any_token();
        let long = format!("Bearer {}", "t".repeat(MAX_AUTHORIZATION_BYTES));
        assert!(matches!(
            auth.authenticate(Some(&long)),
            Err(ApiError::Unauthenticated(message)) if message.contains("4096 bytes")
        ));
        let org = auth
            .authenticate(Some("Bearer CW-SECRET-remembered"))
            .unwrap();
        assert_eq!(auth.lock_known().len(), 1);
        assert_eq!(auth.lock_known().values().next(), Some(&org));
        assert_eq!(
            auth.authenticate(Some("Bearer CW-SECRET-remembered"))
                .unwrap(),
            org
        );
    }

    #[test]
    fn allow_list_rejects_unknown_tokens() {
        let auth = Authenticator::only(["good"]);
        assert!(auth.authenticate(Some("Bearer good")).is_ok());
        assert!(auth.authenticate(Some("Bearer other")).is_err());
    }
}
