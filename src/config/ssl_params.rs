//! The libpq TLS parameters tokio-postgres' connection-string parser does
//! not know (`sslmode=verify-ca`/`verify-full`, `sslrootcert`), taken out of
//! a URL or key=value string before the rest is handed to it.

use std::ops::Range;

/// The TLS parameters a connection string gave, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslParams {
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
}

const TAKEN: [&str; 2] = ["sslmode", "sslrootcert"];

/// Splits `text` into the string without `sslmode` / `sslrootcert` and
/// their values. A string this cannot read is returned whole, for
/// tokio-postgres to report.
pub fn take_ssl_params(text: &str) -> (String, SslParams) {
    let trimmed = text.trim_start();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        take_from_url(text)
    } else {
        take_from_key_values(text)
    }
}

fn record(params: &mut SslParams, key: &str, value: String) {
    match key {
        "sslmode" => params.sslmode = Some(value),
        "sslrootcert" => params.sslrootcert = Some(value),
        _ => {}
    }
}

fn take_from_url(text: &str) -> (String, SslParams) {
    let mut params = SslParams::default();
    let Some((base, query)) = text.split_once('?') else {
        return (text.to_string(), params);
    };
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        if TAKEN.contains(&key.as_str()) {
            record(&mut params, &key, percent_decode(value));
        } else {
            kept.push(pair);
        }
    }
    let rebuilt = match kept.is_empty() {
        true => base.to_string(),
        false => format!("{base}?{}", kept.join("&")),
    };
    (rebuilt, params)
}

/// `%2F` -> `/`; malformed escapes are kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| text.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn take_from_key_values(text: &str) -> (String, SslParams) {
    let mut params = SslParams::default();
    let Some(pairs) = key_value_pairs(text) else {
        return (text.to_string(), params);
    };
    let mut rebuilt = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    for pair in pairs {
        if TAKEN.contains(&pair.key.as_str()) {
            rebuilt.push_str(&text[copied_up_to..pair.span.start]);
            copied_up_to = pair.span.end;
            record(&mut params, &pair.key, pair.value);
        }
    }
    rebuilt.push_str(&text[copied_up_to..]);
    (rebuilt, params)
}

struct Pair {
    key: String,
    value: String,
    /// From the key's first byte to the value's last.
    span: Range<usize>,
}

/// libpq's `key = value` syntax: values may be single-quoted, and `\`
/// escapes the next character. `None` when the text does not follow it.
fn key_value_pairs(text: &str) -> Option<Vec<Pair>> {
    let mut pairs = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return Some(pairs);
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        chars.next_if(|(_, c)| *c == '=')?;
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let (value, end) = read_value(&mut chars, text.len())?;
        pairs.push(Pair {
            key,
            value,
            span: start..end,
        });
    }
}

fn read_value(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    text_len: usize,
) -> Option<(String, usize)> {
    let mut value = String::new();
    let quoted = chars.next_if(|(_, c)| *c == '\'').is_some();
    loop {
        let Some((at, c)) = chars.next() else {
            // An unterminated quote is tokio-postgres' error to report.
            return (!quoted).then_some((value, text_len));
        };
        match c {
            '\\' => value.push(chars.next()?.1),
            '\'' if quoted => return Some((value, at + 1)),
            c if c.is_whitespace() && !quoted => return Some((value, at)),
            c => value.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(text: &str) -> (String, Option<String>, Option<String>) {
        let (rest, params) = take_ssl_params(text);
        (rest, params.sslmode, params.sslrootcert)
    }

    fn some(text: &str) -> Option<String> {
        Some(text.to_string())
    }

    #[test]
    fn url_query_parameters() {
        assert_eq!(
            taken(
                "postgres://u@h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem"
            ),
            (
                "postgres://u@h/db?application_name=x".to_string(),
                some("verify-full"),
                some("/etc/ca.pem")
            )
        );
        assert_eq!(
            taken("postgresql://h/db?sslmode=require"),
            ("postgresql://h/db".to_string(), some("require"), None)
        );
        assert_eq!(
            taken("postgres://h/db"),
            ("postgres://h/db".to_string(), None, None)
        );
    }

    #[test]
    fn key_value_strings() {
        assert_eq!(
            taken("host=h sslmode = verify-ca  sslrootcert='/my certs/ca.pem' dbname=d"),
            (
                "host=h    dbname=d".to_string(),
                some("verify-ca"),
                some("/my certs/ca.pem")
            )
        );
        assert_eq!(
            taken("sslrootcert=a\\ b.pem password='it\\'s'"),
            (" password='it\\'s'".to_string(), None, some("a b.pem"))
        );
    }

    #[test]
    fn unreadable_strings_are_left_alone() {
        for text in ["host='unterminated sslmode=require", "just words", "=x"] {
            let (rest, params) = take_ssl_params(text);
            assert_eq!(rest, text);
            assert_eq!(params, SslParams::default());
        }
    }

    #[test]
    fn malformed_percent_escapes_stay() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
