//! Which LiveChat API generation serves a connection (`GATEWAY_LIVECHAT_API`).

use crate::settings::ApiChoice;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Generation {
    /// REST API v2: the login e-mail and API key.
    V2,
    /// Configuration/Agent Chat API v3.6 + HelpDesk API v1: the account ID (a UUID) and a
    /// personal access token.
    V3,
}

impl Generation {
    /// `auto` reads the username: an account ID (UUID) means v3, anything else (a login e-mail)
    /// v2, so one gateway serves both kinds of connection.
    pub fn for_login(choice: ApiChoice, login: &str) -> Self {
        match choice {
            ApiChoice::V2 => Generation::V2,
            ApiChoice::V3 => Generation::V3,
            ApiChoice::Auto if is_uuid(login) => Generation::V3,
            ApiChoice::Auto => Generation::V2,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Generation::V2 => "v2",
            Generation::V3 => "v3",
        }
    }
}

/// `8-4-4-4-12` hex digits, either case.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "3f0c1d2e-4b5a-4c6d-8e9f-0a1b2c3d4e5f";

    #[test]
    fn auto_reads_the_username() {
        assert_eq!(
            Generation::for_login(ApiChoice::Auto, ACCOUNT),
            Generation::V3
        );
        assert_eq!(
            Generation::for_login(ApiChoice::Auto, &ACCOUNT.to_uppercase()),
            Generation::V3
        );
        for v2 in [
            "owner@acme.test",
            "3f0c1d2e4b5a4c6d8e9f0a1b2c3d4e5f",
            "not-a-uuid",
        ] {
            assert_eq!(Generation::for_login(ApiChoice::Auto, v2), Generation::V2);
        }
        assert_eq!(
            Generation::for_login(ApiChoice::V2, ACCOUNT),
            Generation::V2
        );
        assert_eq!(
            Generation::for_login(ApiChoice::V3, "owner@acme.test"),
            Generation::V3
        );
        assert!(!is_uuid("3f0c1d2e-4b5a-4c6d-8e9f-0a1b2c3d4e5g"));
    }
}
