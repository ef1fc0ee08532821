//! Named schemas (`#/definitions/NAME`), built with the helpers of `schema` so that every
//! property carries an `x-ms-summary` (Title Case) and a description.

use serde_json::{json, Map, Value};

use super::schema::*;
use super::tickets::{
    groups, requester, source, ticket_request, ticket_response, webhook_ticket_response,
    TICKET_STATUS,
};
use super::webhooks::chat_response;

fn agent_common() -> Vec<(&'static str, Value)> {
    vec![
        (
            "avatar",
            string("Avatar", "Path of the agent's picture on Amazon S3."),
        ),
        ("name", string("Name", "The agent's name.")),
        (
            "permission",
            string("Permission", "Owner, administrator or normal."),
        ),
    ]
}

/// `max_chats_count` as text: a whole number from 1 to 1000, or blank for "not given".
const MAX_CHATS_PATTERN: &str = "^\\s*(0*([1-9][0-9]{0,2}|1000))?\\s*$";

/// Every named schema, by name.
pub fn definitions() -> Map<String, Value> {
    let mut list_agent = agent_common();
    list_agent.push(("login", string("Login Email", "The agent's email address.")));

    let mut created_agent = agent_common();
    created_agent.extend([
        (
            "groups",
            with(
                groups(),
                "description",
                json!("The groups the agent is part of."),
            ),
        ),
        (
            "job_title",
            string("Job Title", "Support Agent by default."),
        ),
        ("login", string("Email", "The agent's email address.")),
        (
            "login_status",
            string("Login Status", "Accepting chats or not accepting chats."),
        ),
        (
            "max_chats_count",
            integer("Max Chats Count", "Limit of concurrent chats."),
        ),
        (
            "status",
            string("Status", "Accepting chats, not accepting chats or offline."),
        ),
    ]);

    let mut list_ticket = vec![
        (
            "date",
            date_time("Created Date-Time", "When the ticket was created"),
        ),
        ("id", string("Ticket ID", "The ticket's unique identifier.")),
        (
            "modified",
            date_time("Modified Date-Time", "When the ticket last changed"),
        ),
        ("requester", requester("The requester's full name.")),
        ("source", source(true, "Chat-window, mail or lc2.")),
        ("status", string("Status", TICKET_STATUS)),
        (
            "subject",
            string("Subject", "A short description of the ticket."),
        ),
    ];
    list_ticket.sort_by_key(|(k, _)| *k);

    let defs = [
        (
            "CreateAgent_Request",
            object(
                vec![
                    (
                        "login",
                        important(email(string("Email", "The agent's email address."))),
                    ),
                    (
                        "name",
                        important(not_blank(string("Name", "The agent's name."))),
                    ),
                    (
                        "login_status",
                        nullable(one_of(
                            "Login Status",
                            "Whether the agent accepts chats.",
                            &["accepting chats", "not accepting chats"],
                        )),
                    ),
                    (
                        "job_title",
                        nullable(with(
                            string("Title", "Default value: Support Agent."),
                            "default",
                            json!("Support Agent"),
                        )),
                    ),
                    (
                        "permission",
                        nullable(one_of(
                            "Permission",
                            "The agent's permission.",
                            &["administrator", "normal"],
                        )),
                    ),
                    (
                        "password",
                        nullable(with(
                            with(
                                string(
                                    "Password",
                                    "Minimum length 5. Not available on LiveChat API v3 connections, where LiveChat e-mails the new agent an invitation to choose one: leave it empty there.",
                                ),
                                "minLength",
                                json!(5),
                            ),
                            "format",
                            json!("password"),
                        )),
                    ),
                    (
                        "max_chats_count",
                        nullable(with(
                            string(
                                "Max Chats Count",
                                "Limit of concurrent chats, 1 to 1000 (at most 20 on LiveChat API v3 connections).",
                            ),
                            "pattern",
                            json!(MAX_CHATS_PATTERN),
                        )),
                    ),
                ],
                &["login", "name"],
            ),
        ),
        ("CreateAgent_Response", object(created_agent, &[])),
        ("ListAgents_Response", object(list_agent, &[])),
        (
            "DeleteAgent_Response",
            object(
                vec![("result", string("Result", "The outcome of the removal."))],
                &[],
            ),
        ),
        ("CreateTicket_Request", ticket_request(true)),
        ("UpdateTicket_Request", ticket_request(false)),
        ("ListTicketsResponse", object(list_ticket, &[])),
        ("TicketResponse", ticket_response()),
        (
            "WebhookRequest",
            object(
                vec![(
                    "url",
                    json!({
                        "type": "string",
                        "format": "uri",
                        "pattern": HTTP_URL,
                        "x-ms-summary": "Callback URL",
                        "description": "Where notifications are sent; filled in by the platform.",
                        "x-ms-notification-url": true,
                        "x-ms-visibility": "internal",
                    }),
                )],
                &["url"],
            ),
        ),
        ("WebhookChatResponse", chat_response()),
        ("WebhookTicketResponse", webhook_ticket_response()),
        (
            "WebhookCreated",
            object(
                vec![(
                    "id",
                    string("Subscription ID", "The subscription's unique identifier."),
                )],
                &["id"],
            ),
        ),
        (
            "Error",
            object(
                vec![
                    (
                        "statusCode",
                        integer("Status Code", "The HTTP status code."),
                    ),
                    ("message", string("Message", "What went wrong.")),
                ],
                &["statusCode", "message"],
            ),
        ),
    ];
    defs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// An example request body for Swagger UI's "Try it out", by definition name.
pub fn example(name: &str) -> Option<Value> {
    Some(match name {
        "CreateAgent_Request" => json!({
            "login": "jane.doe@example.com",
            "name": "Jane Doe",
            "login_status": "accepting chats",
            "job_title": "Support Agent",
            "permission": "normal",
            "password": "s3cret-pass",
            "max_chats_count": "6",
        }),
        "CreateTicket_Request" => json!({
            "message": "My order has not arrived yet.",
            "requester": {"mail": "customer@example.com", "name": "Chris Customer"},
            "subject": "Where is my order?",
            "source": {"type": "mail"},
        }),
        "UpdateTicket_Request" => json!({
            "requester": {"mail": "customer@example.com"},
            "tags": ["shipping", "priority"],
        }),
        "WebhookRequest" => json!({"url": "https://example.com/notify"}),
        _ => return None,
    })
}
