//! Ticket schemas: requests, responses and the ticket notification.

use serde_json::{json, Value};

use super::operations::MAX_TAG_CHARS;
use super::schema::*;

pub(super) fn group(id_summary: &str, name_summary: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("id", integer(id_summary, "The group's unique ID.")),
        ("name", string(name_summary, "The group's name.")),
    ]
}

pub(super) fn groups() -> Value {
    array(
        "Groups",
        "The groups the item belongs to.",
        object(group("Group ID", "Group Name"), &[]),
    )
}

pub(super) fn requester(name_description: &str) -> Value {
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

pub(super) fn source(with_id: bool, type_description: &str) -> Value {
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

pub(super) fn ticket_events() -> Value {
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

pub(super) const TICKET_STATUS: &str = "Open, pending, solved or spam.";
pub(super) const SOURCE_TYPES: &str = "Lc2, mail, facebook, agent-app-manual or chat-window.";

pub(super) fn ticket_request(create: bool) -> Value {
    // On update every field but `requester.mail` and `tags` must be left empty: LiveChat v2
    // can only replace a ticket's tags.
    let other = if create {
        ""
    } else {
        " Not supported on update: leave empty."
    };
    let optional = |v: Value| {
        if create {
            nullable(v)
        } else {
            must_be_empty(v)
        }
    };
    let assignee_id = with(
        string("Assignee ID", "Select the assignee."),
        "x-ms-dynamic-values",
        json!({"operationId": "ListAgents", "value-path": "login", "value-title": "name"}),
    );
    let assignee_id = if create {
        email(assignee_id)
    } else {
        assignee_id
    };
    let message = if create {
        important(not_blank(string("Message", "The ticket's first message.")))
    } else {
        optional(string(
            "Message",
            "Not supported: LiveChat can only replace a ticket's tags, so leave this empty.",
        ))
    };
    let source_type = if create {
        nullable(one_of(
            "Source Type",
            "Select the source. LiveChat API v3 connections (HelpDesk) keep no source and ignore it.",
            &["chat-window", "mail", "lc2"],
        ))
    } else {
        optional(string("Source Type", "Select the source."))
    };
    let source_url = string("Source URL", "If the source type is chat-window.");
    let source_url = if create {
        nullable(with(
            source_url,
            "pattern",
            json!(format!("^\\s*$|{HTTP_URL}")),
        ))
    } else {
        optional(source_url)
    };
    let mut props = vec![
        ("message", message),
        (
            "requester",
            nested(
                "Requester",
                "Who asks for help.",
                vec![
                    (
                        "mail",
                        important(email(string(
                            "Requester Email",
                            "The requester's email address.",
                        ))),
                    ),
                    (
                        "name",
                        nullable(string("Requester Name", "The requester's name.")),
                    ),
                ],
                &["mail"],
            ),
        ),
        (
            "subject",
            optional(string(
                "Subject",
                &format!("A short description of the ticket.{other}"),
            )),
        ),
        (
            "assignee",
            nullable(nested(
                "Assignee",
                &format!("The agent to assign.{other}"),
                vec![("id", optional(assignee_id))],
                &[],
            )),
        ),
        (
            "source",
            nullable(nested(
                "Source",
                &format!("Where the ticket comes from.{other}"),
                vec![("type", source_type), ("url", source_url)],
                &[],
            )),
        ),
    ];
    if create {
        object(props, &["message", "requester"])
    } else {
        let tag = not_blank(with(
            json!({"type": "string"}),
            "maxLength",
            json!(MAX_TAG_CHARS),
        ));
        props.push((
            "tags",
            important(array(
                "Tags",
                "The ticket's complete new set of tags: it replaces the current one; an empty list removes all tags.",
                tag,
            )),
        ));
        object(props, &["requester", "tags"])
    }
}

pub(super) fn ticket_common() -> Vec<(&'static str, Value)> {
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

pub(super) fn ticket_response() -> Value {
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

pub(super) fn webhook_ticket_response() -> Value {
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
    // The contract lists `event_unique_id` for chats only, but the gateway always delivers one,
    // so a flow can deduplicate ticket notifications too.
    object(
        vec![
            (
                "event_unique_id",
                string(
                    "Event ID",
                    "The event's unique ID; the same on every redelivery.",
                ),
            ),
            (
                "ticket",
                nested("Ticket", "The ticket that was created.", props, &[]),
            ),
        ],
        &[],
    )
}
