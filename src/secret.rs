//! The gateway secret: given, read from a file, or generated once beside the SQLite file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;
use secrecy::SecretString;

use crate::settings::StoreSettings;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the secret file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("cannot create the secret file {0}: {1}")]
    Create(PathBuf, std::io::Error),
    #[error("the secret is empty or shorter than 16 characters")]
    TooShort,
    #[error("a shared (PostgreSQL) store needs GATEWAY_SECRET or GATEWAY_SECRET_FILE, the same on every replica")]
    Required,
}

/// The SQLite file behind a `sqlite:` URL, if it is one.
pub fn sqlite_path(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// Where the generated secret lives for a SQLite store: `gateway.secret` beside the file.
pub fn beside_database(database_url: &str) -> Option<PathBuf> {
    let db = sqlite_path(database_url)?;
    Some(
        db.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("gateway.secret"),
    )
}

pub fn load(store: &StoreSettings) -> Result<SecretString, SecretError> {
    if let Some(s) = &store.secret {
        return check(s.clone());
    }
    if let Some(path) = &store.secret_file {
        let raw = fs::read_to_string(path).map_err(|e| SecretError::Read(path.clone(), e))?;
        return check(SecretString::from(raw.trim().to_string()));
    }
    let path = beside_database(&store.database_url).ok_or(SecretError::Required)?;
    if path.exists() {
        let raw = fs::read_to_string(&path).map_err(|e| SecretError::Read(path.clone(), e))?;
        return check(SecretString::from(raw.trim().to_string()));
    }
    generate(&path)
}

fn check(s: SecretString) -> Result<SecretString, SecretError> {
    use secrecy::ExposeSecret;
    if s.expose_secret().len() < 16 {
        return Err(SecretError::TooShort);
    }
    Ok(s)
}

fn generate(path: &Path) -> Result<SecretString, SecretError> {
    let err = |e| SecretError::Create(path.to_path_buf(), e);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let value: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(err)?;
    f.write_all(value.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    log::info!("generated a new gateway secret in {}", path.display());
    Ok(SecretString::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            sqlite_path("sqlite://./data/gateway.db"),
            Some(PathBuf::from("./data/gateway.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:/tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_path("postgres://localhost/test"), None);
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn generated_once_then_reused_with_owner_only_mode() {
        let dir = std::env::temp_dir().join(format!("lcgw-secret-{}", rand::random::<u64>()));
        let store = StoreSettings {
            database_url: format!("sqlite://{}/sub/gateway.db", dir.display()),
            secret: None,
            secret_file: None,
        };
        let a = load(&store).unwrap();
        let b = load(&store).unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("sub/gateway.secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let pg = StoreSettings {
            database_url: "postgres://x/y".into(),
            secret: None,
            secret_file: None,
        };
        assert!(matches!(load(&pg), Err(SecretError::Required)));
        fs::remove_dir_all(dir).ok();
    }
}
