//! The Configuration API v3.6 and Agent Chat API v3.6 faces of the fake
//! (livechat-v3-helpdesk.md §1–§3), over the same accounts, agents and groups as the v2 face.
//! Every call is `POST /v3.6/{configuration|agent}/action/<name>` with a JSON body and the
//! account ID + token over Basic; errors are `{"error":{"type","message","data?"}}`.

use serde_json::{json, Map, Value};

use super::form::{int, is_email, text};
use super::routes::{basic_credentials, Reply};
use super::state::{hex32, iso, uuid_from, Account, Agent, State, V3Webhook};
use super::Quirks;

/// A v3 error answer; the HTTP statuses per type are undocumented (§1.4), these are guesses.
pub(crate) fn error(kind: &str, message: &str) -> Reply {
    let status = match kind {
        "authentication" => 401,
        "authorization" => 403,
        "not_found" | "group_not_found" => 404,
        "too_many_requests" => 429,
        "internal" => 500,
        _ => 400,
    };
    Reply {
        status,
        body: json!({"error": {"type": kind, "message": message}}),
    }
}

/// The account whose `account_id:token` pair is in `Authorization`.
pub(crate) fn account<'a>(
    accounts: &'a mut [Account],
    headers: &[(String, String)],
) -> Option<&'a mut Account> {
    let (id, key) = basic_credentials(headers)?;
    accounts.iter_mut().find(|a| {
        a.account_id.eq_ignore_ascii_case(&id) && !a.api_key.is_empty() && a.api_key == key
    })
}

pub(crate) fn process(
    st: &mut State,
    api: &str,
    action: &str,
    headers: &[(String, String)],
    parsed: Result<Value, String>,
) -> Reply {
    let q = st.quirks.clone();
    if let Some(region) = &q.v3_region {
        let sent = headers
            .iter()
            .find(|(k, _)| k == "x-region")
            .map(|(_, v)| v);
        if sent != Some(region) {
            let mut r = error("misdirected_request", "Wrong region");
            r.status = q.v3_misdirected_status.unwrap_or(421);
            r.body["error"]["data"] = json!({ "region": region });
            return r;
        }
    }
    let Some(acct) = account(&mut st.accounts, headers) else {
        return error("authentication", "Invalid access token");
    };
    let body = match parsed {
        Ok(Value::Object(o)) => o,
        Ok(Value::Null) => Map::new(),
        Ok(_) | Err(_) => return error("validation", "The request body must be a JSON object"),
    };
    match (api, action) {
        ("configuration", "list_agents") => list_agents(acct, &body, &q),
        ("configuration", "get_agent") => get_agent(acct, &body, &q),
        ("configuration", "create_agent") => create_agent(acct, &body),
        ("configuration", "delete_agent") => delete_agent(acct, &body),
        ("configuration", "list_groups") => Reply::ok(Value::Array(
            acct.groups
                .iter()
                .map(|(id, name)| json!({"id": id, "name": name, "language_code": "en"}))
                .collect(),
        )),
        ("configuration", "register_webhook") => register_webhook(acct, &body),
        ("configuration", "list_webhooks") => Reply::ok(Value::Array(
            acct.v3_webhooks.iter().map(webhook_json).collect(),
        )),
        ("configuration", "unregister_webhook") => unregister_webhook(acct, &body),
        ("agent", "get_chat") => super::v3_fire::get_chat(acct, &body),
        ("agent", "list_routing_statuses") => Reply::ok(Value::Array(
            acct.agents
                .iter()
                .filter(|a| a.status != "offline")
                .map(|a| json!({"agent_id": a.login, "status": a.status.replace(' ', "_")}))
                .collect(),
        )),
        _ => error("not_found", &format!("Unknown action {action}")),
    }
}

/// The v3.6 agent object: base fields plus those asked for in `fields[]`.
fn agent_json(a: &Agent, fields: &[String], q: &Quirks) -> Value {
    let role = match a.permission.as_str() {
        "owner" | "viceowner" | "administrator" => a.permission.clone(),
        _ => "normal".into(),
    };
    let mut v = json!({
        "id": a.login, "account_id": uuid_from(&format!("agent-account/{}", a.login)),
        "name": a.name, "role": role, "login_status": a.login_status,
    });
    let avatar_key = if q.v3_avatar_path {
        "avatar_path"
    } else {
        "avatar"
    };
    v[avatar_key] = json!(format!("https://{}", a.avatar));
    for f in fields {
        let value = match f.as_str() {
            "job_title" => json!(a.job_title),
            "max_chats_count" => json!(a.max_chats_count),
            "groups" => Value::Array(
                a.groups
                    .iter()
                    .map(|g| json!({"id": g, "priority": "normal"}))
                    .collect(),
            ),
            "last_logout" if a.last_logout > 0 => json!(iso(a.last_logout)),
            "suspended" => json!(false),
            "awaiting_approval" => json!(false),
            _ => continue,
        };
        v[f.as_str()] = value;
    }
    v
}

fn fields(body: &Map<String, Value>) -> Vec<String> {
    body.get("fields")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter_map(|x| text(Some(x))).collect())
        .unwrap_or_default()
}

fn list_agents(acct: &Account, body: &Map<String, Value>, q: &Quirks) -> Reply {
    let fields = fields(body);
    Reply::ok(Value::Array(
        acct.agents
            .iter()
            .map(|a| agent_json(a, &fields, q))
            .collect(),
    ))
}

fn get_agent(acct: &mut Account, body: &Map<String, Value>, q: &Quirks) -> Reply {
    let id = text(body.get("id")).unwrap_or_default();
    if q.v3_create_propagation_lag && acct.v3_fresh_agents.iter().any(|f| f == &id) {
        acct.v3_fresh_agents.retain(|f| f != &id);
        return error("not_found", "Agent not found");
    }
    match acct.agent(&id) {
        Some(a) => Reply::ok(agent_json(a, &fields(body), q)),
        None => error("not_found", "Agent not found"),
    }
}

fn create_agent(acct: &mut Account, body: &Map<String, Value>) -> Reply {
    let id = text(body.get("id")).unwrap_or_default();
    if !is_email(&id) {
        return error("validation", "`id` must be a valid e-mail address");
    }
    let Some(name) = text(body.get("name")).filter(|n| !n.trim().is_empty()) else {
        return error("validation", "`name` is required");
    };
    if acct.agent(&id).is_some() {
        return error("already_exists", "Agent already exists");
    }
    let mut agent = Agent::new(&id, &name, acct.licence);
    if let Some(role) = text(body.get("role")) {
        if !["viceowner", "administrator", "normal"].contains(&role.as_str()) {
            return error(
                "validation",
                "`role` must be viceowner, administrator or normal",
            );
        }
        agent.permission = role;
    }
    if let Some(s) = text(body.get("login_status")) {
        agent.login_status = s;
    } else {
        agent.login_status = "not accepting chats".into();
    }
    if let Some(t) = text(body.get("job_title")) {
        agent.job_title = t;
    }
    if let Some(v) = body.get("max_chats_count") {
        match int(v).filter(|n| (0..=20).contains(n)) {
            Some(n) => agent.max_chats_count = n,
            None => return error("validation", "`max_chats_count` must be at most 20"),
        }
    }
    if body.contains_key("password") {
        return error("validation", "Unknown field `password`");
    }
    acct.v3_fresh_agents.push(id.clone());
    acct.agents.push(agent);
    Reply::ok(json!({ "id": id }))
}

fn delete_agent(acct: &mut Account, body: &Map<String, Value>) -> Reply {
    let id = text(body.get("id")).unwrap_or_default();
    let Some(pos) = acct
        .agents
        .iter()
        .position(|a| a.login.eq_ignore_ascii_case(&id))
    else {
        return error("not_found", "Agent not found");
    };
    if acct.agents[pos].permission == "owner" {
        return error("authorization", "The owner cannot be removed");
    }
    acct.agents.remove(pos);
    Reply::ok(json!({}))
}

pub(crate) fn webhook_json(w: &V3Webhook) -> Value {
    json!({"id": w.id, "url": w.url, "action": w.action, "secret_key": w.secret_key,
        "owner_client_id": w.owner_client_id, "type": w.kind, "description": "", "filters": {}})
}

/// At most 3 webhooks per action per Client ID (§3.1).
fn register_webhook(acct: &mut Account, body: &Map<String, Value>) -> Reply {
    let field = |k: &str| text(body.get(k)).filter(|s| !s.is_empty());
    let (Some(url), Some(action), Some(secret_key), Some(owner), Some(kind)) = (
        field("url"),
        field("action"),
        field("secret_key"),
        field("owner_client_id"),
        field("type"),
    ) else {
        return error(
            "validation",
            "`url`, `action`, `secret_key`, `owner_client_id` and `type` are required",
        );
    };
    if !["incoming_chat", "chat_deactivated"].contains(&action.as_str()) {
        return error("validation", "Unsupported action");
    }
    let same = acct
        .v3_webhooks
        .iter()
        .filter(|w| w.action == action && w.owner_client_id == owner)
        .count();
    if same >= 3 {
        return error("limit_reached", "Webhooks limit reached");
    }
    let id = hex32();
    acct.v3_webhooks.push(V3Webhook {
        id: id.clone(),
        url,
        action,
        secret_key,
        owner_client_id: owner,
        kind,
    });
    Reply::ok(json!({ "id": id }))
}

fn unregister_webhook(acct: &mut Account, body: &Map<String, Value>) -> Reply {
    let id = text(body.get("id")).unwrap_or_default();
    let owner = text(body.get("owner_client_id")).unwrap_or_default();
    let before = acct.v3_webhooks.len();
    acct.v3_webhooks
        .retain(|w| !(w.id == id && w.owner_client_id == owner));
    if acct.v3_webhooks.len() == before {
        return error("not_found", "Webhook not found");
    }
    Reply::ok(json!({}))
}
