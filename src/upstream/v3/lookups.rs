//! The look-ups that turn v3 ids into what the contract shows: LiveChat group names, HelpDesk
//! agents (ID ↔ e-mail), tags (ID ↔ name) and teams. Cached briefly per connection, so a flow
//! listing tickets costs one HelpDesk call, not four; keyed by a hash of the credentials.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::Method;
use serde_json::{json, Value};

use super::calls::{Api, Calls};
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::relay::ids::sha256_hex;

const TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Groups,
    HelpDeskAgents,
    Tags,
    Teams,
}

#[derive(Clone)]
pub struct Lookups {
    cache: moka::sync::Cache<(String, Kind), Arc<Vec<Value>>>,
}

impl Default for Lookups {
    fn default() -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(20_000)
                .time_to_live(TTL)
                .build(),
        }
    }
}

fn connection_key(creds: &Credentials) -> String {
    sha256_hex(creds.basic_header())
}

impl Lookups {
    pub async fn get(
        &self,
        calls: &Calls,
        creds: &Credentials,
        kind: Kind,
    ) -> Result<Arc<Vec<Value>>, ApiError> {
        let key = (connection_key(creds), kind);
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit);
        }
        let answer = match kind {
            Kind::Groups => {
                calls
                    .action(creds, Api::Configuration, "list_groups", &json!({}))
                    .await?
            }
            Kind::HelpDeskAgents => helpdesk_list(calls, creds, "agents").await?,
            Kind::Tags => helpdesk_list(calls, creds, "tags").await?,
            Kind::Teams => helpdesk_list(calls, creds, "teams").await?,
        };
        let list = Arc::new(match answer {
            Value::Array(items) => items,
            _ => {
                return Err(ApiError::BadGateway(format!(
                    "LiveChat answered with an unexpected {kind:?} list."
                )))
            }
        });
        self.cache.insert(key, list.clone());
        Ok(list)
    }

    /// Forgets a connection's look-ups of `kind` (after the gateway changed them).
    pub fn forget(&self, creds: &Credentials, kind: Kind) {
        self.cache.invalidate(&(connection_key(creds), kind));
    }
}

async fn helpdesk_list(calls: &Calls, creds: &Credentials, what: &str) -> Result<Value, ApiError> {
    Ok(calls
        .helpdesk(creds, Method::GET, &[what], &[], None)
        .await?
        .0)
}

/// The entry whose `key` equals `value` (case-insensitively for e-mails and names).
pub fn find<'a>(list: &'a [Value], key: &str, value: &str) -> Option<&'a Value> {
    list.iter().find(|e| {
        e.get(key)
            .map(|v| match v {
                Value::String(s) => s.eq_ignore_ascii_case(value),
                Value::Number(n) => n.to_string() == value,
                _ => false,
            })
            .unwrap_or(false)
    })
}

/// `entry[field]` of the entry whose `key` is `value`.
pub fn field_of(list: &[Value], key: &str, value: &str, field: &str) -> Option<Value> {
    find(list, key, value).and_then(|e| e.get(field)).cloned()
}
