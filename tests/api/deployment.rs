//! deploy/: the compose file and the Kubernetes manifests name only settings the binary has,
//! with values it accepts, and probe routes it serves. A careful line-based reading (these files
//! are ours and plain: block maps, no flow style) instead of a YAML dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};
use livechat_gateway::settings::Cli;

use crate::helpers::{send, spawn_app};

fn deploy(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every environment variable any subcommand reads, with the long flag that takes it.
fn binary_settings() -> BTreeMap<String, String> {
    fn walk(cmd: &clap::Command, out: &mut BTreeMap<String, String>) {
        for arg in cmd.get_arguments() {
            if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
                out.insert(env.to_string_lossy().into_owned(), long.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = BTreeMap::new();
    walk(&Cli::command(), &mut out);
    out
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The `key: value` pairs of the block map under the first line that reads `header`.
fn block(text: &str, header: &str) -> Vec<(String, String)> {
    let mut lines = text.lines().skip_while(|l| l.trim() != header);
    let Some(head) = lines.next() else {
        panic!("no `{header}` block")
    };
    let mut pairs = Vec::new();
    let mut child = None;
    for line in lines.filter(|l| !is_comment_or_blank(l)) {
        if indent(line) <= indent(head) {
            break;
        }
        // Direct children only: what sits deeper belongs to them.
        if *child.get_or_insert(indent(line)) != indent(line) {
            continue;
        }
        let (k, v) = line.trim().split_once(':').expect("key: value");
        let v = v.trim().trim_matches('"');
        pairs.push((k.trim().to_string(), v.to_string()));
    }
    pairs
}

/// The value a `${VAR:-default}` / `${VAR:?message}` would give in compose, with "x" for a
/// required variable.
fn interpolate(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed ${") + start;
        let expr = &rest[start + 2..end];
        out.push_str(match expr.split_once(":-") {
            Some((_, default)) => default,
            None => "x",
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Each setting is one the binary reads, and `serve` accepts the value given.
fn assert_settings_accepted(file: &str, pairs: &[(String, String)]) {
    let known = binary_settings();
    let mut argv = vec!["livechat-gateway".to_string(), "serve".to_string()];
    for (name, value) in pairs {
        if name == "RUST_LOG" {
            continue;
        }
        let long = known
            .get(name)
            .unwrap_or_else(|| panic!("{file}: the binary has no setting {name}"));
        argv.push(format!("--{long}={}", interpolate(value)));
    }
    if let Err(e) = Cli::try_parse_from(&argv) {
        panic!("{file}: serve refuses these settings: {e}");
    }
}

/// GATEWAY_* names outside comments, wherever they appear.
fn gateway_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !is_comment_or_blank(l))
        .flat_map(|l| {
            l.match_indices("GATEWAY_").map(move |(i, _)| {
                l[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect::<String>()
            })
        })
        .collect()
}

fn assert_names_known(file: &str, text: &str) {
    let known = binary_settings();
    for name in gateway_names(text) {
        assert!(
            known.contains_key(&name),
            "{file} names {name}, which the binary does not read"
        );
    }
}

/// The probe paths a manifest names after `probe:` (its `path:` line).
fn probe_path(text: &str, probe: &str) -> String {
    let mut lines = text.lines().skip_while(|l| l.trim() != probe);
    lines.next().unwrap_or_else(|| panic!("no {probe}"));
    let path = lines
        .map(str::trim)
        .find_map(|l| l.strip_prefix("path:"))
        .expect("a path");
    path.trim().to_string()
}

#[test]
fn compose_runs_two_replicas_on_the_shared_store_and_redis_behind_a_balancer() {
    let compose = deploy("docker-compose.yml");
    assert_names_known("docker-compose.yml", &compose);
    let env = block(&compose, "environment:");
    assert_settings_accepted("docker-compose.yml", &env);
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert!(get("GATEWAY_DATABASE_URL").is_some_and(|v| v.starts_with("postgres://")));
    assert_eq!(get("GATEWAY_REDIS_URL"), Some("redis://redis:6379"));
    assert!(
        get("GATEWAY_SECRET_FILE").is_some() || get("GATEWAY_SECRET").is_some(),
        "shared mode needs the secret"
    );
    assert!(
        get("GATEWAY_PUBLIC_URL").is_some(),
        "one public URL for all"
    );

    let services: Vec<String> = block(&compose, "services:")
        .into_iter()
        .filter(|(_, v)| v.is_empty() || v == "*gateway")
        .map(|(k, _)| k)
        .collect();
    for s in ["gateway-1", "gateway-2", "lb", "postgres", "redis"] {
        assert!(
            services.iter().any(|n| n == s),
            "service {s} in {services:?}"
        );
    }
    assert!(compose.contains("  gateway-1: *gateway") && compose.contains("  gateway-2: *gateway"));

    let lb = deploy("nginx-lb.conf");
    for upstream in ["server gateway-1:8080", "server gateway-2:8080"] {
        assert!(lb.contains(upstream), "the balancer sends to {upstream}");
    }
    assert!(compose.contains("GET /readyz"), "health check on readiness");
    assert!(compose.contains("- ./nginx-lb.conf:/etc/nginx/nginx.conf:ro"));
}

#[test]
fn kubernetes_manifests_hold_settings_in_a_config_map_and_the_secret_in_a_secret() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let kustomization = deploy("kubernetes/kustomization.yaml");
    let mut kinds = BTreeSet::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(f).unwrap();
        assert_names_known(&name, &text);
        if name != "kustomization.yaml" {
            assert!(
                kustomization.contains(&format!("  - {name}")),
                "kustomization.yaml applies {name}"
            );
        }
        kinds.extend(
            text.lines()
                .filter_map(|l| l.strip_prefix("kind: ").map(String::from)),
        );
    }
    for kind in [
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    ] {
        assert!(kinds.contains(kind), "a {kind} in {kinds:?}");
    }

    let config = block(&deploy("kubernetes/configmap.yaml"), "data:");
    let secret = block(&deploy("kubernetes/secret.yaml"), "stringData:");
    assert_settings_accepted("configmap.yaml", &config);
    assert_settings_accepted("secret.yaml", &secret);
    let secret_names: Vec<&str> = secret.iter().map(|(k, _)| k.as_str()).collect();
    for sensitive in [
        "GATEWAY_SECRET",
        "GATEWAY_DATABASE_URL",
        "GATEWAY_REDIS_URL",
    ] {
        assert!(
            secret_names.contains(&sensitive),
            "{sensitive} in the Secret"
        );
        assert!(
            config.iter().all(|(k, _)| k != sensitive),
            "{sensitive} not in the ConfigMap"
        );
    }
    let listen = config
        .iter()
        .find(|(k, _)| k == "GATEWAY_LISTEN")
        .map(|(_, v)| v.clone())
        .expect("GATEWAY_LISTEN");
    let deployment = deploy("kubernetes/deployment.yaml");
    let port = listen.rsplit(':').next().unwrap();
    assert!(
        deployment.contains(&format!("containerPort: {port}")),
        "the container port is the one the gateway listens on"
    );
    assert!(deployment.contains("  replicas: 2"));
    assert!(deployment.contains("configMapRef:") && deployment.contains("secretRef:"));
    let pdb = deploy("kubernetes/poddisruptionbudget.yaml");
    assert!(pdb.contains("minAvailable: 1"));
}

#[actix_web::test]
async fn every_probe_the_deployments_name_is_served() {
    let deployment = deploy("kubernetes/deployment.yaml");
    let liveness = probe_path(&deployment, "livenessProbe:");
    let readiness = probe_path(&deployment, "readinessProbe:");
    assert_eq!(
        (liveness.as_str(), readiness.as_str()),
        ("/healthz", "/readyz")
    );
    let app = spawn_app().await;
    for path in [liveness, readiness] {
        let res = send(app.client.get(app.url(&path)), None).await;
        assert_eq!(res.status, 200, "{path}: {}", res.text);
        assert!(res.body.is_object(), "{path} answers JSON");
    }
}

#[test]
fn the_reader_refuses_what_the_binary_would() {
    let known = binary_settings();
    assert!(known.contains_key("GATEWAY_THROTTLE_FALLBACK"));
    assert!(!known.contains_key("GATEWAY_NO_SUCH"));
    let bad = vec![(
        "GATEWAY_THROTTLE_FALLBACK".to_string(),
        "sometimes".to_string(),
    )];
    let refused = std::panic::catch_unwind(|| assert_settings_accepted("t", &bad));
    assert!(refused.is_err(), "an unknown fallback value is refused");
    assert_eq!(interpolate("a${X:-b}c${Y:?set Y}"), "abcx");
}

/// The rows of the README's settings table: (environment variables, flags) as written.
fn readme_settings_rows() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let table = readme
        .split("\n## Settings\n")
        .nth(1)
        .expect("a Settings section")
        .split("\n## ")
        .next()
        .unwrap();
    table
        .lines()
        .filter(|l| l.starts_with("| `GATEWAY_") || l.starts_with("| `RUST_LOG`"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].to_string(), cells[2].to_string())
        })
        .collect()
}

#[test]
fn the_readme_documents_every_setting_with_its_flag_and_no_other() {
    let rows = readme_settings_rows();
    let mut visible = BTreeSet::new();
    fn walk(cmd: &clap::Command, out: &mut BTreeSet<(String, String, bool)>) {
        for arg in cmd.get_arguments() {
            if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
                let env = env.to_string_lossy().into_owned();
                out.insert((env, long.to_string(), arg.is_hide_set()));
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    walk(&Cli::command(), &mut visible);
    for (env, long, hidden) in &visible {
        let row = rows
            .iter()
            .find(|(envs, _)| envs.contains(&format!("`{env}`")))
            .unwrap_or_else(|| panic!("README's Settings table does not list {env}"));
        assert!(
            *hidden || row.1.contains(&format!("`--{long}`")),
            "README gives {env} without its flag --{long}: {row:?}"
        );
    }
    let documented: BTreeSet<String> = rows.iter().flat_map(|(e, _)| gateway_names(e)).collect();
    let known: BTreeSet<String> = visible.into_iter().map(|(env, _, _)| env).collect();
    let stale: Vec<_> = documented.difference(&known).collect();
    assert!(
        stale.is_empty(),
        "README documents unknown settings {stale:?}"
    );
}
