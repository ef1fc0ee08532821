//! The three webhook triggers of contract §3 and the LiveChat events behind them.

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    ChatStarted,
    ChatEnded,
    TicketCreated,
}

impl Trigger {
    pub const ALL: [Trigger; 3] = [
        Trigger::ChatStarted,
        Trigger::ChatEnded,
        Trigger::TicketCreated,
    ];

    /// The LiveChat `event_type`.
    pub fn event_type(self) -> &'static str {
        match self {
            Trigger::ChatStarted => "chat_started",
            Trigger::ChatEnded => "chat_ended",
            Trigger::TicketCreated => "ticket_created",
        }
    }

    /// The subscribe route.
    pub fn route(self) -> &'static str {
        match self {
            Trigger::ChatStarted => "/chat_starts_webhook/webhooks",
            Trigger::ChatEnded => "/chat_ends_webhook/webhooks",
            Trigger::TicketCreated => "/ticket_created_webhook/webhooks",
        }
    }

    /// The data types LiveChat allows for the event; all of them are the default.
    pub fn data_types(self) -> &'static [&'static str] {
        match self {
            Trigger::ChatStarted | Trigger::ChatEnded => &["chat", "visitor", "pre_chat_survey"],
            Trigger::TicketCreated => &["ticket"],
        }
    }

    pub fn from_event_type(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.event_type() == s)
    }

    /// Checks the optional internal query parameters against this trigger.
    pub fn check_query(
        self,
        event_type: Option<&str>,
        data_types: &[String],
    ) -> Result<Vec<String>, ApiError> {
        // Given at all, each must be what the document declares (its one-value `enum`).
        if let Some(e) = event_type {
            if e != self.event_type() {
                return Err(ApiError::BadRequest(format!(
                    "`event_type` must be `{}` for this trigger.",
                    self.event_type()
                )));
            }
        }
        let allowed = self.data_types();
        let mut chosen: Vec<String> = Vec::new();
        for d in data_types.iter().flat_map(|d| d.split(',')).map(str::trim) {
            if !allowed.contains(&d) {
                return Err(ApiError::BadRequest(format!(
                    "`data_types` may only hold: {}.",
                    allowed.join(", ")
                )));
            }
            if !chosen.iter().any(|c| c == d) {
                chosen.push(d.to_string());
            }
        }
        if chosen.is_empty() {
            chosen = allowed.iter().map(|d| d.to_string()).collect();
        }
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_checks() {
        let t = Trigger::ChatEnded;
        assert_eq!(
            t.check_query(None, &[]).unwrap(),
            ["chat", "visitor", "pre_chat_survey"]
        );
        assert_eq!(
            t.check_query(Some("chat_ended"), &["chat,visitor".into(), "chat".into()])
                .unwrap(),
            ["chat", "visitor"]
        );
        assert!(t.check_query(Some("chat_started"), &[]).is_err());
        assert!(t.check_query(None, &["ticket".into()]).is_err());
        assert_eq!(
            Trigger::from_event_type("ticket_created"),
            Some(Trigger::TicketCreated)
        );
    }
}
