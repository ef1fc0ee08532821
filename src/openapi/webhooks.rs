//! The chat notification schema.

use serde_json::{json, Value};

use super::schema::*;

pub(super) fn chat_response() -> Value {
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
            (
                "id",
                string(
                    "Chat ID",
                    "The chat's unique identifier (on LiveChat API v3 connections, its thread's).",
                ),
            ),
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
