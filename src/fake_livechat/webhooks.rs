//! Webhook deliveries (design §4.4): demo event payloads and the HTTP POST itself.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::form::percent_decode;
use super::state::{base36, hex32, now, Account, IdGen, State};
use super::tickets::new_ticket;
use super::Quirks;

/// LiveChat expects an answer within about 10 seconds.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// One delivery to make: computed under the lock, sent after it is released.
pub(crate) struct Planned {
    pub webhook_id: String,
    pub url: String,
    pub payload: Value,
}

const VISITORS: [(&str, &str); 4] = [
    ("Mary Brown", "mary.brown@email.com"),
    ("Tom Green", "tom.green@email.com"),
    ("Ana Silva", "ana.silva@email.com"),
    ("Li Wei", "li.wei@email.com"),
];

/// The data-type values of one event, keyed by data type.
fn event_data(
    acct: &mut Account,
    ids: &mut IdGen,
    q: &Quirks,
    event_type: &str,
) -> Option<Map<String, Value>> {
    let n = ids.next_event();
    let (vname, vmail) = VISITORS[(n as usize) % VISITORS.len()];
    let chat_id = format!("FK{}", base36(n, 8));
    let visitor_id = format!("S{}.{}", 1_358_937_600 + n, base36(n, 6));
    let owner = acct
        .agent(&acct.login)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let t = now();
    let started = t - 300;
    let mut visitor = json!({
        "id": visitor_id, "name": vname, "email": vmail,
        "custom_variables": [{"key": "Customer ID", "value": format!("CUST{}", base36(n, 6))}],
    });
    let mut chat = json!({
        "id": chat_id, "started_timestamp": started,
        "messages": [
            {"user_type": "visitor", "author_name": vname, "text": "Hi, I have a question about my order.", "timestamp": started},
            {"user_type": "agent", "author_name": owner, "agent_id": acct.login, "text": "Hello, how can I help you?", "timestamp": started + 8},
        ],
        "tags": ["sales"],
    });
    match event_type {
        "chat_ended" => chat["ended_timestamp"] = json!(t),
        "chat_started" if q.chat_started_has_ended_timestamp => chat["ended_timestamp"] = json!(0),
        _ => {}
    }
    if q.webhook_guessed_fields {
        chat["url"] = json!("https://www.example.com/pricing");
        chat["agents"] = json!([{"login": acct.login, "name": owner}]);
        chat["groups"] = json!([0]);
        visitor["country"] = json!("United States");
        visitor["city"] = json!("Dallas");
        visitor["language"] = json!("en");
        visitor["page_current"] = json!("https://www.example.com/pricing");
    }
    let survey = json!([
        {"id": format!("1359634401218{:05}", n % 100_000), "type": "name", "label": "Your name", "answer": vname},
        {"id": "135963613764705707", "type": "email", "label": "E-mail", "answer": vmail},
    ]);
    let mut data = Map::new();
    match event_type {
        "chat_started" | "chat_ended" | "chat_changed" => {
            data.insert("chat".into(), chat);
            data.insert("visitor".into(), visitor);
            data.insert("pre_chat_survey".into(), survey);
        }
        "visitor_queued" => {
            data.insert("visitor".into(), visitor);
        }
        "ticket_created" => {
            let id = ids.ticket_id();
            let source = json!({"type": "chat-window", "url": "https://www.example.com/contact", "id": chat_id});
            let ticket = new_ticket(
                acct,
                id,
                t,
                &format!("Question about order #{}", 1000 + n),
                "Hi, my order has not arrived yet.",
                (vmail, Some(vname)),
                source,
                None,
                vec![0],
            );
            let rest = q.webhook_ticket_rest_shape;
            data.insert("ticket".into(), ticket.render(acct, !rest, !rest, false));
            acct.tickets.push(ticket);
        }
        "canned_response_changed" => {
            data.insert(
                "canned_response".into(),
                json!({
                    "group": 0, "id": n, "modification_date": t, "tags": ["hello"],
                    "text": "Hello, how can I help you?",
                }),
            );
        }
        _ => return None,
    }
    Some(data)
}

/// Builds the deliveries of one fired event for one account (or all).
pub(crate) fn plan_fire(st: &mut State, login: Option<&str>, event_type: &str) -> Vec<Planned> {
    let q = st.quirks.clone();
    let every = super::v3_fire::every_hook(&st.accounts, &q);
    let State { accounts, ids, .. } = st;
    let mut out = Vec::new();
    for acct in accounts
        .iter_mut()
        .filter(|a| login.is_none_or(|l| a.login.eq_ignore_ascii_case(l)))
    {
        let Some(data) = event_data(acct, ids, &q, event_type) else {
            continue;
        };
        out.extend(super::v3_fire::plan(
            acct,
            event_type,
            &data,
            every.as_deref(),
        ));
        for hook in acct.webhooks.iter().filter(|w| w.event_type == event_type) {
            let token = if q.delivery_token_differs {
                hex32()
            } else {
                hook.token.clone()
            };
            let mut payload = Map::new();
            payload.insert("event_type".into(), json!(event_type));
            payload.insert("token".into(), json!(token));
            payload.insert("license_id".into(), json!(acct.licence.to_string()));
            for dt in &hook.data_types {
                if let Some(v) = data.get(dt) {
                    payload.insert(dt.clone(), v.clone());
                }
            }
            out.push(Planned {
                webhook_id: hook.id.clone(),
                url: hook.url.clone(),
                payload: Value::Object(payload),
            });
        }
    }
    out
}

/// Finds the webhook and fills `event_type`/`token`/`license_id` into `payload` when missing.
/// `Err(payload)` if no account has that webhook.
pub(crate) fn complete_payload(
    st: &State,
    webhook_id: &str,
    mut payload: Value,
) -> Result<(String, Value), Value> {
    let found = st.accounts.iter().find_map(|a| {
        a.webhooks
            .iter()
            .find(|w| w.id == webhook_id)
            .map(|w| (a, w))
    });
    let Some((acct, hook)) = found else {
        return Err(payload);
    };
    if let Some(obj) = payload.as_object_mut() {
        obj.entry("event_type")
            .or_insert_with(|| json!(hook.event_type));
        obj.entry("token").or_insert_with(|| json!(hook.token));
        obj.entry("license_id")
            .or_insert_with(|| json!(acct.licence.to_string()));
    }
    Ok((hook.url.clone(), payload))
}

/// POSTs `payload` as JSON; credentials in the URL (`https://user:pass@host/..`) become Basic
/// auth. Returns the receiver's status, or `None` if it could not be reached in time.
pub(crate) async fn send(url: &str, payload: &Value) -> Option<u16> {
    let mut target = url::Url::parse(url).ok()?;
    let user = percent_decode(target.username());
    let pass = target.password().map(percent_decode);
    let _ = target.set_username("");
    let _ = target.set_password(None);
    let client = awc::Client::builder().timeout(DELIVERY_TIMEOUT).finish();
    let mut request = client
        .post(target.as_str())
        .insert_header(("content-type", "application/json"))
        .insert_header(("user-agent", "LiveChat-Webhooks/2 (livechat-gateway fake)"));
    if !user.is_empty() {
        request = request.basic_auth(user, pass.unwrap_or_default());
    }
    match request.send_body(payload.to_string()).await {
        Ok(response) => Some(response.status().as_u16()),
        Err(e) => {
            log::debug!("fake LiveChat: delivery to {target} failed: {e}");
            None
        }
    }
}
