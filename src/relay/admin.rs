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
            DeliveriesCommand::List { dead, .. } => {
                let now = SystemClock.now_ms();
                print!("{}", table(&store.list_deliveries(dead).await?, now));
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

/// One line per delivery, columns separated by two spaces. A dead delivery says how many days
/// are left before it is purged.
pub fn table(rows: &[Delivery], now_ms: i64) -> String {
    let header = [
        "ID",
        "SUBSCRIPTION",
        "EVENT",
        "EVENT_UNIQUE_ID",
        "ATTEMPTS",
        "STATUS",
        "NEXT ATTEMPT / LAST ERROR",
    ];
    let mut lines: Vec<[String; 7]> = vec![header.map(String::from)];
    for d in rows {
        let last = match (d.last_status, d.last_error.as_deref()) {
            (Some(s), Some(e)) => format!("HTTP {s}: {e}"),
            (None, Some(e)) => e.to_string(),
            (Some(s), None) => format!("HTTP {s}"),
            (None, None) => String::new(),
        };
        let detail = match d.state {
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
            _ => last,
        };
        lines.push([
            d.id.to_string(),
            d.subscription_id.clone(),
            d.event_type.clone(),
            d.event_unique_id.clone(),
            d.attempts.to_string(),
            d.state.as_str().to_string(),
            detail,
        ]);
    }
    let mut widths = [0usize; 7];
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
