//! The one operation table: every connector operation (actions, triggers, the internal
//! unsubscribe) with its parameters, body and responses. Swagger 2.0, OpenAPI 3 and the route
//! list are all derived from [`OPERATIONS`].

/// Where a non-body parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum In {
    Path,
    Query,
}

/// `x-ms-visibility`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Important,
    Advanced,
    Internal,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Important => "important",
            Visibility::Advanced => "advanced",
            Visibility::Internal => "internal",
        }
    }
}

/// A path or query parameter.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    pub name: &'static str,
    pub location: In,
    /// Swagger primitive type: `string` or `integer`.
    pub ty: &'static str,
    pub format: Option<&'static str>,
    pub required: bool,
    pub summary: &'static str,
    pub description: &'static str,
    pub visibility: Option<Visibility>,
    pub enum_values: &'static [&'static str],
    pub default: Option<&'static str>,
    /// What the gateway enforces beyond the type, so the documents promise nothing it refuses.
    pub pattern: Option<&'static str>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
}

/// What a response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    None,
    /// `#/definitions/NAME`
    Def(&'static str),
    /// An array whose items are `#/definitions/NAME`.
    ArrayOf(&'static str),
}

/// One 2xx response.
#[derive(Clone, Copy, Debug)]
pub struct Success {
    pub status: u16,
    pub description: &'static str,
    pub body: Body,
    /// Whether the response sets `Location` (webhook subscriptions).
    pub location: bool,
    /// OpenAPI 3 links to operations that use this answer (Swagger 2.0 has none).
    pub links: &'static [Link],
}

/// An OpenAPI 3 link: `operation`'s `parameter` is taken from this answer at `expression`.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub operation: &'static str,
    pub parameter: &'static str,
    pub expression: &'static str,
}

/// What kind of operation this is for the platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Action,
    /// A webhook trigger (`x-ms-trigger: single`) whose notifications follow `notification`.
    Trigger {
        notification: &'static str,
        notification_description: &'static str,
    },
    /// Hidden from makers (`x-ms-visibility: internal`).
    Internal,
}

/// One connector operation.
#[derive(Clone, Copy, Debug)]
pub struct Operation {
    pub id: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    pub kind: Kind,
    /// Swagger UI group (OpenAPI 3 only).
    pub tag: &'static str,
    pub params: &'static [Param],
    /// Request body: definition name.
    pub body: Option<&'static str>,
    pub success: Success,
    /// Error statuses answered with the `Error` schema.
    pub errors: &'static [u16],
}

impl Operation {
    pub fn visibility(&self) -> Visibility {
        match self.kind {
            Kind::Internal => Visibility::Internal,
            _ => Visibility::Important,
        }
    }

    pub fn is_trigger(&self) -> bool {
        matches!(self.kind, Kind::Trigger { .. })
    }
}

const fn param(
    name: &'static str,
    location: In,
    summary: &'static str,
    description: &'static str,
) -> Param {
    Param {
        name,
        location,
        ty: "string",
        format: None,
        required: location as u8 == In::Path as u8,
        summary,
        description,
        visibility: None,
        enum_values: &[],
        default: None,
        pattern: None,
        min_length: None,
        max_length: None,
        minimum: None,
        maximum: None,
    }
}

const fn filter(name: &'static str, summary: &'static str, description: &'static str) -> Param {
    Param {
        visibility: Some(Visibility::Advanced),
        ..param(name, In::Query, summary, description)
    }
}

const fn fixed(
    name: &'static str,
    summary: &'static str,
    description: &'static str,
    value: &'static [&'static str],
) -> Param {
    Param {
        required: true,
        visibility: Some(Visibility::Internal),
        enum_values: value,
        default: Some(value[0]),
        ..param(name, In::Query, summary, description)
    }
}

/// What `TicketId::parse` accepts.
pub const TICKET_ID_PATTERN: &str = "^[A-Za-z0-9]{1,32}$";
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 100;
/// Largest `page` (the int32 range the documents declare).
pub const MAX_PAGE: i64 = i32::MAX as i64;

const TICKET_ID: Param = Param {
    visibility: Some(Visibility::Important),
    pattern: Some(TICKET_ID_PATTERN),
    min_length: Some(1),
    max_length: Some(32),
    ..param(
        "ticketId",
        In::Path,
        "Ticket ID",
        "The ticket's unique identifier.",
    )
};

const LIST_TICKETS_PARAMS: &[Param] = &[
    Param {
        enum_values: &["open", "pending", "solved", "spam"],
        ..filter(
            "status",
            "Status",
            "Only tickets with this status: open, pending, solved or spam (on LiveChat API v3, HelpDesk's on hold counts as pending).",
        )
    },
    Param {
        ty: "integer",
        format: Some("int32"),
        minimum: Some(1),
        maximum: Some(MAX_PAGE),
        ..filter(
            "page",
            "Page",
            "The page of results to return, starting at 1.",
        )
    },
    Param {
        format: Some("date"),
        ..filter(
            "date_from",
            "Date From",
            "Only tickets created on or after this day (YYYY-MM-DD).",
        )
    },
    Param {
        format: Some("date"),
        ..filter(
            "date_to",
            "Date To",
            "Only tickets created on or before this day (YYYY-MM-DD).",
        )
    },
    filter(
        "assignee",
        "Assignee",
        "Only tickets assigned to this agent (login email). On LiveChat API v3 connections HelpDesk cannot filter by assignee, so each page is filtered after it is read and may hold fewer tickets.",
    ),
    filter("query", "Query", "Only tickets matching this text."),
    Param {
        enum_values: &["desc", "asc"],
        ..filter(
            "order",
            "Order",
            "Sort order by creation date: desc (newest first) or asc.",
        )
    },
];

const EVENT_TYPE_DESC: &str = "The LiveChat event this trigger subscribes to.";
const DATA_TYPES_DESC: &str = "The parts of the event LiveChat sends, comma separated.";

const CHAT_STARTED_PARAMS: &[Param] = &[
    fixed(
        "event_type",
        "Event Type",
        EVENT_TYPE_DESC,
        &["chat_started"],
    ),
    fixed(
        "data_types",
        "Data Types",
        DATA_TYPES_DESC,
        &["chat,visitor,pre_chat_survey"],
    ),
];
const CHAT_ENDED_PARAMS: &[Param] = &[
    fixed("event_type", "Event Type", EVENT_TYPE_DESC, &["chat_ended"]),
    fixed(
        "data_types",
        "Data Types",
        DATA_TYPES_DESC,
        &["chat,visitor,pre_chat_survey"],
    ),
];
const TICKET_CREATED_PARAMS: &[Param] = &[
    fixed(
        "event_type",
        "Event Type",
        EVENT_TYPE_DESC,
        &["ticket_created"],
    ),
    fixed("data_types", "Data Types", DATA_TYPES_DESC, &["ticket"]),
];

const ACTION_ERRORS: &[u16] = &[401, 429, 502, 504];
const INPUT_ERRORS: &[u16] = &[400, 401, 429, 502, 504];
const ID_ERRORS: &[u16] = &[400, 401, 404, 429, 502, 504];
const CHANGE_ERRORS: &[u16] = &[400, 401, 404, 409, 429, 502, 504];

const fn ok(description: &'static str, body: Body) -> Success {
    Success {
        status: 200,
        description,
        body,
        location: false,
        links: &[],
    }
}

const SUBSCRIBED: Success = Success {
    status: 201,
    description: "The subscription was created; Location holds the URL that removes it.",
    body: Body::Def("WebhookCreated"),
    location: true,
    links: &[Link {
        operation: "DeleteHook",
        parameter: "hookId",
        expression: "$response.body#/id",
    }],
};

const fn trigger(
    id: &'static str,
    path: &'static str,
    summary: &'static str,
    description: &'static str,
    notification: &'static str,
    notification_description: &'static str,
    params: &'static [Param],
) -> Operation {
    Operation {
        id,
        method: "POST",
        path,
        summary,
        description,
        kind: Kind::Trigger {
            notification,
            notification_description,
        },
        tag: "Triggers",
        params,
        body: Some("WebhookRequest"),
        success: SUBSCRIBED,
        errors: &[400, 401, 429, 502, 503, 504],
    }
}

/// Every operation of the connector, in the order they are documented.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        id: "ListAgents",
        method: "GET",
        path: "/agents",
        summary: "List agents",
        description: "This operation returns a list of all the agents in your LiveChat account.",
        kind: Kind::Action,
        tag: "Agents",
        params: &[],
        body: None,
        success: ok("List of all agents with their details.", Body::ArrayOf("ListAgents_Response")),
        errors: ACTION_ERRORS,
    },
    Operation {
        id: "CreateAgent",
        method: "POST",
        path: "/agents",
        summary: "Create a new agent",
        description: "This operation is used to add a new agent to your LiveChat account.",
        kind: Kind::Action,
        tag: "Agents",
        params: &[],
        body: Some("CreateAgent_Request"),
        success: ok("The agent that was created.", Body::Def("CreateAgent_Response")),
        errors: &[400, 401, 409, 429, 502, 504],
    },
    Operation {
        id: "DeleteAgent",
        method: "DELETE",
        path: "/agents/{login}",
        summary: "Remove an agent",
        description: "This operation is used to remove an agent from your LiveChat account.",
        kind: Kind::Action,
        tag: "Agents",
        params: &[Param {
            visibility: Some(Visibility::Important),
            min_length: Some(3),
            max_length: Some(254),
            pattern: Some(super::schema::EMAIL_PATTERN),
            ..param("login", In::Path, "Email", "The agent's email.")
        }],
        body: None,
        success: ok("The outcome of the removal.", Body::Def("DeleteAgent_Response")),
        errors: CHANGE_ERRORS,
    },
    Operation {
        id: "ListTickets",
        method: "GET",
        path: "/tickets",
        summary: "List tickets",
        description: "This operation returns a list of tickets in your LiveChat account.",
        kind: Kind::Action,
        tag: "Tickets",
        params: LIST_TICKETS_PARAMS,
        body: None,
        success: ok("The tickets of the requested page.", Body::ArrayOf("ListTicketsResponse")),
        errors: INPUT_ERRORS,
    },
    Operation {
        id: "GetTicket",
        method: "GET",
        path: "/tickets/{ticketId}",
        summary: "Get ticket",
        description: "This operation is used to fetch the details of a specific ticket in your LiveChat account.",
        kind: Kind::Action,
        tag: "Tickets",
        params: &[TICKET_ID],
        body: None,
        success: ok("The ticket with its details.", Body::Def("TicketResponse")),
        errors: ID_ERRORS,
    },
    Operation {
        id: "CreateTicket",
        method: "POST",
        path: "/tickets",
        summary: "Create a new ticket",
        description: "This operation is used to add a new ticket to your LiveChat account.",
        kind: Kind::Action,
        tag: "Tickets",
        params: &[],
        body: Some("CreateTicket_Request"),
        success: ok("The ticket that was created.", Body::Def("TicketResponse")),
        errors: &[400, 401, 409, 429, 502, 504],
    },
    Operation {
        id: "UpdateTicket",
        method: "PUT",
        path: "/tickets/{ticketId}/tags",
        summary: "Update ticket",
        description: "This operation is used to update the details of an existing ticket in your LiveChat account.",
        kind: Kind::Action,
        tag: "Tickets",
        params: &[TICKET_ID],
        body: Some("UpdateTicket_Request"),
        success: ok("The updated ticket.", Body::Def("TicketResponse")),
        errors: CHANGE_ERRORS,
    },
    trigger(
        "WebhookChatStarted",
        "/chat_starts_webhook/webhooks",
        "When a chat starts",
        "This operation is triggered when a new chat is started. On LiveChat API v3 connections a resumed chat starts a new thread and fires it again.",
        "WebhookChatResponse",
        "A chat that started.",
        CHAT_STARTED_PARAMS,
    ),
    trigger(
        "WebhookChatEnded",
        "/chat_ends_webhook/webhooks",
        "When a chat ends",
        "This operation is triggered when a chat ends. On LiveChat API v3 connections, when LiveChat cannot give the chat's details in time, it carries only the chat's ID and end time.",
        "WebhookChatResponse",
        "A chat that ended.",
        CHAT_ENDED_PARAMS,
    ),
    trigger(
        "WebhookTicketCreated",
        "/ticket_created_webhook/webhooks",
        "When a ticket is created",
        "This operation is triggered when a new ticket is added. On LiveChat API v3 connections HelpDesk is checked for new tickets every minute (the gateway's GATEWAY_HELPDESK_POLL_SECS), so it fires up to that long after the ticket was created.",
        "WebhookTicketResponse",
        "A ticket that was created.",
        TICKET_CREATED_PARAMS,
    ),
    Operation {
        id: "DeleteHook",
        method: "DELETE",
        path: "/webhooks/{hookId}",
        summary: "Delete hook",
        description: "This operation is used to remove a trigger subscription.",
        kind: Kind::Internal,
        tag: "Internal",
        params: &[param("hookId", In::Path, "Hook ID", "The subscription's unique identifier.")],
        body: None,
        success: Success {
            status: 204,
            description: "The subscription was removed (or did not exist).",
            body: Body::None,
            location: false,
            links: &[],
        },
        errors: &[401, 404, 429, 503],
    },
];

/// `(METHOD, path template)` of every connector route, e.g. `("GET", "/tickets/{ticketId}")`.
pub fn connector_routes() -> Vec<(&'static str, &'static str)> {
    OPERATIONS.iter().map(|op| (op.method, op.path)).collect()
}

/// Description of an error status, shared by all operations.
pub fn error_description(status: u16) -> &'static str {
    match status {
        400 => "The input is invalid; the message says what to change.",
        401 => "The credentials are missing or wrong.",
        404 => "No such item.",
        409 => "LiveChat refused the change in the account's current state (for example: the agent already exists, is the account's owner, or the assignee is unknown).",
        429 => "Too many calls on this connection; retry after Retry-After seconds.",
        503 => "The gateway's store is not available; try again later.",
        502 => "LiveChat answered with an error or an unreadable response.",
        504 => "LiveChat did not answer in time.",
        _ => "Error.",
    }
}
