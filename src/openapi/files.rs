//! The connector package: apiProperties.json, settings.json (paconn), the icon, and the writer.

use std::path::Path;

use serde_json::{json, Value};

use super::icon::icon_png;
use super::swagger::swagger2;

/// File names inside the output directory.
pub const API_DEFINITION: &str = "apiDefinition.swagger.json";
pub const API_PROPERTIES: &str = "apiProperties.json";
pub const SETTINGS: &str = "settings.json";
pub const ICON: &str = "icon.png";
/// Where the files are committed, relative to the repository root (paconn runs from there).
pub const COMMITTED_DIR: &str = "openapi";

/// `apiProperties.json`: connection parameters, brand colour, capabilities.
pub fn api_properties() -> Value {
    json!({
        "properties": {
            "connectionParameters": {
                "username": {
                    "type": "string",
                    "uiDefinition": {
                        "displayName": "Username",
                        "description": "The email address for this account",
                        "tooltip": "Provide the email address you sign in to LiveChat with",
                        "constraints": {"tabIndex": 2, "required": "true", "clearText": true}
                    }
                },
                "password": {
                    "type": "securestring",
                    "uiDefinition": {
                        "displayName": "API Key",
                        "description": "The API Key for this account",
                        "tooltip": "Provide your LiveChat API key",
                        "constraints": {"tabIndex": 3, "required": "true", "clearText": false}
                    }
                }
            },
            "iconBrandColor": "#da3b01",
            "capabilities": ["actions", "triggers"],
            "publisher": "livechat-gateway"
        }
    })
}

/// `settings.json` for `paconn create -s openapi/settings.json` (run from the repository root).
pub fn settings() -> Value {
    json!({
        "apiDefinition": format!("{COMMITTED_DIR}/{API_DEFINITION}"),
        "apiProperties": format!("{COMMITTED_DIR}/{API_PROPERTIES}"),
        "icon": format!("{COMMITTED_DIR}/{ICON}"),
        "powerAppsUrl": "https://api.powerapps.com",
        "powerAppsApiVersion": "2016-11-01"
    })
}

/// `v` with every object's keys sorted, whether or not serde_json keeps insertion order (a
/// dependency may turn on `preserve_order`), so that the files are the same in every build.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Pretty JSON with sorted keys and a trailing newline, as committed.
pub fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(&sorted(v)).expect("JSON values serialize");
    s.push('\n');
    s
}

/// Every generated file: name and content.
pub fn generated_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (API_DEFINITION, pretty(&swagger2(None)).into_bytes()),
        (API_PROPERTIES, pretty(&api_properties()).into_bytes()),
        (SETTINGS, pretty(&settings()).into_bytes()),
        (ICON, icon_png()),
    ]
}

/// Writes the connector package into `out` (created if missing).
pub fn write_files(out: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(out)?;
    for (name, bytes) in generated_files() {
        std::fs::write(out.join(name), bytes)?;
    }
    Ok(())
}
