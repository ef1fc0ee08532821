//! The parsed inputs of the typed capabilities. Handlers build them from the connector's
//! requests (so every 400 of the contract happens before anything goes upstream); each
//! generation turns them into its own wire format.

use secrecy::SecretString;
use serde_json::Value;

use crate::domain::Email;
use crate::relay::trigger::Trigger;

/// `CreateAgent_Request`, checked. No `Debug`: it holds the new agent's password.
pub struct NewAgent {
    pub login: Email,
    pub name: String,
    /// `accepting chats` or `not accepting chats`.
    pub login_status: Option<String>,
    pub job_title: Option<String>,
    /// `administrator` or `normal`.
    pub permission: Option<String>,
    pub password: Option<SecretString>,
    /// 1..=1000 (a generation may allow less).
    pub max_chats_count: Option<i64>,
}

/// `ListTickets`' query, checked; dates are `YYYY-MM-DD`.
#[derive(Debug, Default, Clone)]
pub struct TicketQuery {
    /// `open`, `pending`, `solved` or `spam`.
    pub status: Option<String>,
    pub page: Option<u32>,
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    pub assignee: Option<String>,
    pub query: Option<String>,
    /// `desc` or `asc`.
    pub order: Option<String>,
}

/// An answer already in the contract's shape, as the JSON text the flow gets. A generation may
/// write it straight from LiveChat's bytes (v2 does, without building a tree), or from a
/// `Value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonBody(Vec<u8>);

impl JsonBody {
    pub fn from_value(v: &Value) -> Self {
        Self(serde_json::to_vec(v).unwrap_or_else(|_| b"null".to_vec()))
    }

    /// Text the caller built as valid JSON (the raw rewrites only join pieces the scanner
    /// validated, UTF-8 included, so the 25 KB ticket is not checked a second time).
    pub(crate) fn from_json_text(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// How many items the text holds when it is a JSON array (for messages, not the hot path).
    pub fn array_len(&self) -> Option<usize> {
        serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&self.0)
            .ok()
            .map(|v| v.len())
    }
}

/// One page of tickets with the totals LiveChat gave, if any.
#[derive(Debug, Default)]
pub struct TicketPage {
    pub tickets: Vec<Value>,
    pub total: Option<u64>,
    pub pages: Option<u64>,
}

/// `CreateTicket_Request`, checked.
pub struct NewTicket {
    pub message: String,
    pub requester_mail: Email,
    pub requester_name: Option<String>,
    pub subject: Option<String>,
    pub assignee: Option<Email>,
    /// `chat-window`, `mail` or `lc2`.
    pub source_type: Option<String>,
    /// An http(s) URL.
    pub source_url: Option<String>,
}

/// A trigger's webhook: which event, which parts of it, and the gateway URL it goes to. No
/// `Debug`: it holds the webhook's secret.
pub struct WebhookRegistration<'a> {
    pub trigger: Trigger,
    pub data_types: &'a [String],
    pub url: &'a str,
    /// What LiveChat v3 echoes in every delivery (v2 has no such field).
    pub secret_key: Option<&'a str>,
}
