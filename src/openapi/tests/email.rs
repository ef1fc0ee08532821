//! The documents' e-mail pattern and the gateway's `domain::Email` accept the same strings, so
//! a schema-driven client never sees a "valid" address refused or an "invalid" one taken.

use proptest::prelude::*;
use serde_json::json;

use crate::domain::Email;
use crate::openapi::schema::EMAIL_PATTERN;

fn documented() -> jsonschema::Validator {
    jsonschema::options()
        .build(&json!({"type": "string", "maxLength": 254, "pattern": EMAIL_PATTERN}))
        .expect("the pattern compiles")
}

/// Letters, the separators, white space the gateway trims, characters it refuses.
fn piece() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'e'),
        2 => Just('@'),
        2 => Just('.'),
        1 => proptest::sample::select(vec![' ', '\t', '\u{a0}', '\u{2003}', '\u{3000}']),
        1 => proptest::sample::select(vec!['\u{6}', '\u{7f}', '\u{85}', '\u{9c}', 'é', '%', '+']),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]
    #[test]
    fn the_pattern_accepts_exactly_what_the_gateway_does(
        s in proptest::collection::vec(piece(), 0..14).prop_map(|c| c.into_iter().collect::<String>())
    ) {
        let doc = documented().is_valid(&json!(s));
        prop_assert_eq!(doc, Email::parse("login", &s).is_ok(), "{:?}", s);
    }
}

#[test]
fn lengths_count_characters_before_trimming() {
    let v = documented();
    let local = "é".repeat(240);
    for (s, ok) in [
        (format!("{local}@ex.com"), true),
        (format!("{}@ex.com", "a".repeat(248)), false),
        (format!("   {}@ex.com", "a".repeat(244)), true),
        (format!("   {}@ex.com", "a".repeat(246)), false),
    ] {
        assert_eq!(v.is_valid(&json!(s)), ok, "{} chars", s.chars().count());
        assert_eq!(
            Email::parse("login", &s).is_ok(),
            ok,
            "{} chars",
            s.chars().count()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]
    /// A required text is "blank" in the documents exactly when the gateway trims it to nothing.
    #[test]
    fn not_blank_means_what_trimming_leaves(
        s in proptest::collection::vec(
            proptest::sample::select(vec![' ', '\t', '\n', '\u{85}', '\u{a0}', '\u{2003}', '\u{3000}', '\u{feff}', '\u{7}', 'x']),
            0..6,
        ).prop_map(|c| c.into_iter().collect::<String>())
    ) {
        let v = jsonschema::options()
            .build(&json!({"type": "string", "pattern": crate::openapi::schema::NOT_BLANK}))
            .expect("the pattern compiles");
        prop_assert_eq!(v.is_valid(&json!(s)), crate::domain::non_empty(Some(s.clone())).is_some(), "{:?}", s);
    }
}
