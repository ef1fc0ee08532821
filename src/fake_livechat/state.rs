//! In-memory model of LiveChat licences: agents, groups, tickets and webhooks.

use std::collections::{HashSet, VecDeque};

use rand::Rng;
use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{InjectedResponse, Quirks, RecordedRequest};

/// Everything the fake knows; lives behind `Arc<Mutex<..>>`.
#[derive(Default)]
pub(crate) struct State {
    pub accounts: Vec<Account>,
    pub requests: Vec<RecordedRequest>,
    pub injected: VecDeque<InjectedResponse>,
    pub quirks: Quirks,
    pub ids: IdGen,
    next_licence: u64,
}

impl State {
    pub fn account(&self, login: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.login.eq_ignore_ascii_case(login))
    }

    /// Adds a licence whose owner agent is `login`; an existing one only gets the new key.
    pub fn add_account(&mut self, login: &str, api_key: &str) -> &mut Account {
        let pos = match self
            .accounts
            .iter()
            .position(|a| a.login.eq_ignore_ascii_case(login))
        {
            Some(pos) => pos,
            None => {
                self.next_licence += 1;
                let licence = 1_025_700 + self.next_licence;
                self.accounts.push(Account::new(login, licence));
                self.accounts.len() - 1
            }
        };
        let acct = &mut self.accounts[pos];
        acct.api_key = api_key.to_string();
        acct
    }
}

/// Id generation shared by all licences (ticket ids are unique across the fake).
#[derive(Default)]
pub(crate) struct IdGen {
    used_tickets: HashSet<String>,
    events: u64,
}

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl IdGen {
    /// A fresh random `[A-Z0-9]{5}` ticket id.
    pub fn ticket_id(&mut self) -> String {
        let mut rng = rand::thread_rng();
        loop {
            let id: String = (0..5)
                .map(|_| ID_ALPHABET[rng.gen_range(0..ID_ALPHABET.len())] as char)
                .collect();
            if self.used_tickets.insert(id.clone()) {
                return id;
            }
        }
    }

    /// Marks a fixed (seeded) ticket id as used; false if it already was.
    pub fn reserve_ticket_id(&mut self, id: &str) -> bool {
        self.used_tickets.insert(id.to_string())
    }

    /// Counter of fired events (1, 2, ...), used to vary chat/visitor ids.
    pub fn next_event(&mut self) -> u64 {
        self.events += 1;
        self.events
    }
}

/// Base-36 (`0-9A-Z`), left-padded with zeros to `width`.
pub(crate) fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize] as char);
        n /= 36;
    }
    while out.len() < width {
        out.push('0');
    }
    out.iter().rev().collect()
}

pub(crate) fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix seconds as `2014-08-18T10:05:05Z`.
pub(crate) fn iso(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// A UUID-shaped id derived from `seed`: the same seed always gives the same id, so the v2
/// and v3 faces of one account agree on every id without keeping a second table.
pub(crate) fn uuid_from(seed: &str) -> String {
    use sha2::{Digest, Sha256};
    let h: String = Sha256::digest(seed.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// 32 lowercase hex characters.
pub(crate) fn hex32() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// "john.doe@x.com" → "John Doe".
pub(crate) fn name_from_login(login: &str) -> String {
    let local = login.split('@').next().unwrap_or(login);
    local
        .split(['.', '_', '-', '+'])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) struct Account {
    pub login: String,
    pub api_key: String,
    pub licence: u64,
    /// v3 and HelpDesk: the account ID (username of the PAT pair).
    pub account_id: String,
    /// HelpDesk tag names besides those on tickets (tags are ids there, derived from names).
    pub helpdesk_tags: Vec<String>,
    /// Configuration API v3.6 webhooks registered with this account's token.
    pub v3_webhooks: Vec<V3Webhook>,
    /// Agents created through v3 that `get_agent` does not see yet (`v3_create_propagation_lag`).
    pub v3_fresh_agents: Vec<String>,
    /// Chats fired to v3 webhooks, as Agent Chat `get_chat` answers them.
    pub v3_chats: Vec<serde_json::Value>,
    pub groups: Vec<(i64, String)>,
    pub agents: Vec<Agent>,
    pub tickets: Vec<Ticket>,
    pub webhooks: Vec<Webhook>,
    seq: u64,
}

impl Account {
    fn new(login: &str, licence: u64) -> Self {
        let mut owner = Agent::new(login, &name_from_login(login), licence);
        owner.permission = "owner".into();
        owner.status = "accepting chats".into();
        owner.last_logout = now() - 3600;
        Account {
            login: login.to_string(),
            api_key: String::new(),
            licence,
            account_id: uuid_from(&format!("account/{licence}")),
            helpdesk_tags: ["sales", "feedback", "vip", "billing", "shipping"]
                .map(String::from)
                .to_vec(),
            v3_webhooks: Vec::new(),
            v3_fresh_agents: Vec::new(),
            v3_chats: Vec::new(),
            groups: vec![
                (0, "All operators".into()),
                (1, "Sales".into()),
                (2, "Technical Support".into()),
            ],
            agents: vec![owner],
            tickets: Vec::new(),
            webhooks: Vec::new(),
            seq: 0,
        }
    }

    pub fn group_name(&self, id: i64) -> String {
        self.groups
            .iter()
            .find(|(g, _)| *g == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| format!("Group {id}"))
    }

    pub fn agent(&self, login: &str) -> Option<&Agent> {
        self.agents
            .iter()
            .find(|a| a.login.eq_ignore_ascii_case(login))
    }

    /// Monotonic insertion counter, used to order tickets with equal `modified`.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn ticket_json(&self, t: &Ticket, q: &Quirks) -> Value {
        t.render(self, q.ticket_dates_iso, q.ticket_groups_as_objects, true)
    }

    pub fn webhook_json(&self, w: &Webhook, q: &Quirks) -> Value {
        let mut v = json!({
            "licence": self.licence,
            "event_type": w.event_type,
            "data_types": w.data_types,
            "url": w.url,
            "verified": true,
            "token": w.token,
            "id": w.id,
        });
        if q.omit_webhook_token {
            if let Some(m) = v.as_object_mut() {
                m.remove("token");
            }
        }
        v
    }
}

#[derive(Clone)]
pub(crate) struct Agent {
    pub login: String,
    pub name: String,
    pub login_status: String,
    pub permission: String,
    pub daily_summary: i64,
    pub job_title: String,
    pub avatar: String,
    pub notifications: Value,
    pub max_chats_count: i64,
    pub groups: Vec<i64>,
    pub status: String,
    pub last_logout: i64,
}

impl Agent {
    pub fn new(login: &str, name: &str, licence: u64) -> Self {
        Agent {
            login: login.to_string(),
            name: name.to_string(),
            login_status: "accepting chats".into(),
            permission: "normal".into(),
            daily_summary: 1,
            job_title: "Support Agent".into(),
            avatar: format!(
                "livechat.s3.amazonaws.com/{licence}/all/avatars/{}.jpg",
                hex32()
            ),
            notifications: json!({"new_visitor":1,"returning_visitor":1,"queued_visitor":1,
                                  "visitor_is_typing":0,"new_goal":1}),
            max_chats_count: 6,
            groups: vec![0],
            status: "offline".into(),
            last_logout: 0,
        }
    }

    pub fn list_json(&self) -> Value {
        json!({"name": self.name, "permission": self.permission, "login": self.login,
               "avatar": self.avatar, "status": self.status})
    }

    pub fn full_json(&self, acct: &Account) -> Value {
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| json!({"id": g, "name": acct.group_name(*g)}))
            .collect();
        json!({
            "login": self.login, "name": self.name, "login_status": self.login_status,
            "permission": self.permission, "daily_summary": self.daily_summary,
            "job_title": self.job_title, "avatar": self.avatar,
            "notifications": self.notifications, "max_chats_count": self.max_chats_count,
            "groups": groups, "status": self.status, "last_logout": self.last_logout,
        })
    }
}

pub(crate) struct Ticket {
    pub id: String,
    /// HelpDesk's `ID` of the same ticket (v2's `id` is HelpDesk's `shortID`).
    pub uuid: String,
    pub status: String,
    pub subject: String,
    pub requester_mail: String,
    pub requester_name: Option<String>,
    /// (login, name)
    pub assignee: Option<(String, String)>,
    pub groups: Vec<i64>,
    pub tags: Vec<String>,
    pub created: i64,
    pub modified: i64,
    /// `{type, url?, id?}`
    pub source: Value,
    /// Events with integer `date` (unix seconds); rendered per shape.
    pub events: Vec<Value>,
    pub seq: u64,
}

impl Ticket {
    /// REST shape (`rest_extras`: `opened`/`firstResponse`) or webhook shape.
    pub fn render(
        &self,
        acct: &Account,
        iso_dates: bool,
        group_objects: bool,
        rest: bool,
    ) -> Value {
        let date = |ts: i64| if iso_dates { json!(iso(ts)) } else { json!(ts) };
        let mut requester = Map::new();
        requester.insert("mail".into(), json!(self.requester_mail));
        if let Some(n) = &self.requester_name {
            requester.insert("name".into(), json!(n));
        }
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                if group_objects {
                    json!({"id": g, "name": acct.group_name(*g)})
                } else {
                    json!(g)
                }
            })
            .collect();
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                let mut e = e.clone();
                if let Some(ts) = e.get("date").and_then(Value::as_i64) {
                    e["date"] = date(ts);
                }
                e
            })
            .collect();
        let mut v = json!({
            "id": self.id, "status": self.status, "subject": self.subject,
            "requester": requester, "groups": groups, "tags": self.tags,
            "modified": date(self.modified), "source": self.source, "events": events,
        });
        if let Some((id, name)) = &self.assignee {
            v["assignee"] = json!({"id": id, "name": name});
        }
        if rest {
            v["opened"] = json!([{"from": self.created}]);
            v["firstResponse"] = json!({});
            if iso_dates {
                v["date"] = date(self.created);
            }
        }
        v
    }
}

/// A `register_webhook` of the Configuration API v3.6.
#[derive(Clone)]
pub(crate) struct V3Webhook {
    pub id: String,
    pub url: String,
    pub action: String,
    pub secret_key: String,
    pub owner_client_id: String,
    pub kind: String,
}

pub(crate) struct Webhook {
    pub id: String,
    pub token: String,
    pub event_type: String,
    pub data_types: Vec<String>,
    pub url: String,
}
