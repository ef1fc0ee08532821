//! REST API tests against a spawned fake (agents, tickets, auth, quirks, injection).

use super::*;
use awc::http::Method;
use serde_json::{json, Value};

pub(super) const LOGIN: &str = "owner@acme.test";
pub(super) const KEY: &str = "key-123";

pub(super) async fn fake() -> FakeLiveChat {
    let f = FakeLiveChat::spawn("127.0.0.1:0").await.expect("bind");
    f.add_account(LOGIN, KEY);
    f
}

async fn send(
    f: &FakeLiveChat,
    auth: Option<(&str, &str)>,
    version: bool,
    method: &str,
    path: &str,
    body: Option<(&str, String)>,
) -> (u16, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = awc::Client::default().request(method, format!("{}{path}", f.base_url()));
    if let Some((login, key)) = auth {
        req = req.basic_auth(login, key);
    }
    if version {
        req = req.insert_header(("X-API-Version", "2"));
    }
    let res = match body {
        Some((ctype, b)) => {
            req.insert_header(("content-type", ctype))
                .send_body(b)
                .await
        }
        None => req.send().await,
    };
    let mut res = res.expect("request");
    let bytes = res.body().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (res.status().as_u16(), json)
}

/// An authenticated call as the test account, with an optional JSON body.
pub(super) async fn call(
    f: &FakeLiveChat,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let body = body.map(|b| ("application/json", b.to_string()));
    send(f, Some((LOGIN, KEY)), true, method, path, body).await
}

/// An authenticated call as the test account with a urlencoded body.
pub(super) async fn call_form(
    f: &FakeLiveChat,
    method: &str,
    path: &str,
    form: &str,
) -> (u16, Value) {
    let body = Some(("application/x-www-form-urlencoded", form.to_string()));
    send(f, Some((LOGIN, KEY)), true, method, path, body).await
}

fn errors_array(v: &Value) -> usize {
    v["errors"].as_array().map(Vec::len).expect("errors array")
}

#[actix_web::test]
async fn auth_needs_known_basic_credentials_and_version_header() {
    let f = fake().await;
    let (s, b) = send(&f, Some((LOGIN, KEY)), false, "GET", "/agents", None).await;
    assert_eq!((s, b["error"].is_string()), (401, true));
    for (login, key) in [(LOGIN, "wrong"), ("nobody@acme.test", KEY)] {
        let (s, b) = send(&f, Some((login, key)), true, "GET", "/agents", None).await;
        assert_eq!((s, b["error"].is_string()), (401, true));
    }
    assert_eq!(send(&f, None, true, "GET", "/agents", None).await.0, 401);
    // Login is matched case-insensitively; header name case does not matter on the wire.
    let (s, _) = send(
        &f,
        Some(("OWNER@acme.test", KEY)),
        true,
        "GET",
        "/agents",
        None,
    )
    .await;
    assert_eq!(s, 200);
    f.set_quirks(Quirks {
        missing_version_status: Some(400),
        ..Quirks::default()
    });
    assert_eq!(
        send(&f, Some((LOGIN, KEY)), false, "GET", "/agents", None)
            .await
            .0,
        400
    );
}

#[actix_web::test]
async fn accounts_see_only_their_own_data() {
    let f = fake().await;
    f.add_account("other@beta.test", "k2");
    let body = json!({"message": "hi", "requester": {"mail": "a@b.test"}});
    let (_, t) = call(&f, "POST", "/tickets", Some(body)).await;
    let path = format!("/tickets/{}", t["id"].as_str().unwrap());
    let (s, _) = send(
        &f,
        Some(("other@beta.test", "k2")),
        true,
        "GET",
        &path,
        None,
    )
    .await;
    assert_eq!(s, 404);
    let (_, list) = send(
        &f,
        Some(("other@beta.test", "k2")),
        true,
        "GET",
        "/agents",
        None,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["login"], "other@beta.test");
    assert_eq!(list[0]["permission"], "owner");
    assert_eq!(f.tickets(LOGIN).len(), 1);
    assert!(f.tickets("other@beta.test").is_empty());
}

#[actix_web::test]
async fn agents_list_is_a_bare_array_filtered_by_status() {
    let f = FakeLiveChat::spawn("127.0.0.1:0").await.unwrap();
    let demo = f.seed_demo();
    assert_eq!(f.seed_demo(), demo, "seeding twice is a no-op");
    let auth = Some((demo.login.as_str(), demo.api_key.as_str()));
    let (s, all) = send(&f, auth, true, "GET", "/agents", None).await;
    assert_eq!(s, 200);
    assert_eq!(all.as_array().unwrap().len(), 4);
    let keys: Vec<&String> = all[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["avatar", "login", "name", "permission", "status"]);
    let (_, some) = send(
        &f,
        auth,
        true,
        "GET",
        "/agents?status=not%20accepting%20chats",
        None,
    )
    .await;
    assert_eq!(some.as_array().unwrap().len(), 1);
    assert_eq!(some[0]["login"], "mark.smith@example.com");
    let (s, err) = send(&f, auth, true, "GET", "/agents?status=INVALID", None).await;
    assert_eq!((s, errors_array(&err)), (400, 1));
    let (_, tickets) = send(&f, auth, true, "GET", "/tickets", None).await;
    assert_eq!(tickets["total"], 6);
}

#[actix_web::test]
async fn agent_create_get_delete_round_trip() {
    let f = fake().await;
    let body = json!({"login": "jenny.doe@acme.test", "name": "Jenny Doe", "permission": "administrator",
                      "groups": [1, 2], "max_chats_count": "3", "password": "secret1"});
    let (s, a) = call(&f, "POST", "/agents", Some(body.clone())).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(
        a["groups"],
        json!([{"id":1,"name":"Sales"},{"id":2,"name":"Technical Support"}])
    );
    assert_eq!(
        (a["status"].as_str(), a["last_logout"].as_i64()),
        (Some("offline"), Some(0))
    );
    assert_eq!(
        (a["max_chats_count"].as_i64(), a["job_title"].as_str()),
        (Some(3), Some("Support Agent"))
    );
    assert_eq!(a["login_status"], "accepting chats");
    assert!(a["notifications"]["new_visitor"].is_i64() && a["daily_summary"] == 1);
    let (s, dup) = call(&f, "POST", "/agents", Some(body)).await;
    assert_eq!((s, errors_array(&dup)), (400, 1));
    let (s, got) = call(&f, "GET", "/agents/jenny.doe%40acme.test", None).await;
    assert_eq!((s, &got), (200, &a));
    let (s, del) = call(&f, "DELETE", "/agents/jenny.doe%40acme.test", None).await;
    assert_eq!(
        (s, del),
        (
            200,
            json!({"result": "jenny.doe@acme.test removed successfully"})
        )
    );
    for method in ["GET", "DELETE"] {
        let (s, nf) = call(&f, method, "/agents/jenny.doe@acme.test", None).await;
        assert_eq!((s, nf), (404, json!({"error": "Not found"})));
    }
    let (s, _) = call(&f, "DELETE", &format!("/agents/{LOGIN}"), None).await;
    assert_eq!(s, 400, "the owner cannot be removed");
}

#[actix_web::test]
async fn agent_create_collects_validation_errors() {
    let f = fake().await;
    let body = json!({"login": "INVALID", "permission": "owner", "password": "abc",
                      "login_status": "busy", "max_chats_count": "many", "groups": [9]});
    let (s, err) = call(&f, "POST", "/agents", Some(body)).await;
    assert_eq!((s, errors_array(&err)), (400, 7), "{err}");
    let (s, err) = call(&f, "POST", "/agents", Some(json!({"name": "X"}))).await;
    assert_eq!((s, errors_array(&err)), (400, 1));
    let bad_notes = json!({"login": "a@b.test", "name": "A", "notifications": {"new_visitor": 1}});
    assert_eq!(call(&f, "POST", "/agents", Some(bad_notes)).await.0, 400);
}

#[actix_web::test]
async fn agent_create_accepts_php_style_form() {
    let f = fake().await;
    let form =
        "login=form%40acme.test&name=Form+Agent&groups%5B%5D=1&max_chats_count=4&daily_summary=0";
    let (s, a) = call_form(&f, "POST", "/agents", form).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["groups"], json!([{"id": 1, "name": "Sales"}]));
    assert_eq!(
        (a["max_chats_count"].as_i64(), a["daily_summary"].as_i64()),
        (Some(4), Some(0))
    );
    assert_eq!(f.requests()[0].body["groups"], json!(["1"]));
}

fn is_ticket_id(s: &str) -> bool {
    s.len() == 5
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[actix_web::test]
async fn ticket_create_and_get_bare_objects() {
    let f = fake().await;
    let (s, t) = call(
        &f,
        "POST",
        "/tickets",
        Some(json!({"message": "Hello", "requester": {"mail": "mary@x.test"}})),
    )
    .await;
    assert_eq!(s, 200, "{t}");
    let id = t["id"].as_str().unwrap().to_string();
    assert!(is_ticket_id(&id), "{id}");
    assert_eq!(
        (t["status"].as_str(), t["subject"].as_str()),
        (Some("open"), Some("(no subject)"))
    );
    assert_eq!(
        (t["groups"].clone(), t["source"].clone()),
        (json!([0]), json!({"type": "lc2"}))
    );
    assert!(t["modified"].is_i64() && t["opened"][0]["from"].is_i64());
    let ev = &t["events"][0];
    assert_eq!(
        (ev["type"].as_str(), ev["message"].as_str()),
        (Some("message"), Some("Hello"))
    );
    assert_eq!(
        (ev["author"]["type"].as_str(), ev["date"].is_i64()),
        (Some("client"), true)
    );
    assert!(t.get("assignee").is_none() && t["tags"] == json!([]));
    let (s, got) = call(&f, "GET", &format!("/tickets/{id}"), None).await;
    assert_eq!((s, got), (200, t));
    let (s, nf) = call(&f, "GET", "/tickets/NOPE1", None).await;
    assert_eq!((s, nf), (404, json!({"error": "Not found"})));
}

#[actix_web::test]
async fn ticket_create_errors_use_singular_error_array() {
    let f = fake().await;
    let (s, err) = call(&f, "POST", "/tickets", Some(json!({"subject": "x"}))).await;
    assert_eq!(s, 400);
    assert_eq!(err["error"].as_array().map(Vec::len), Some(2), "{err}");
    let body = json!({"message": "m", "requester": {"mail": "a@b.test"}, "source": {"type": "fax"},
                      "assignee": {"id": "ghost@acme.test"}});
    let (s, err) = call(&f, "POST", "/tickets", Some(body)).await;
    assert_eq!((s, err["error"].as_array().map(Vec::len)), (400, Some(2)));
    assert!(f.tickets(LOGIN).is_empty());
}

#[actix_web::test]
async fn ticket_create_accepts_php_style_form() {
    let f = fake().await;
    let form = format!(
        "message=Hi+there&requester%5Bmail%5D=mary%40x.test&requester[name]=Mary+Brown&subject=Shoes\
         &source[type]=chat-window&source[url]=https%3A%2F%2Fshop.test%2F&assignee[id]={}",
        LOGIN.replace('@', "%40")
    );
    let (s, t) = call_form(&f, "POST", "/tickets", &form).await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        t["requester"],
        json!({"mail": "mary@x.test", "name": "Mary Brown"})
    );
    assert_eq!(
        t["source"],
        json!({"type": "chat-window", "url": "https://shop.test/"})
    );
    assert_eq!(t["assignee"], json!({"id": LOGIN, "name": "Owner"}));
    assert_eq!(t["events"][1]["type"], "assignee_changed");
    assert_eq!(f.requests()[0].body["requester"]["mail"], "mary@x.test");
}

#[actix_web::test]
async fn ticket_list_paginates_filters_and_orders() {
    let f = fake().await;
    for i in 0..30 {
        let mail = if i % 3 == 0 {
            "vip@x.test"
        } else {
            "someone@x.test"
        };
        let body = json!({"message": format!("msg {i}"), "subject": format!("Subject {i}"), "requester": {"mail": mail}});
        assert_eq!(call(&f, "POST", "/tickets", Some(body)).await.0, 200);
    }
    let (_, p1) = call(&f, "GET", "/tickets", None).await;
    assert_eq!(
        (p1["pages"].as_u64(), p1["total"].as_u64()),
        (Some(2), Some(30))
    );
    assert_eq!(p1["tickets"].as_array().unwrap().len(), 25);
    assert_eq!(p1["tickets"][0]["subject"], "Subject 29", "newest first");
    let (_, p2) = call(&f, "GET", "/tickets?page=2", None).await;
    assert_eq!(p2["tickets"].as_array().unwrap().len(), 5);
    let (_, p3) = call(&f, "GET", "/tickets?page=3", None).await;
    assert_eq!(
        (p3["tickets"].clone(), p3["total"].as_u64()),
        (json!([]), Some(30))
    );
    let (_, asc) = call(&f, "GET", "/tickets?order=asc", None).await;
    assert_eq!(asc["tickets"][0]["subject"], "Subject 0");
    let (_, vip) = call(&f, "GET", "/tickets?requester%5Bmail%5D=vip%40x.test", None).await;
    assert_eq!(vip["total"], 10);
    let (_, q) = call(&f, "GET", "/tickets?query=msg%2017", None).await;
    assert_eq!(q["total"], 1);
    let (_, st) = call(&f, "GET", "/tickets?status=solved", None).await;
    assert_eq!(
        (st["total"].as_u64(), st["pages"].as_u64()),
        (Some(0), Some(0))
    );
    let (_, dated) = call(
        &f,
        "GET",
        "/tickets?date_from=2000-01-01&date_to=2000-01-02",
        None,
    )
    .await;
    assert_eq!(dated["total"], 0);
    let (_, today) = call(&f, "GET", "/tickets?date_from=2000-01-01", None).await;
    assert_eq!(today["total"], 30);
    for bad in [
        "order=INVALID",
        "page=0",
        "status=closed",
        "date_from=yesterday",
    ] {
        let (s, err) = call(&f, "GET", &format!("/tickets?{bad}"), None).await;
        assert_eq!((s, errors_array(&err)), (400, 1), "{bad}");
    }
}

#[actix_web::test]
async fn update_tags_replaces_the_set() {
    let f = fake().await;
    let (_, t) = call(
        &f,
        "POST",
        "/tickets",
        Some(json!({"message": "m", "requester": {"mail": "a@b.test"}})),
    )
    .await;
    let path = format!("/tickets/{}/tags", t["id"].as_str().unwrap());
    let (s, up) = call(
        &f,
        "PUT",
        &path,
        Some(json!({"tag": ["sales", "vip", "sales"]})),
    )
    .await;
    assert_eq!(
        (s, up["tags"].clone(), up["id"].clone()),
        (200, json!(["sales", "vip"]), t["id"].clone())
    );
    let (s, up) = call_form(&f, "PUT", &path, "tag%5B%5D=support").await;
    assert_eq!((s, up["tags"].clone()), (200, json!(["support"])));
    let (_, tagged) = call(&f, "GET", "/tickets?tag=support", None).await;
    assert_eq!(tagged["total"], 1);
    let (s, err) = call(&f, "PUT", &path, Some(json!({"tags": ["x"]}))).await;
    assert_eq!((s, err["error"].is_array()), (400, true));
    assert_eq!(
        call(&f, "PUT", "/tickets/NOPE1/tags", Some(json!({"tag": []})))
            .await
            .0,
        404
    );
    f.set_quirks(Quirks {
        update_tags_returns_envelope: true,
        ..Quirks::default()
    });
    let (s, env) = call(&f, "PUT", &path, Some(json!({"tag": []}))).await;
    assert_eq!(
        (s, env["total"].as_u64(), env["tickets"][0]["tags"].clone()),
        (200, Some(1), json!([]))
    );
}

#[actix_web::test]
async fn quirks_switch_uncertain_shapes() {
    let f = fake().await;
    f.set_quirks(Quirks {
        ticket_groups_as_objects: true,
        ticket_dates_iso: true,
        list_tickets_bare_array: true,
        creates_return_201: true,
        agent_create_includes_license_id: true,
        error_shape: Some(ErrorShape::ErrorsString),
        ..Quirks::default()
    });
    let (s, t) = call(
        &f,
        "POST",
        "/tickets",
        Some(json!({"message": "m", "requester": {"mail": "a@b.test"}})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(t["groups"], json!([{"id": 0, "name": "All operators"}]));
    assert!(
        t["modified"].as_str().is_some_and(|d| d.ends_with('Z')),
        "{t}"
    );
    assert!(t["events"][0]["date"].is_string() && t["date"].is_string());
    let (_, list) = call(&f, "GET", "/tickets", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (s, a) = call(
        &f,
        "POST",
        "/agents",
        Some(json!({"login": "n@acme.test", "name": "N"})),
    )
    .await;
    assert_eq!((s, a["license_id"].is_u64()), (201, true));
    let (s, err) = call(&f, "GET", "/tickets?order=sideways", None).await;
    assert_eq!((s, err["errors"].is_string()), (400, true));
    let (s, err) = call(&f, "GET", "/nowhere", None).await;
    assert_eq!((s, err), (404, json!({"errors": "Not found"})));
}

#[actix_web::test]
async fn injected_responses_are_served_in_order_after_recording() {
    let f = fake().await;
    f.push_response(InjectedResponse {
        status: 502,
        body: "<html>oops".into(),
        ..Default::default()
    });
    f.push_response(InjectedResponse {
        delay: Some(Duration::from_millis(20)),
        ..InjectedResponse::json(429, json!({"error": "Too many requests"}))
    });
    let mut res = awc::Client::default()
        .get(format!("{}/agents", f.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 502);
    assert_eq!(&res.body().await.unwrap()[..], b"<html>oops");
    let (s, b) = call(&f, "GET", "/agents", None).await;
    assert_eq!((s, b), (429, json!({"error": "Too many requests"})));
    assert_eq!(call(&f, "GET", "/agents", None).await.0, 200);
    f.push_response(InjectedResponse::default());
    assert_eq!(call(&f, "GET", "/agents", None).await, (500, Value::Null));
    assert_eq!(f.requests().len(), 4);
}

#[actix_web::test]
async fn requests_are_recorded_and_bad_input_never_panics() {
    let f = fake().await;
    let (s, err) = send(
        &f,
        Some((LOGIN, KEY)),
        true,
        "POST",
        "/tickets",
        Some(("application/json", "{nope".into())),
    )
    .await;
    assert_eq!((s, err["error"].is_string()), (400, true));
    let (s, _) = call_form(
        &f,
        "POST",
        "/tickets?x=1",
        "message=a&requester[mail]=&tag[]=1&tag[]=2&[=]",
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(call(&f, "PATCH", "/tickets", None).await.0, 404);
    let reqs = f.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].body, json!("{nope"));
    assert_eq!(
        (
            reqs[1].method.as_str(),
            reqs[1].path.as_str(),
            reqs[1].query.as_str()
        ),
        ("POST", "/tickets", "x=1")
    );
    assert_eq!(reqs[1].body["tag"], json!(["1", "2"]));
    assert_eq!(reqs[1].header("X-API-VERSION"), Some("2"));
    assert!(reqs[1]
        .headers
        .iter()
        .all(|(k, _)| *k == k.to_ascii_lowercase()));
    assert_eq!(reqs[2].body, Value::Null);
    f.clear_requests();
    assert!(f.requests().is_empty());
}

#[actix_web::test]
async fn jsonp_callback_wraps_get_answers() {
    let f = fake().await;
    let res = awc::Client::default()
        .get(format!("{}/agents?callback=cb", f.base_url()))
        .basic_auth(LOGIN, KEY)
        .insert_header(("x-api-version", "2"))
        .send()
        .await;
    let body = res.unwrap().body().await.unwrap();
    assert!(body.starts_with(b"cb([") && body.ends_with(b");"));
}
