//! The bearer token: validated once, attached to every call, never printed.

use std::fmt;

use http::HeaderValue;
use tonic::metadata::{Ascii, MetadataValue};

use crate::error::Error;

/// A CoreWeave API access token. Its `Debug` output is redacted, and both header forms are
/// marked sensitive so that HTTP and gRPC logging leave them out.
#[derive(Clone)]
pub(crate) struct Token {
    metadata: MetadataValue<Ascii>,
    header: HeaderValue,
}

impl Token {
    /// Checks a token and prepares its `authorization` header value.
    pub(crate) fn new(token: &str) -> Result<Self, Error> {
        let token = token.trim();
        if token.is_empty() {
            return Err(Error::config("the API token is empty"));
        }
        let scheme = token.split_once(' ').map(|(scheme, _)| scheme);
        if scheme.is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer")) {
            return Err(Error::config(
                "the API token starts with `Bearer `: give the token alone; the client adds \
                 the scheme",
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::config(
                "the API token contains spaces or non-ASCII characters",
            ));
        }
        let invalid = || Error::config("the API token is not a valid header value");
        let value = format!("Bearer {token}");
        let mut metadata: MetadataValue<Ascii> = value.parse().map_err(|_| invalid())?;
        metadata.set_sensitive(true);
        let mut header = HeaderValue::from_str(&value).map_err(|_| invalid())?;
        header.set_sensitive(true);
        Ok(Self { metadata, header })
    }

    /// The `authorization` metadata value, for gRPC.
    pub(crate) fn metadata(&self) -> MetadataValue<Ascii> {
        self.metadata.clone()
    }

    /// The `Authorization` header value, for HTTP.
    pub(crate) fn header(&self) -> HeaderValue {
        self.header.clone()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let token = Token::new("CW-SECRET-abc").unwrap();
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn rejects_empty_and_malformed_tokens() {
        assert!(Token::new("").unwrap_err().is_config());
        assert!(Token::new("  ").unwrap_err().is_config());
        assert!(Token::new("two words").unwrap_err().is_config());
        assert!(Token::new("CW-SECRET-é").unwrap_err().is_config());
        let bearer = Token::new("Bearer CW-SECRET-x").unwrap_err();
        assert!(
            bearer.to_string().contains("give the token alone"),
            "{bearer}"
        );
    }
}
