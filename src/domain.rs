//! Input types that parse instead of validate: once a handler holds one, it is well formed.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::error::ApiError;

/// An e-mail address as LiveChat uses them for logins and requesters.
#[derive(Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim();
        let bad = || ApiError::BadRequest(format!("`{field}` must be an e-mail address."));
        // Characters, not bytes, and before trimming: what the documents' `maxLength` counts.
        if raw.chars().count() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.contains('@') || !domain_ok {
            return Err(bad());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A ticket id: LiveChat v2's (`5FUED` in every sample; the length is not settled, so allow
/// 1..=32 letters and digits) or HelpDesk's UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketId(String);

impl TicketId {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        // v2 ids are short codes; HelpDesk's (LiveChat API v3) are UUIDs.
        let ok =
            (!raw.is_empty() && raw.len() <= 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric()))
                || crate::upstream::generation::is_uuid(raw);
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(ApiError::BadRequest(
                "`ticketId` must be a LiveChat ticket id (letters and digits, like 5FUED, or a HelpDesk ticket UUID).".into(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Optional text where Power Automate may send `""` for "not given".
pub fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// As `non_empty`, but untrimmed: for parsers that trim themselves and must see the length
/// the documents' `maxLength` counts (`Email::parse`).
pub fn present(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

/// Accepts a number or a numeric string (connectors send `max_chats_count` as a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenientInt(pub Option<i64>);

impl<'de> Deserialize<'de> for LenientInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(LenientInt(Some(n))),
            // Power Automate sends "" for a field the maker left empty: not given.
            Raw::Text(s) if s.trim().is_empty() => Ok(LenientInt(None)),
            Raw::Text(s) => s
                .trim()
                .parse()
                .map(|n| LenientInt(Some(n)))
                .map_err(|_| de::Error::custom("expected a whole number")),
        }
    }
}

/// Checks an optional value against a fixed set, naming the field and the allowed values.
/// The value must be one of them exactly: the documents declare an `enum`, and `""` is not in it.
pub fn one_of(
    field: &str,
    value: Option<String>,
    allowed: &[&str],
) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(_) => Err(ApiError::BadRequest(format!(
            "`{field}` must be one of: {}.",
            allowed.join(", ")
        ))),
    }
}

/// For nested request objects (`requester`, `assignee`, `source`): a JSON object or `null`.
/// serde would otherwise also read a struct from an array of its fields in order.
pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match Option::<serde_json::Map<String, serde_json::Value>>::deserialize(d)? {
        None => Ok(None),
        Some(map) => T::deserialize(serde_json::Value::Object(map))
            .map(Some)
            .map_err(de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.co", "john.doe+x@my-company.com", "  x@y.z "] {
            assert!(Email::parse("login", ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.c", "a@b", "a b@c.d", "a@.b", "a@b.", "a@b..c", "a@b@c.d",
        ] {
            assert!(Email::parse("login", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ticket_ids() {
        assert!(TicketId::parse("5FUED").is_ok());
        assert!(TicketId::parse("3f0c1d2e-4b5a-4c6d-8e9f-0a1b2c3d4e5f").is_ok());
        for bad in ["", "../x", "5FU ED", &"A".repeat(33), "ä"] {
            assert!(TicketId::parse(bad).is_err());
        }
    }

    #[test]
    fn lenient_ints() {
        assert_eq!(
            serde_json::from_str::<LenientInt>("6").unwrap(),
            LenientInt(Some(6))
        );
        assert_eq!(
            serde_json::from_str::<LenientInt>("\" 7 \"").unwrap(),
            LenientInt(Some(7))
        );
        assert!(serde_json::from_str::<LenientInt>("\"six\"").is_err());
        assert_eq!(
            serde_json::from_str::<LenientInt>("\" \"").unwrap(),
            LenientInt(None)
        );
    }
}
