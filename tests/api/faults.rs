//! The fault matrix at LiveChat's side: every way an answer can break maps to the contract's
//! status and error shape, within the upstream timeout, on every API generation, never
//! echoing the caller's key and never following a redirect with it.

use std::time::{Duration, Instant};

use base64::Engine;
use livechat_gateway::fake_livechat::faults::{Fault, FaultyLiveChat};

use crate::helpers::{send, spawn_app_on, Generation};

const TIMEOUT_MS: u64 = 800;

/// (fault, status the caller sees, a word its message holds besides LiveChat's or HelpDesk's name).
async fn matrix(elsewhere: &FaultyLiveChat) -> Vec<(Fault, u16, &'static str)> {
    let redirect = |status| Fault::Redirect {
        status,
        location: format!("{}/elsewhere", elsewhere.base_url()),
    };
    vec![
        (Fault::Refuse, 502, "reached"),
        (Fault::HangUp, 502, ""),
        (Fault::ResetMidBody, 502, ""),
        (
            Fault::Drip {
                every: Duration::from_millis(100),
            },
            504,
            "",
        ),
        (
            Fault::Oversize {
                bytes: 9 * 1024 * 1024,
            },
            502,
            "",
        ),
        (Fault::InvalidUtf8, 502, ""),
        (Fault::Html { status: 200 }, 502, "not JSON"),
        (Fault::Html { status: 503 }, 502, ""),
        (Fault::EmptyOk, 502, ""),
        (redirect(301), 502, "redirect"),
        (redirect(302), 502, "redirect"),
        (redirect(303), 502, "redirect"),
        (redirect(307), 502, "redirect"),
        (redirect(308), 502, "redirect"),
        (Fault::EchoAuthorization { status: 400 }, 400, "redacted"),
        (Fault::EchoAuthorization { status: 500 }, 502, ""),
    ]
}

async fn run_matrix(generation: Generation) {
    let elsewhere = FaultyLiveChat::spawn(Fault::EmptyOk).await.unwrap();
    for (fault, status, word) in matrix(&elsewhere).await {
        let faulty = FaultyLiveChat::spawn(fault.clone()).await.unwrap();
        let url: url::Url = faulty.base_url().parse().unwrap();
        let app = spawn_app_on(generation, |s| {
            s.livechat_url = url.clone();
            s.helpdesk_url = url;
            s.upstream_timeout_ms = TIMEOUT_MS;
        })
        .await;
        for path in ["/agents", "/tickets/ABC123"] {
            let started = Instant::now();
            let res = send(app.get(path), None).await;
            let took = started.elapsed();
            let case = format!(
                "{generation:?} {fault:?} GET {path}: {} {}",
                res.status, res.text
            );
            assert_eq!(res.status, status, "{case}");
            assert_eq!(res.body["statusCode"], status, "{case}");
            let message = res.body["message"].as_str().unwrap_or_default();
            let names_upstream = message.contains("LiveChat") || message.contains("HelpDesk");
            assert!(names_upstream && message.contains(word), "{case}");
            assert!(
                took < Duration::from_millis(TIMEOUT_MS + 1_000),
                "{case}: took {took:?}"
            );
            let pair = format!("{}:{}", app.login, app.api_key);
            let encoded = base64::engine::general_purpose::STANDARD.encode(&pair);
            for secret in [&app.api_key, &encoded] {
                assert!(!res.text.contains(secret.as_str()), "{case}: key echoed");
                let headers = format!("{:?}", res.headers);
                assert!(
                    !headers.contains(secret.as_str()),
                    "{case}: key in a header"
                );
            }
        }
    }
    assert!(
        elsewhere.heads().is_empty(),
        "a redirect was followed: {:?}",
        elsewhere.heads()
    );
}

#[actix_web::test]
async fn every_livechat_fault_maps_to_the_contract_on_v2() {
    run_matrix(Generation::V2).await;
}

#[actix_web::test]
async fn every_livechat_fault_maps_to_the_contract_on_v3() {
    run_matrix(Generation::V3).await;
}

#[actix_web::test]
async fn the_fault_switch_reaches_livechat_with_the_callers_pair_only_there() {
    let faulty = FaultyLiveChat::spawn(Fault::EmptyOk).await.unwrap();
    let url: url::Url = faulty.base_url().parse().unwrap();
    let app = spawn_app_on(Generation::V2, |s| s.livechat_url = url).await;
    send(app.get("/agents"), None).await;
    faulty.set(Fault::HangUp);
    send(app.get("/agents"), None).await;
    let heads = faulty.heads();
    assert_eq!(heads.len(), 2, "{heads:?}");
    assert!(heads[0].contains("authorization: Basic "), "{}", heads[0]);
}
