//! The demo licence used by `serve --sandbox`: a few agents and tickets with fixed ids.

use serde_json::json;

use super::state::{now, Agent, State};
use super::tickets::new_ticket;
use super::DemoCredentials;

pub(crate) const DEMO_LOGIN: &str = "john.doe@example.com";
pub(crate) const DEMO_API_KEY: &str = "sandbox-demo-api-key";

/// Creates the demo licence once; later calls just return its credentials.
pub(crate) fn seed_demo(st: &mut State) -> DemoCredentials {
    if let Some(existing) = st.account(DEMO_LOGIN) {
        return DemoCredentials {
            login: existing.login.clone(),
            api_key: existing.api_key.clone(),
            account_id: existing.account_id.clone(),
        };
    }
    let acct = st.add_account(DEMO_LOGIN, DEMO_API_KEY);
    let creds = DemoCredentials {
        login: DEMO_LOGIN.into(),
        api_key: DEMO_API_KEY.into(),
        account_id: acct.account_id.clone(),
    };
    let licence = acct.licence;
    let agents = [
        (
            "jane.doe@example.com",
            "Jane Doe",
            "administrator",
            "accepting chats",
            vec![0, 1],
        ),
        (
            "mark.smith@example.com",
            "Mark Smith",
            "normal",
            "not accepting chats",
            vec![0, 2],
        ),
        (
            "ann.lee@example.com",
            "Ann Lee",
            "normal",
            "offline",
            vec![0],
        ),
    ];
    for (login, name, permission, status, groups) in agents {
        let mut a = Agent::new(login, name, licence);
        a.permission = permission.into();
        a.status = status.into();
        a.groups = groups;
        a.last_logout = if status == "offline" { now() - 7200 } else { 0 };
        acct.agents.push(a);
    }
    let day = 86_400;
    let base = now() - 10 * day;
    let tickets = [
        (
            "DEMO1",
            "open",
            "My new shoes are broken",
            "Mary Brown",
            "mary.brown@email.com",
            "mail",
            Some(("jane.doe@example.com", "Jane Doe")),
            vec!["support"],
        ),
        (
            "DEMO2",
            "pending",
            "Invoice for March",
            "Tom Green",
            "tom.green@email.com",
            "chat-window",
            None,
            vec!["billing"],
        ),
        (
            "DEMO3",
            "solved",
            "Cannot log in",
            "Ana Silva",
            "ana.silva@email.com",
            "lc2",
            Some(("mark.smith@example.com", "Mark Smith")),
            vec![],
        ),
        (
            "DEMO4",
            "open",
            "Shipping to Canada?",
            "Li Wei",
            "li.wei@email.com",
            "mail",
            None,
            vec!["sales", "feedback"],
        ),
        (
            "DEMO5",
            "spam",
            "Cheap watches",
            "Spam Bot",
            "bot@spam.example",
            "mail",
            None,
            vec![],
        ),
        (
            "DEMO6",
            "open",
            "Wrong size delivered",
            "Mary Brown",
            "mary.brown@email.com",
            "chat-window",
            Some(("jane.doe@example.com", "Jane Doe")),
            vec!["support", "sales"],
        ),
    ];
    for (i, (id, status, subject, name, mail, source, assignee, tags)) in
        tickets.into_iter().enumerate()
    {
        if !st.ids.reserve_ticket_id(id) {
            continue;
        }
        let Some(acct) = st.accounts.iter_mut().find(|a| a.login == DEMO_LOGIN) else {
            break;
        };
        let at = base + i as i64 * day;
        let mut src = json!({ "type": source });
        if source == "chat-window" {
            src["url"] = json!("https://www.example.com/contact");
        }
        let assignee = assignee.map(|(l, n)| (l.to_string(), n.to_string()));
        let message = format!("Hello, {}", subject.to_lowercase());
        let mut t = new_ticket(
            acct,
            id.into(),
            at,
            subject,
            &message,
            (mail, Some(name)),
            src,
            assignee,
            vec![0],
        );
        t.status = status.into();
        t.tags = tags.into_iter().map(String::from).collect();
        t.modified = at + 3600;
        acct.tickets.push(t);
    }
    creds
}
