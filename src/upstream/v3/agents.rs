//! Agents on the Configuration API v3.6 (livechat-v3-helpdesk.md §2, §2.1), shaped as the
//! contract's v2 agents. Pure: the I/O is in `mod.rs`.

use std::collections::HashMap;

use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};

use crate::dates::date_field;
use crate::error::ApiError;
use crate::upstream::NewAgent;

/// The extra fields asked of `get_agent`/`list_agents` so the contract's agent can be filled.
pub const FIELDS: [&str; 4] = ["job_title", "max_chats_count", "groups", "last_logout"];
/// v3's limit of concurrent chats (§2).
pub const MAX_CHATS: i64 = 20;
/// v2's default title, sent for parity (§2.1).
const DEFAULT_JOB_TITLE: &str = "Support Agent";

/// `list_routing_statuses` as agent id → the contract's status words.
pub fn statuses(answer: &Value) -> HashMap<String, String> {
    answer
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let id = s.get("agent_id")?.as_str()?.to_lowercase();
            let status = s.get("status")?.as_str()?.replace('_', " ");
            Some((id, status))
        })
        .collect()
}

/// v3 adds `viceowner`; the contract knows owner, administrator and normal.
fn permission(role: Option<&Value>) -> Value {
    match role.and_then(Value::as_str) {
        Some("viceowner") => json!("administrator"),
        Some(r) => json!(r),
        None => Value::Null,
    }
}

/// A v3.6 agent as the contract's agent. `groups` gets names from `list_groups`; an agent
/// `list_routing_statuses` does not list is offline (§2, UNCERTAIN).
pub fn agent(v: &Value, groups: &[Value], statuses: &HashMap<String, String>) -> Value {
    let mut out = Map::new();
    let login = v.get("id").and_then(Value::as_str).unwrap_or_default();
    out.insert("login".into(), json!(login));
    for key in [
        "name",
        "login_status",
        "job_title",
        "max_chats_count",
        "last_logout",
    ] {
        if let Some(x) = v.get(key).filter(|x| !x.is_null()) {
            out.insert(key.into(), x.clone());
        }
    }
    out.insert("permission".into(), permission(v.get("role")));
    // `avatar` in the get sample, `avatar_path` in the list sample (UNCERTAIN): either.
    if let Some(a) = v.get("avatar").or_else(|| v.get("avatar_path")) {
        out.insert("avatar".into(), a.clone());
    }
    if let Some(Value::Array(gs)) = v.get("groups") {
        let named: Vec<Value> = gs
            .iter()
            .filter_map(|g| g.get("id").and_then(Value::as_i64))
            .map(|id| {
                let name = groups
                    .iter()
                    .find(|x| x.get("id").and_then(Value::as_i64) == Some(id))
                    .and_then(|x| x.get("name"))
                    .cloned();
                match name {
                    Some(n) => json!({"id": id, "name": n}),
                    None => json!({"id": id}),
                }
            })
            .collect();
        out.insert("groups".into(), Value::Array(named));
    }
    let status = statuses
        .get(&login.to_lowercase())
        .cloned()
        .unwrap_or_else(|| "offline".into());
    out.insert("status".into(), json!(status));
    date_field(&mut out, "last_logout");
    Value::Object(out)
}

/// The list item: what v2's `GET /agents` shows.
pub fn list_item(v: &Value, statuses: &HashMap<String, String>) -> Value {
    let mut full = agent(v, &[], statuses);
    if let Value::Object(o) = &mut full {
        o.retain(|k, _| ["login", "name", "permission", "avatar", "status"].contains(&k.as_str()));
    }
    full
}

/// `create_agent`'s body, or a 400 for what v3 cannot do.
pub fn create_body(a: &NewAgent) -> Result<Value, ApiError> {
    if a.password
        .as_ref()
        .is_some_and(|p| !p.expose_secret().is_empty())
    {
        return Err(ApiError::BadRequest(
            "LiveChat API v3 cannot set an agent's password: LiveChat invites the new agent by \
             e-mail to choose one. Leave `password` empty."
                .into(),
        ));
    }
    if let Some(n) = a.max_chats_count.filter(|n| *n > MAX_CHATS) {
        return Err(ApiError::BadRequest(format!(
            "`max_chats_count` can be at most {MAX_CHATS} on LiveChat API v3 (got {n})."
        )));
    }
    let mut body = json!({
        "id": a.login.as_str(),
        "name": a.name,
        "job_title": a.job_title.as_deref().unwrap_or(DEFAULT_JOB_TITLE),
    });
    if let Some(p) = &a.permission {
        body["role"] = json!(p);
    }
    if let Some(s) = &a.login_status {
        body["login_status"] = json!(s);
    }
    if let Some(n) = a.max_chats_count {
        body["max_chats_count"] = json!(n);
    }
    Ok(body)
}

/// What the gateway knows of an agent it just created, for when `get_agent` does not know it
/// yet (changes take up to 2 minutes to propagate, §1.1).
pub fn as_created(a: &NewAgent) -> Value {
    let mut out = json!({
        "login": a.login.as_str(),
        "name": a.name,
        "permission": a.permission.as_deref().unwrap_or("normal"),
        "login_status": a.login_status.as_deref().unwrap_or("not accepting chats"),
        "job_title": a.job_title.as_deref().unwrap_or(DEFAULT_JOB_TITLE),
        "max_chats_count": a.max_chats_count.unwrap_or(6),
        "status": "offline",
    });
    if let Value::Object(o) = &mut out {
        o.retain(|_, v| !v.is_null());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_v3_agent() {
        let v = json!({"id": "jane@x.com", "name": "Jane", "role": "viceowner",
            "login_status": "accepting chats", "avatar_path": "https://cdn/a.png",
            "job_title": "Boss", "max_chats_count": 4, "groups": [{"id": 1, "priority": "normal"}, {"id": 9}],
            "last_logout": "2024-05-01T10:00:00Z"});
        let groups = [json!({"id": 1, "name": "Sales"})];
        let st = statuses(&json!([{"agent_id": "JANE@x.com", "status": "not_accepting_chats"}]));
        let a = agent(&v, &groups, &st);
        assert_eq!(a["login"], "jane@x.com");
        assert_eq!(a["permission"], "administrator");
        assert_eq!(a["avatar"], "https://cdn/a.png");
        assert_eq!(a["groups"], json!([{"id": 1, "name": "Sales"}, {"id": 9}]));
        assert_eq!(a["status"], "not accepting chats");
        assert_eq!(a["last_logout"], "2024-05-01T10:00:00.000Z");
        let other = agent(&json!({"id": "b@x.com", "role": "normal"}), &[], &st);
        assert_eq!(other["status"], "offline", "absent from routing statuses");
        let item = list_item(&v, &st);
        assert!(item.get("groups").is_none() && item.get("avatar").is_some());
    }
}
