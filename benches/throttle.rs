//! Throttle cost and memory: `cargo bench --bench throttle`. Figures go to docs/benchmarks.md.
//! A plain timing loop (no bench framework) keeps the build small on two cores.

use std::time::Instant;

use livechat_gateway::clock::{ManualClock, SharedClock};
use livechat_gateway::credentials::ConnectionId;
use livechat_gateway::throttle::{Limits, LocalThrottle};

fn main() {
    let clock = ManualClock::new(0);
    let throttle = LocalThrottle::new(Limits::new(100, 60), clock.clone() as SharedClock);

    // Hot connection: every call after the 100th is a refusal, the common case under a flood.
    let id = ConnectionId::from_stored("hot".into());
    let n = 2_000_000;
    let started = Instant::now();
    for i in 0..n {
        if i % 1000 == 0 {
            clock.advance_ms(1);
        }
        std::hint::black_box(throttle.check(&id));
    }
    let per_call = started.elapsed().as_nanos() as f64 / n as f64;
    println!("check, one connection at quota: {per_call:.0} ns/call");

    // Many connections, each using its whole quota: the worst case for memory.
    let conns = 10_000;
    let before = rss_kib();
    let started = Instant::now();
    for c in 0..conns {
        let id = ConnectionId::from_stored(format!("conn-{c:06}-padpadpadpadpadpad"));
        for _ in 0..100 {
            throttle.check(&id);
        }
    }
    let per_call = started.elapsed().as_nanos() as f64 / (conns * 100) as f64;
    let after = rss_kib();
    println!("check, {conns} connections x 100 calls: {per_call:.0} ns/call");
    println!(
        "resident memory for {conns} full connections: {} KiB ({:.1} KiB per connection)",
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / conns as f64
    );
    clock.advance_ms(60_000);
    throttle.check(&id);
    println!(
        "after one idle window: {} connections tracked",
        throttle.tracked_connections()
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
