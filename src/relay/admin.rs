//! `livechat-gateway deliveries list [--dead]` and `deliveries replay <id|--all-dead>`: look at
//! and requeue what the store holds. A running gateway picks replayed rows up within a second.
//! Dead deliveries are purged `DEAD_RETENTION_MS` after they died; the list says when.

use std::fmt::Write;

use crate::clock::{Clock, SystemClock};
use crate::dates::format_ms;
use crate::settings::DeliveriesCommand;
use crate::startup::BoxError;
use crate::store::{Delivery, DeliveryState, ReplaySelector, Store, DEAD_RETENTION_MS};

pub fn run(action: DeliveriesCommand) -> Result<(), BoxError> {
    let settings = action.store().clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = Store::connect(&settings.database_url).await?;
        match action {
            DeliveriesCommand::List { dead, json, .. } => {
                let now = SystemClock.now_ms();
                let rows = store.list_deliveries(dead).await?;
                if json {
                    println!("{}", as_json(&rows, now));
                } else {
                    print!("{}", table(&rows, now));
                }
            }
            DeliveriesCommand::Replay { id, all_dead, .. } => {
                let which = if all_dead {
                    ReplaySelector::AllDead
                } else {
                    let raw = id.unwrap_or_default();
                    let id = raw
                        .trim()
                        .parse()
                        .map_err(|_| format!("`{raw}` is not a delivery id"))?;
                    ReplaySelector::One(id)
                };
                let n = store.replay(&which, SystemClock.now_ms()).await?;
                if n == 0 && matches!(which, ReplaySelector::One(_)) {
                    return Err("no pending or dead delivery has that id".into());
                }
                println!("{n} deliveries queued again");
            }
        }
        Ok(())
    })
}

/// Where a pending delivery stands in its flow's order, at `now_ms`.
fn order_marks(rows: &[Delivery], now_ms: i64) -> Vec<String> {
    // Rows come oldest first; the first pending row of a flow that holds it, per subscription.
    let mut holder: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
    rows.iter()
        .map(|d| {
            if d.state != DeliveryState::Pending {
                return String::new();
            }
            let ahead = holder.get(d.subscription_id.as_str()).copied();
            if d.holds_flow(now_ms) {
                holder.entry(&d.subscription_id).or_insert(d.id);
            }
            match (ahead, d.releases_flow_at_ms) {
                (Some(id), _) => format!("held behind {id}"),
                (None, Some(t)) if t <= now_ms => "released".into(),
                (None, Some(t)) => format!("holds until {}", format_ms(t).unwrap_or_default()),
                (None, None) => "first".into(),
            }
        })
        .collect()
}

/// One line per delivery, columns separated by two spaces. ORDER says where a pending one
/// stands in its flow: `first`, `holds until` (refused, holding the later ones at most until
/// then), `held behind <id>`, or `released` (its flow goes on without it). A dead delivery
/// says how many days are left before it is purged.
pub fn table(rows: &[Delivery], now_ms: i64) -> String {
    let header = [
        "ID",
        "SUBSCRIPTION",
        "EVENT",
        "EVENT_UNIQUE_ID",
        "ATTEMPTS",
        "STATUS",
        "ORDER",
        "NEXT ATTEMPT / LAST ERROR",
    ];
    let mut lines: Vec<[String; 8]> = vec![header.map(String::from)];
    for (d, order) in rows.iter().zip(order_marks(rows, now_ms)) {
        lines.push([
            d.id.to_string(),
            d.subscription_id.clone(),
            d.event_type.clone(),
            d.event_unique_id.clone(),
            d.attempts.to_string(),
            d.state.as_str().to_string(),
            order,
            detail(d, now_ms),
        ]);
    }
    let mut widths = [0usize; 8];
    for l in &lines {
        for (w, c) in widths.iter_mut().zip(l.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for l in &lines {
        let mut line = String::new();
        for (i, c) in l.iter().enumerate() {
            if i + 1 == l.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ", w = widths[i]);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// The rows as one JSON array (times as RFC 3339), the table's columns as fields; no payload.
pub fn as_json(rows: &[Delivery], now_ms: i64) -> String {
    let items: Vec<serde_json::Value> = rows
        .iter()
        .zip(order_marks(rows, now_ms))
        .map(|(d, order)| {
            serde_json::json!({
                "id": d.id,
                "subscription_id": d.subscription_id,
                "event_type": d.event_type,
                "event_unique_id": d.event_unique_id,
                "state": d.state.as_str(),
                "attempts": d.attempts,
                "order": order,
                "received_at": format_ms(d.created_ms),
                "next_attempt_at": (d.state == DeliveryState::Pending)
                    .then(|| format_ms(d.next_attempt_ms)),
                "last_status": d.last_status,
                "last_error": d.last_error,
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// The next attempt of a pending delivery, or how long a dead one is kept; with the last error.
fn detail(d: &Delivery, now_ms: i64) -> String {
    let last = match (d.last_status, d.last_error.as_deref()) {
        (Some(s), Some(e)) => format!("HTTP {s}: {e}"),
        (None, Some(e)) => e.to_string(),
        (Some(s), None) => format!("HTTP {s}"),
        (None, None) => String::new(),
    };
    match d.state {
        DeliveryState::Pending => {
            let next = format_ms(d.next_attempt_ms).unwrap_or_default();
            if last.is_empty() {
                format!("next {next}")
            } else {
                format!("next {next} (last: {last})")
            }
        }
        DeliveryState::Dead => {
            let left_ms = (d.updated_ms + DEAD_RETENTION_MS - now_ms).max(0);
            let days = (left_ms + 86_399_999) / 86_400_000;
            let note = format!("purged in {days} d");
            if last.is_empty() {
                note
            } else {
                format!("{last} ({note})")
            }
        }
        DeliveryState::Delivered => last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, sub: &str, releases: Option<i64>) -> Delivery {
        Delivery {
            id,
            subscription_id: sub.into(),
            event_type: "chat_started".into(),
            event_unique_id: format!("u{id}"),
            payload: "{}".into(),
            state: DeliveryState::Pending,
            attempts: 0,
            next_attempt_ms: 0,
            last_status: None,
            last_error: None,
            created_ms: 0,
            updated_ms: 0,
            releases_flow_at_ms: releases,
        }
    }

    #[test]
    fn the_order_column_shows_held_and_released() {
        let rows = [
            row(1, "a", Some(50)),  // refused, released at 50
            row(2, "a", None),      // first of the rest
            row(3, "a", None),      // behind 2
            row(4, "b", Some(500)), // refused, still holding
            row(5, "b", None),
        ];
        let marks = order_marks(&rows, 100);
        assert_eq!(marks[0], "released");
        assert_eq!(marks[1], "first");
        assert_eq!(marks[2], "held behind 2");
        assert!(
            marks[3].starts_with("holds until 1970-01-01T00:00:00.500Z"),
            "{}",
            marks[3]
        );
        assert_eq!(marks[4], "held behind 4");
        let text = table(&rows, 100);
        assert!(text.lines().next().unwrap().contains("ORDER"), "{text}");
        assert!(text.contains("held behind 4"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&as_json(&rows, 100)).unwrap();
        assert_eq!(json[2]["order"], "held behind 2");
        assert_eq!(json[0]["state"], "pending");
        assert!(json[0].get("payload").is_none());
    }

    #[test]
    fn the_table_columns_line_up() {
        let mut long = row(12345, "a-much-longer-subscription-id", None);
        long.last_error = Some("callback answered HTTP 500".into());
        let text = table(&[row(1, "s", None), long], 0);
        let lines: Vec<&str> = text.lines().collect();
        let col = |l: &str| l.find("EVENT").or_else(|| l.find("chat_started")).unwrap();
        assert_eq!(col(lines[0]), col(lines[1]), "{text}");
        assert_eq!(col(lines[1]), col(lines[2]), "{text}");
    }
}
