//! Request-body helpers: PHP-style form/query parsing and lenient value readers.
//!
//! LiveChat's own clients (PHP, C#, Node) send `application/x-www-form-urlencoded` bodies with
//! nested keys such as `requester[mail]`, `tag[]` or `data_types[]`. These are folded into JSON
//! objects/arrays so the route handlers only ever look at one JSON shape.

use serde_json::{Map, Value};

/// Parses a urlencoded string (form body or query string) into a JSON object.
pub(crate) fn parse_form(bytes: &[u8]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, val) in url::form_urlencoded::parse(bytes) {
        insert(&mut root, &key, val.into_owned());
    }
    normalize(root)
}

/// Splits `a[b][]` into `["a", "b", ""]`. Malformed brackets keep the key literal.
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[').filter(|&i| i > 0) else {
        return vec![key.to_string()];
    };
    let mut segs = vec![key[..open].to_string()];
    let mut rest = &key[open..];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            return vec![key.to_string()];
        };
        segs.push(inner[..close].to_string());
        rest = &inner[close + 1..];
    }
    if !rest.is_empty() {
        return vec![key.to_string()];
    }
    segs
}

fn insert(root: &mut Value, key: &str, val: String) {
    let path = split_key(key);
    let mut cur: &mut Value = root;
    for (i, seg) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if i > 0 && seg.is_empty() {
            if !cur.is_array() {
                *cur = Value::Array(Vec::new());
            }
            let Value::Array(arr) = cur else { return };
            if last {
                arr.push(Value::String(val));
                return;
            }
            arr.push(Value::Null);
            let Some(next) = arr.last_mut() else { return };
            cur = next;
        } else {
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
            let Value::Object(map) = cur else { return };
            if last {
                map.insert(seg.clone(), Value::String(val));
                return;
            }
            cur = map.entry(seg.clone()).or_insert(Value::Null);
        }
    }
}

/// Turns objects keyed `"0".."n-1"` (from `a[0]=x&a[1]=y`) into arrays, recursively.
fn normalize(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let sequential =
                !map.is_empty() && (0..map.len()).all(|i| map.contains_key(i.to_string().as_str()));
            if sequential {
                let mut map = map;
                let items = (0..map.len())
                    .map(|i| normalize(map.remove(&i.to_string()).unwrap_or(Value::Null)))
                    .collect();
                Value::Array(items)
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, normalize(v))).collect())
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

/// Parses a request body by content type: form → nested JSON, otherwise JSON; empty → Null.
pub(crate) fn parse_body(content_type: &str, bytes: &[u8]) -> Result<Value, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    if content_type.contains("application/x-www-form-urlencoded") {
        return Ok(parse_form(bytes));
    }
    serde_json::from_slice(bytes).map_err(|e| format!("Invalid JSON body: {e}"))
}

/// A string, or a number rendered as a string.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An integer given as a JSON integer or a numeric string (form bodies carry only strings).
pub(crate) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A list of strings: an array of strings/numbers, or a single string.
pub(crate) fn str_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => items.iter().map(|i| text(Some(i))).collect(),
        Value::String(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

/// A list of integers: an array of ints/numeric strings, or a single one.
pub(crate) fn int_list(v: &Value) -> Option<Vec<i64>> {
    match v {
        Value::Array(items) => items.iter().map(int).collect(),
        other => int(other).map(|n| vec![n]),
    }
}

/// Decodes `%XX` escapes (path segments; `+` stays literal). Invalid escapes are kept as-is.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A deliberately simple e-mail check: `local@domain.tld`, no spaces.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !s.chars().any(char::is_whitespace)
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn php_keys_fold_into_nested_json() {
        let v = parse_form(b"message=hi&requester%5Bmail%5D=a%40b.c&requester[name]=A+B&tag[]=x&tag[]=y&g[0]=1&g[1]=2");
        assert_eq!(
            v,
            json!({"message":"hi","requester":{"mail":"a@b.c","name":"A B"},"tag":["x","y"],"g":["1","2"]})
        );
        assert_eq!(
            parse_form(b"a[=1&[b]=2&c[x]y=3"),
            json!({"a[":"1","[b]":"2","c[x]y":"3"})
        );
        assert_eq!(parse_form(b"a=1&a[b]=2&a[]=3"), json!({"a":["3"]}));
    }

    #[test]
    fn percent_decoding_and_emails() {
        assert_eq!(percent_decode("a%40b.c%2"), "a@b.c%2");
        assert_eq!(percent_decode("%zz+%41"), "%zz+A");
        assert!(is_email("jenny.doe@mycompany.com"));
        assert!(!is_email("INVALID") && !is_email("a@b") && !is_email("a b@c.d"));
    }
}
