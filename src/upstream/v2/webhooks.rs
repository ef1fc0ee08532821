//! v2 webhooks: `POST /webhooks {event_type, data_types, url}` and finding the id LiveChat
//! gave it, whichever envelope it answers with.

use actix_web::http::Method;
use serde_json::{json, Value};

use super::LiveChatV2;
use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::upstream::WebhookRegistration;

/// Registers the webhook and finds its id (in the answer, else in LiveChat's list, matched by
/// URL only).
pub(super) async fn register(
    lc: &LiveChatV2,
    creds: &Credentials,
    hook: &WebhookRegistration<'_>,
) -> Result<String, ApiError> {
    let registration = json!({
        "event_type": hook.trigger.event_type(),
        "data_types": hook.data_types,
        "url": hook.url,
    });
    let answer = lc
        .call(creds, Method::POST, &["webhooks"], &[], Some(&registration))
        .await?;
    if let Some(w) = find_webhook_id(&answer, hook.url) {
        return Ok(w);
    }
    // Look for it in the list before giving up, so it does not stay behind unknown.
    let listed = lc
        .call(creds, Method::GET, &["webhooks"], &[], None)
        .await?;
    listed
        .get("events")
        .unwrap_or(&listed)
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|e| e.get("url").and_then(Value::as_str) == Some(hook.url))
        })
        .and_then(|e| find_webhook_id(e, hook.url))
        .ok_or_else(|| {
            ApiError::BadGateway("LiveChat registered the webhook but did not say its id.".into())
        })
}

/// LiveChat's webhook id: a top-level `id`, or the entry of `events[]` (or a bare array) whose
/// `url` is ours. Only when no entry says its `url` is the last entry taken: a list of other
/// webhooks must never lend us one of theirs (unsubscribing would then remove another flow's
/// webhook).
pub fn find_webhook_id(answer: &Value, our_url: &str) -> Option<String> {
    let id_of = |v: &Value| match v.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Some(id) = id_of(answer) {
        return Some(id);
    }
    let entries = answer.get("events").unwrap_or(answer).as_array()?;
    if let Some(ours) = entries
        .iter()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(our_url))
    {
        return id_of(ours);
    }
    if entries.iter().any(|e| e.get("url").is_some()) {
        return None;
    }
    entries.last().and_then(id_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_webhook_ids_in_every_envelope() {
        let ours = "https://gw/livechat/events/a/b";
        assert_eq!(
            find_webhook_id(&json!({"id": "top"}), ours).as_deref(),
            Some("top")
        );
        let list = json!({"events": [{"id": "1", "url": ours}, {"id": "2", "url": "x"}]});
        assert_eq!(find_webhook_id(&list, ours).as_deref(), Some("1"));
        // Other webhooks' entries never stand in for ours.
        let other = json!({"events": [{"id": "1", "url": "y"}, {"id": "2", "url": "x"}]});
        assert_eq!(find_webhook_id(&other, ours), None);
        let mixed = json!({"events": [{"id": "1", "url": "y"}, {"id": "2"}]});
        assert_eq!(find_webhook_id(&mixed, ours), None);
        let bare = json!({"events": [{"id": "1"}, {"id": "2"}]});
        assert_eq!(find_webhook_id(&bare, ours).as_deref(), Some("2"));
        assert_eq!(
            find_webhook_id(&json!([{"id": 7}]), ours).as_deref(),
            Some("7")
        );
        assert_eq!(find_webhook_id(&json!({"result": "ok"}), ours), None);
    }
}
