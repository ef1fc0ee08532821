//! `/agents` routes (design §2). Validation errors answer 400 `{"errors":[..]}`.

use serde_json::{json, Map, Value};

use super::form::{int, int_list, is_email, text};
use super::routes::{fail, not_found, Ctx, Reply};
use super::state::{Account, Agent};
use super::ErrorShape;

const STATUSES: [&str; 3] = ["accepting chats", "not accepting chats", "offline"];
const LOGIN_STATUSES: [&str; 2] = ["accepting chats", "not accepting chats"];
const NOTIFICATION_KEYS: [&str; 6] = [
    "new_visitor",
    "incoming_chat",
    "returning_visitor",
    "queued_visitor",
    "visitor_is_typing",
    "new_goal",
];

fn bad_request(cx: &Ctx, errors: Vec<String>) -> Reply {
    fail(400, ErrorShape::ErrorsArray, errors, cx.q)
}

/// `GET /agents[?status=]`: bare array of `{name, permission, login, avatar, status}`.
pub(crate) fn list(cx: &mut Ctx) -> Reply {
    let status = text(cx.query.get("status")).filter(|s| !s.is_empty());
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            let msg = format!("status: must be one of: {}", STATUSES.join(", "));
            return bad_request(cx, vec![msg]);
        }
    }
    let agents: Vec<Value> = cx
        .acct
        .agents
        .iter()
        .filter(|a| status.as_deref().is_none_or(|s| a.status == s))
        .map(Agent::list_json)
        .collect();
    Reply::ok(Value::Array(agents))
}

/// `GET /agents/<login>`: the full agent object.
pub(crate) fn get(cx: &mut Ctx, login: &str) -> Reply {
    match cx.acct.agent(login) {
        Some(a) => Reply::ok(a.full_json(cx.acct)),
        None => not_found(cx.q),
    }
}

/// Applies the optional fields shared by create and update onto `agent`, collecting errors.
fn apply(agent: &mut Agent, body: &Map<String, Value>, acct: &Account, errors: &mut Vec<String>) {
    let field = |k: &str| body.get(k).filter(|v| !v.is_null());
    if let Some(v) = field("name") {
        match text(Some(v)).filter(|s| !s.trim().is_empty()) {
            Some(s) => agent.name = s,
            None => errors.push("name: must be a non-empty string".into()),
        }
    }
    if let Some(v) = field("job_title") {
        match text(Some(v)) {
            Some(s) => agent.job_title = s,
            None => errors.push("job_title: must be a string".into()),
        }
    }
    if let Some(v) = field("login_status") {
        match text(Some(v)).filter(|s| LOGIN_STATUSES.contains(&s.as_str())) {
            Some(s) => agent.login_status = s,
            None => errors
                .push("login_status: must be 'accepting chats' or 'not accepting chats'".into()),
        }
    }
    if let Some(v) = field("permission") {
        match text(Some(v)).filter(|s| s == "administrator" || s == "normal") {
            Some(s) => agent.permission = s,
            None => errors.push("permission: must be 'administrator' or 'normal'".into()),
        }
    }
    if let Some(v) = field("password") {
        if text(Some(v)).is_none_or(|p| p.chars().count() < 5) {
            errors.push("password: must be at least 5 characters long".into());
        }
    }
    if let Some(v) = field("max_chats_count") {
        match int(v).filter(|n| *n >= 0) {
            Some(n) => agent.max_chats_count = n,
            None => errors.push("max_chats_count: must be a non-negative integer".into()),
        }
    }
    if let Some(v) = field("daily_summary") {
        match int(v).filter(|n| *n == 0 || *n == 1) {
            Some(n) => agent.daily_summary = n,
            None => errors.push("daily_summary: must be 0 or 1".into()),
        }
    }
    if let Some(v) = field("groups") {
        match int_list(v) {
            Some(ids) => {
                let unknown: Vec<String> = ids
                    .iter()
                    .filter(|id| !acct.groups.iter().any(|(g, _)| g == *id))
                    .map(i64::to_string)
                    .collect();
                if unknown.is_empty() {
                    agent.groups = ids;
                } else {
                    errors.push(format!(
                        "groups: unknown group id(s) {}",
                        unknown.join(", ")
                    ));
                }
            }
            None => errors.push("groups: must be an array of group ids".into()),
        }
    }
    if let Some(v) = field("notifications") {
        match notifications(v) {
            Some(n) => agent.notifications = n,
            None => errors.push(format!(
                "notifications: must be an object with keys {} set to 0 or 1",
                NOTIFICATION_KEYS.join(", ")
            )),
        }
    }
}

fn notifications(v: &Value) -> Option<Value> {
    let obj = v.as_object()?;
    let mut out = Map::new();
    for key in NOTIFICATION_KEYS {
        let n = obj.get(key).and_then(int).filter(|n| *n == 0 || *n == 1)?;
        out.insert(key.to_string(), json!(n));
    }
    Some(Value::Object(out))
}

/// `POST /agents`: 200 with the full agent object, status offline, `last_logout` 0.
pub(crate) fn create(cx: &mut Ctx) -> Reply {
    let empty = Map::new();
    let body = cx.body.as_object().unwrap_or(&empty);
    let mut errors = Vec::new();
    let login = text(body.get("login")).unwrap_or_default();
    if login.is_empty() {
        errors.push("login: is required".into());
    } else if !is_email(&login) {
        errors.push("login: must be a valid e-mail address".into());
    } else if cx.acct.agent(&login).is_some() {
        errors.push(format!("login: agent {login} already exists"));
    }
    if text(body.get("name")).is_none_or(|n| n.trim().is_empty()) {
        errors.push("name: is required".into());
    }
    let mut agent = Agent::new(&login, "", cx.acct.licence);
    apply(&mut agent, body, cx.acct, &mut errors);
    if !errors.is_empty() {
        return bad_request(cx, errors);
    }
    let mut out = agent.full_json(cx.acct);
    if cx.q.agent_create_includes_license_id {
        out["license_id"] = json!(cx.acct.licence);
    }
    cx.acct.agents.push(agent);
    Reply::created(out, cx.q)
}

/// Where the agent with this login (case-insensitive) sits in the account.
fn position(cx: &Ctx, login: &str) -> Option<usize> {
    cx.acct
        .agents
        .iter()
        .position(|a| a.login.eq_ignore_ascii_case(login))
}

/// `PUT /agents/<login>`: partial update (plus `status`), answers the full agent object.
pub(crate) fn update(cx: &mut Ctx, login: &str) -> Reply {
    let Some(pos) = position(cx, login) else {
        return not_found(cx.q);
    };
    let empty = Map::new();
    let body = cx.body.as_object().unwrap_or(&empty);
    let mut errors = Vec::new();
    let mut agent = cx.acct.agents[pos].clone();
    if agent.permission == "owner" && body.contains_key("permission") {
        errors.push("permission: the owner's permission cannot be changed".into());
    }
    apply(&mut agent, body, cx.acct, &mut errors);
    if let Some(v) = body.get("status").filter(|v| !v.is_null()) {
        match text(Some(v)).filter(|s| STATUSES.contains(&s.as_str())) {
            Some(s) if agent.status != "offline" => agent.status = s,
            Some(_) => {}
            None => errors.push(format!("status: must be one of: {}", STATUSES.join(", "))),
        }
    }
    if !errors.is_empty() {
        return bad_request(cx, errors);
    }
    let out = agent.full_json(cx.acct);
    cx.acct.agents[pos] = agent;
    Reply::ok(out)
}

/// `DELETE /agents/<login>`: `{"result":"<login> removed successfully"}`.
pub(crate) fn delete(cx: &mut Ctx, login: &str) -> Reply {
    let Some(pos) = position(cx, login) else {
        return not_found(cx.q);
    };
    if cx.acct.agents[pos].permission == "owner" {
        return bad_request(
            cx,
            vec!["The owner of the licence cannot be removed".into()],
        );
    }
    let removed = cx.acct.agents.remove(pos);
    Reply::ok(json!({ "result": format!("{} removed successfully", removed.login) }))
}
