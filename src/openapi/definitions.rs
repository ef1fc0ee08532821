//! Named schemas (`#/definitions/NAME`), built with small helpers so that every property carries
//! an `x-ms-summary` (Title Case) and a description.

use serde_json::{json, Map, Value};

fn typed(ty: &str, summary: &str, description: &str) -> Value {
    json!({"type": ty, "x-ms-summary": summary, "description": description})
}

fn string(summary: &str, description: &str) -> Value {
    typed("string", summary, description)
}

fn integer(summary: &str, description: &str) -> Value {
    let mut v = typed("integer", summary, description);
    v["format"] = json!("int32");
    v
}

fn boolean(summary: &str, description: &str) -> Value {
    typed("boolean", summary, description)
}

fn date_time(summary: &str, description: &str) -> Value {
    let mut v = string(
        summary,
        &format!("{description} (yyyy-MM-ddTHH:mm:ss.fffZ, UTC)."),
    );
    v["format"] = json!("date-time");
    v
}

fn one_of(summary: &str, description: &str, values: &[&str]) -> Value {
    let mut v = string(summary, description);
    v["enum"] = json!(values);
    v
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

/// An object schema with properties (and optionally `required`).
fn object(props: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let properties: Map<String, Value> =
        props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let mut v = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        v["required"] = json!(required);
    }
    v
}

/// An object-valued property.
fn nested(summary: &str, description: &str, props: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let mut v = object(props, required);
    v["x-ms-summary"] = json!(summary);
    v["description"] = json!(description);
    v
}

fn array(summary: &str, description: &str, items: Value) -> Value {
    json!({"type": "array", "x-ms-summary": summary, "description": description, "items": items})
}

fn strings(summary: &str, description: &str) -> Value {
    array(summary, description, json!({"type": "string"}))
}

fn group(id_summary: &str, name_summary: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("id", integer(id_summary, "The group's unique ID.")),
        ("name", string(name_summary, "The group's name.")),
    ]
}

fn groups() -> Value {
    array(
        "Groups",
        "The groups the item belongs to.",
        object(group("Group ID", "Group Name"), &[]),
    )
}

fn requester(name_description: &str) -> Value {
    nested(
        "Requester",
        "Who asked for help.",
        vec![
            ("ip", string("IP", "The requester's IP address.")),
            ("mail", string("Email", "The requester's email address.")),
            ("name", string("Name", name_description)),
        ],
        &[],
    )
}

fn source(with_id: bool, type_description: &str) -> Value {
    let mut props = vec![];
    if with_id {
        props.push(("id", string("Source ID", "The source's unique identifier.")));
    }
    props.push(("type", string("Type", type_description)));
    props.push((
        "url",
        string("URL", "The web page where the ticket was created."),
    ));
    nested("Source", "Where the ticket came from.", props, &[])
}

fn ticket_events() -> Value {
    let author = nested(
        "Author",
        "Who wrote the event.",
        vec![
            ("id", string("Author ID", "The author's unique ID.")),
            ("name", string("Author Name", "The author's name.")),
            ("type", string("Author Type", "Agent or client.")),
        ],
        &[],
    );
    array(
        "Events",
        "What happened on the ticket.",
        object(
            vec![
                ("author", author),
                (
                    "date",
                    date_time("Event Date-Time", "When the event happened"),
                ),
                (
                    "is_private",
                    boolean("Is Private", "True if the event is private."),
                ),
                ("message", string("Message", "The event's text.")),
                ("source", source(false, "Chat-window, mail or lc2.")),
                ("type", string("Event Type", "The kind of event.")),
            ],
            &[],
        ),
    )
}

const TICKET_STATUS: &str = "Open, pending, solved or spam.";
const SOURCE_TYPES: &str = "Lc2, mail, facebook, agent-app-manual or chat-window.";

fn ticket_request(message_required: bool) -> Value {
    let assignee_id = with(
        string("Assignee ID", "Select the assignee."),
        "x-ms-dynamic-values",
        json!({"operationId": "ListAgents", "value-path": "login", "value-title": "name"}),
    );
    let (message_description, other) = if message_required {
        ("The ticket's first message.", "")
    } else {
        (
            "Not supported: LiveChat can only replace a ticket's tags, so leave this empty.",
            " Not supported on update: leave empty.",
        )
    };
    let mut props = vec![
        ("message", string("Message", message_description)),
        (
            "requester",
            nested(
                "Requester",
                "Who asks for help.",
                vec![
                    (
                        "mail",
                        string("Requester Email", "The requester's email address."),
                    ),
                    ("name", string("Requester Name", "The requester's name.")),
                ],
                &["mail"],
            ),
        ),
        (
            "subject",
            string(
                "Subject",
                &format!("A short description of the ticket.{other}"),
            ),
        ),
        (
            "assignee",
            nested(
                "Assignee",
                &format!("The agent to assign.{other}"),
                vec![("id", assignee_id)],
                &[],
            ),
        ),
        (
            "source",
            nested(
                "Source",
                &format!("Where the ticket comes from.{other}"),
                vec![
                    (
                        "type",
                        one_of(
                            "Source Type",
                            "Select the source.",
                            &["chat-window", "mail", "lc2"],
                        ),
                    ),
                    (
                        "url",
                        string("Source URL", "If the source type is chat-window."),
                    ),
                ],
                &[],
            ),
        ),
    ];
    if message_required {
        object(props, &["message", "requester"])
    } else {
        props.push((
            "tags",
            with(
                strings(
                    "Tags",
                    "The ticket's complete new set of tags: it replaces the current one; an empty list removes all tags.",
                ),
                "x-ms-visibility",
                json!("important"),
            ),
        ));
        object(props, &["requester"])
    }
}

fn chat_response() -> Value {
    let timestamp = |s: &str, d: &str| date_time(s, d);
    let chat = nested(
        "Chat",
        "The chat.",
        vec![
            (
                "agents",
                array(
                    "Agents",
                    "The agents in the chat.",
                    object(
                        vec![
                            ("login", string("Agent Email", "The agent's email address.")),
                            ("name", string("Agent Name", "The agent's name.")),
                        ],
                        &[],
                    ),
                ),
            ),
            (
                "ended_timestamp",
                timestamp("Ended Date-Time", "When the chat ended"),
            ),
            (
                "events",
                array(
                    "Events",
                    "The chat's events.",
                    object(
                        vec![
                            ("text", string("Event Text", "The message of the event.")),
                            (
                                "timestamp",
                                timestamp("Event Date-Time", "When the event happened"),
                            ),
                            ("type", string("Event Type", "The kind of event.")),
                            ("user_type", string("Event User Type", "The kind of user.")),
                        ],
                        &[],
                    ),
                ),
            ),
            (
                "groups",
                array(
                    "Groups",
                    "The IDs of the chat's groups.",
                    json!({"type": "integer", "format": "int32"}),
                ),
            ),
            ("id", string("Chat ID", "The chat's unique identifier.")),
            (
                "messages",
                array(
                    "Messages",
                    "The chat's messages.",
                    object(
                        vec![
                            (
                                "agent_id",
                                string(
                                    "Agent ID",
                                    "The unique ID of the agent tied to the message.",
                                ),
                            ),
                            (
                                "author_name",
                                string("Author Name", "The name of the message's author."),
                            ),
                            ("text", string("Text", "The message's text.")),
                            (
                                "timestamp",
                                timestamp("Sent Date-Time", "When the message was sent"),
                            ),
                            (
                                "user_type",
                                string("User Type", "The kind of user who sent the message."),
                            ),
                        ],
                        &[],
                    ),
                ),
            ),
            (
                "started_timestamp",
                timestamp("Started Date-Time", "When the chat started"),
            ),
            ("tags", strings("Tags", "The chat's tags.")),
            ("url", string("URL", "The web page where the chat started.")),
        ],
        &[],
    );
    object(
        vec![
            ("chat", chat),
            (
                "event_unique_id",
                string(
                    "Event ID",
                    "The event's unique ID; the same on every redelivery.",
                ),
            ),
            (
                "pre_chat_survey",
                array(
                    "Pre-Chat Survey",
                    "The answers to the pre-chat survey.",
                    object(
                        vec![
                            ("answer", string("Answer", "The answer to the question.")),
                            ("id", string("Survey ID", "The question's ID.")),
                            ("label", string("Question", "The survey question.")),
                        ],
                        &[],
                    ),
                ),
            ),
            (
                "visitor",
                nested(
                    "Visitor",
                    "Who started the chat.",
                    vec![
                        ("email", string("Email", "The visitor's email address.")),
                        ("id", string("Visitor ID", "The visitor's unique ID.")),
                        ("language", string("Language", "The visitor's language.")),
                        ("name", string("Name", "The visitor's name.")),
                        (
                            "page_current",
                            string("Page", "The web page the chat came from."),
                        ),
                    ],
                    &[],
                ),
            ),
        ],
        &[],
    )
}

fn ticket_common() -> Vec<(&'static str, Value)> {
    vec![
        ("events", ticket_events()),
        ("groups", groups()),
        ("id", string("Ticket ID", "The ticket's unique ID.")),
        ("requester", requester("The requester's name.")),
        ("source", source(true, SOURCE_TYPES)),
        ("status", string("Status", TICKET_STATUS)),
        (
            "subject",
            string("Subject", "A short description of the ticket."),
        ),
        ("tags", strings("Tags", "The ticket's tags.")),
    ]
}

fn ticket_response() -> Value {
    let mut props = ticket_common();
    props.push((
        "currentGroup",
        nested(
            "Current Group",
            "The group handling the ticket.",
            group("Group ID", "Group Name"),
            &[],
        ),
    ));
    props.push((
        "date",
        date_time("Created Date-Time", "When the ticket was created"),
    ));
    object(props, &[])
}

fn webhook_ticket_response() -> Value {
    let mut props = ticket_common();
    props.push((
        "assignee",
        nested(
            "Assignee",
            "The agent the ticket is assigned to.",
            vec![
                (
                    "id",
                    string("Assignee ID", "The assignee's unique identifier."),
                ),
                ("name", string("Assignee Name", "The assignee's name.")),
            ],
            &[],
        ),
    ));
    object(
        vec![(
            "ticket",
            nested("Ticket", "The ticket that was created.", props, &[]),
        )],
        &[],
    )
}

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
                    ("login", string("Email", "The agent's email address.")),
                    ("name", string("Name", "The agent's name.")),
                    (
                        "login_status",
                        one_of(
                            "Login Status",
                            "Whether the agent accepts chats.",
                            &["accepting chats", "not accepting chats"],
                        ),
                    ),
                    (
                        "job_title",
                        with(
                            string("Title", "Default value: Support Agent."),
                            "default",
                            json!("Support Agent"),
                        ),
                    ),
                    (
                        "permission",
                        one_of(
                            "Permission",
                            "The agent's permission.",
                            &["administrator", "normal"],
                        ),
                    ),
                    (
                        "password",
                        with(
                            with(
                                string("Password", "Minimum length 5."),
                                "minLength",
                                json!(5),
                            ),
                            "format",
                            json!("password"),
                        ),
                    ),
                    (
                        "max_chats_count",
                        string("Max Chats Count", "Limit of concurrent chats."),
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
