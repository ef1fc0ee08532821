//! The committed `openapi/` files are what the generator writes.

use std::path::Path;

use crate::openapi::{generated_files, write_files, COMMITTED_DIR};

#[test]
fn committed_files_match_the_generator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED_DIR);
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        write_files(&dir).expect("regenerate openapi/");
    }
    let mut stale = Vec::new();
    for (name, bytes) in generated_files() {
        if std::fs::read(dir.join(name)).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "openapi/{stale:?} differ from the generator: run `cargo run -- openapi --out openapi/` \
         (or `UPDATE_OPENAPI=1 cargo test --lib openapi`) and commit the result"
    );
}

#[test]
fn write_files_writes_the_package() {
    let out = std::env::temp_dir().join(format!("livechat-gateway-openapi-{}", std::process::id()));
    write_files(&out).unwrap();
    for name in [
        "apiDefinition.swagger.json",
        "apiProperties.json",
        "settings.json",
        "icon.png",
    ] {
        assert!(out.join(name).is_file(), "{name}");
    }
    let text = std::fs::read_to_string(out.join("apiDefinition.swagger.json")).unwrap();
    assert!(text.ends_with("}\n"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn settings_point_at_the_committed_files() {
    let settings = crate::openapi::settings();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for key in ["apiDefinition", "apiProperties", "icon"] {
        let rel = settings[key].as_str().unwrap();
        assert!(rel.starts_with("openapi/"), "{key}: {rel}");
        let _ = root.join(rel);
    }
    assert!(settings.get("connectorId").is_none() && settings.get("environment").is_none());
}

#[test]
fn icon_is_a_valid_png() {
    let png = crate::openapi::icon_png();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 230);
    assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 230);
    assert!(
        png.ends_with(b"IEND\xae\x42\x60\x82"),
        "IEND chunk with its known CRC"
    );
}
