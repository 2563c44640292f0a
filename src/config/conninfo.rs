//! Reading a libpq connection string (a `postgres://` URL or `key=value`
//! pairs) into its parameters, following libpq's grammar.
//!
//! A connection string may hold a password anywhere, written in ways no
//! text pattern can find again once the string is malformed (an unquoted
//! space, an unencoded `@`). So a problem is described by its byte offset
//! and the name of a parameter, never by any part of the text: the string
//! itself is never echoed.

use std::fmt;

/// One parameter as written (URL parts already percent-decoded), with the
/// byte offset where it starts, for messages.
#[derive(Clone, PartialEq, Eq)]
pub struct Param {
    pub key: String,
    pub value: String,
    pub at: usize,
}

// By hand: a value may be a password.
impl fmt::Debug for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Param({} at {})", self.key, self.at)
    }
}

/// Why a connection string cannot be read. The text says where (a byte
/// offset, a parameter name) and what is wrong, and never quotes the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem(String);

impl ParseProblem {
    pub fn new(message: impl Into<String>) -> ParseProblem {
        ParseProblem(message.into())
    }
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a URL's body starts (libpq knows these two prefixes, lower case).
fn url_body_start(text: &str) -> Option<usize> {
    ["postgresql://", "postgres://"]
        .iter()
        .find(|prefix| text.starts_with(*prefix))
        .map(|prefix| prefix.len())
}

/// The parameters of a URL or key=value string, in the order written.
pub fn parse_conninfo(text: &str) -> Result<Vec<Param>, ParseProblem> {
    match url_body_start(text) {
        Some(start) => parse_url(text, start),
        None => parse_key_values(text),
    }
}

// ------------------------------------------------------------ key=value

/// libpq's `key = value` pairs: values may be single-quoted; a backslash
/// escapes the next character, quoted or not.
fn parse_key_values(text: &str) -> Result<Vec<Param>, ParseProblem> {
    let bytes = text.as_bytes();
    let mut params = Vec::new();
    let mut pos = skip_spaces(bytes, 0);
    while pos < bytes.len() {
        let at = pos;
        while pos < bytes.len() && bytes[pos] != b'=' && !is_space(bytes[pos]) {
            pos += 1;
        }
        let key = &text[at..pos];
        pos = skip_spaces(bytes, pos);
        if bytes.get(pos) != Some(&b'=') {
            return Err(missing_equals(key, at, &params));
        }
        pos = skip_spaces(bytes, pos + 1);
        let (value, end) = read_value(text, pos, key, &params)?;
        params.push(Param {
            key: key.to_string(),
            value,
            at,
        });
        pos = skip_spaces(bytes, end);
    }
    Ok(params)
}

fn is_space(byte: u8) -> bool {
    byte.is_ascii_whitespace()
}

fn skip_spaces(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && is_space(bytes[pos]) {
        pos += 1;
    }
    pos
}

/// A value from `pos`: the value and the offset just past it.
fn read_value(
    text: &str,
    pos: usize,
    key: &str,
    before: &[Param],
) -> Result<(String, usize), ParseProblem> {
    let quoted = text[pos..].starts_with('\'');
    let mut value = String::new();
    let mut chars = text[pos..].char_indices().skip(usize::from(quoted));
    while let Some((offset, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            '\'' if quoted => return Ok((value, pos + offset + 1)),
            c if !quoted && c.is_ascii_whitespace() => return Ok((value, pos + offset)),
            c => value.push(c),
        }
    }
    if quoted {
        let what = key_name(key, before).unwrap_or_else(|| "a parameter".to_string());
        return Err(ParseProblem::new(format!(
            "the quoted value of {what} (opened at byte {pos}) is never closed"
        )));
    }
    Ok((value, text.len()))
}

fn missing_equals(key: &str, at: usize, before: &[Param]) -> ParseProblem {
    let hint = after_password_hint(before);
    let what = match key_name(key, before) {
        Some(name) => format!("the key {name}"),
        None => "a word".to_string(),
    };
    ParseProblem::new(format!(
        "expected `key=value` pairs: {what} at byte {at} has no `=`{hint}"
    ))
}

/// `` `name` `` when the key may be shown: it looks like a parameter name
/// and does not follow a password, where it would likely be the rest of a
/// password holding a space.
pub(crate) fn key_name(key: &str, before: &[Param]) -> Option<String> {
    let plausible = !key.is_empty()
        && key.len() <= 40
        && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    (plausible && !follows_password(before)).then(|| format!("`{key}`"))
}

fn follows_password(before: &[Param]) -> bool {
    before.last().is_some_and(|param| is_secret_key(&param.key))
}

/// Keys whose values are secrets.
pub fn is_secret_key(key: &str) -> bool {
    key.ends_with("password")
}

/// Advice when a problem comes right after a password, the likely cause.
pub(crate) fn after_password_hint(before: &[Param]) -> &'static str {
    if follows_password(before) {
        " (right after the password: a password holding spaces must be in single quotes, \
         with \\' for a quote and \\\\ for a backslash)"
    } else {
        ""
    }
}

// ------------------------------------------------------------------ URL

/// `postgres://[user[:password]@][host][:port][,...][/dbname][?key=value&...]`,
/// split as libpq does: the user part ends at the first `@` before any `/`.
fn parse_url(text: &str, start: usize) -> Result<Vec<Param>, ParseProblem> {
    let mut params = Vec::new();
    let rest = &text[start..];
    let netloc_start = match rest.find(['@', '/']) {
        Some(i) if rest.as_bytes()[i] == b'@' => {
            push_user_info(&mut params, text, start, start + i)?;
            start + i + 1
        }
        _ => start,
    };
    let netloc_end = text[netloc_start..]
        .find(['/', '?'])
        .map_or(text.len(), |i| netloc_start + i);
    push_hosts(&mut params, text, netloc_start, netloc_end)?;
    let mut pos = netloc_end;
    if text[pos..].starts_with('/') {
        let db_end = text[pos..].find('?').map_or(text.len(), |i| pos + i);
        push_url_part(&mut params, text, "dbname", pos + 1..db_end)?;
        pos = db_end;
    }
    if text[pos..].starts_with('?') {
        push_query(&mut params, text, pos + 1)?;
    }
    Ok(params)
}

fn push_user_info(
    params: &mut Vec<Param>,
    text: &str,
    start: usize,
    end: usize,
) -> Result<(), ParseProblem> {
    let info = &text[start..end];
    match info.find(':') {
        Some(colon) => {
            push_url_part(params, text, "user", start..start + colon)?;
            push_url_part(params, text, "password", start + colon + 1..end)
        }
        None => push_url_part(params, text, "user", start..end),
    }
}

/// The comma-separated `host[:port]` list (IPv6 addresses in brackets).
fn push_hosts(
    params: &mut Vec<Param>,
    text: &str,
    start: usize,
    end: usize,
) -> Result<(), ParseProblem> {
    if start == end {
        return Ok(());
    }
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    // Where the first port is written, for messages about the port list.
    let mut port_at = None;
    let mut chunk_start = start;
    for chunk in text[start..end].split(',') {
        let (host, port) = split_host_port(chunk, chunk_start)?;
        hosts.push(decode(host, chunk_start, "host")?);
        ports.push(match port {
            Some(port) => {
                let at = chunk_start + chunk.len() - port.len();
                port_at.get_or_insert(at);
                decode(port, at, "port")?
            }
            None => String::new(),
        });
        chunk_start += chunk.len() + 1;
    }
    if text[start..end].contains('@') {
        return Err(ParseProblem::new(format!(
            "the host part of the URL (byte {start}) contains `@`: an `@` in a user name or password must be written %40"
        )));
    }
    push(params, "host", hosts.join(","), start);
    if let Some(at) = port_at {
        push(params, "port", ports.join(","), at);
    }
    Ok(())
}

fn split_host_port(chunk: &str, at: usize) -> Result<(&str, Option<&str>), ParseProblem> {
    let Some(inner) = chunk.strip_prefix('[') else {
        return Ok(match chunk.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (chunk, None),
        });
    };
    let unclosed = || {
        ParseProblem::new(format!(
            "the IPv6 address at byte {at} has no closing `]`, or is followed by something other than `:port`"
        ))
    };
    let (host, after) = inner.split_once(']').ok_or_else(unclosed)?;
    match after.strip_prefix(':') {
        Some(port) => Ok((host, Some(port))),
        None if after.is_empty() => Ok((host, None)),
        None => Err(unclosed()),
    }
}

/// A user, password or dbname taken from the URL's path or user info.
fn push_url_part(
    params: &mut Vec<Param>,
    text: &str,
    key: &str,
    range: std::ops::Range<usize>,
) -> Result<(), ParseProblem> {
    let raw = &text[range.clone()];
    if key == "dbname" && raw.contains('@') {
        return Err(ParseProblem::new(format!(
            "the database name of the URL (byte {}) contains `@`: an `@` or `/` in a user name or password must be written %40 or %2F",
            range.start
        )));
    }
    let value = decode(raw, range.start, key)?;
    push(params, key, value, range.start);
    Ok(())
}

fn push_query(params: &mut Vec<Param>, text: &str, start: usize) -> Result<(), ParseProblem> {
    let mut at = start;
    for pair in text[start..].split('&') {
        let Some((key, value)) = pair.split_once('=') else {
            let hint = after_password_hint(params);
            return Err(ParseProblem::new(format!(
                "the URL's query parameter at byte {at} has no `=`{hint}"
            )));
        };
        let key = decode(key, at, "a query parameter name")?;
        if value.contains('=') {
            let what = key_name(&key, params).unwrap_or_else(|| "a parameter".to_string());
            return Err(ParseProblem::new(format!(
                "the value of {what} at byte {at} holds a second `=`: write it as %3D"
            )));
        }
        let value = decode(value, at, &key)?;
        push(params, &key, value, at);
        at += pair.len() + 1;
    }
    Ok(())
}

fn push(params: &mut Vec<Param>, key: &str, value: String, at: usize) {
    params.push(Param {
        key: key.to_string(),
        value,
        at,
    });
}

/// Percent-decoding as libpq: `%` must be followed by two hex digits, and
/// the result must be UTF-8 without NUL. `what` names the part for messages.
fn decode(raw: &str, at: usize, what: &str) -> Result<String, ParseProblem> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let byte = raw
            .get(i + 1..i + 3)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|&byte| byte != 0)
            .ok_or_else(|| {
                ParseProblem::new(format!(
                    "invalid percent-encoding in the {what} at byte {}: `%` must start %XX (write a `%` as %25)",
                    at + i
                ))
            })?;
        out.push(byte);
        i += 3;
    }
    String::from_utf8(out).map_err(|_| {
        ParseProblem::new(format!(
            "the {what} at byte {at} is not UTF-8 once percent-decoded"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_conninfo(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect()
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn problem(text: &str) -> String {
        match parse_conninfo(text) {
            Ok(params) => panic!("{text} parsed: {params:?}"),
            Err(problem) => problem.to_string(),
        }
    }

    #[test]
    fn urls_split_as_libpq() {
        assert_eq!(
            pairs("postgres://u:p%40ss@h1:5,[::1]:6/db?sslmode=require&connect_timeout=3"),
            owned(&[
                ("user", "u"),
                ("password", "p@ss"),
                ("host", "h1,::1"),
                ("port", "5,6"),
                ("dbname", "db"),
                ("sslmode", "require"),
                ("connect_timeout", "3")
            ])
        );
        assert_eq!(pairs("postgresql://"), owned(&[]));
        assert_eq!(
            pairs("postgres://h/d?password=a%20b"),
            owned(&[("host", "h"), ("dbname", "d"), ("password", "a b")])
        );
        // An unencoded space or quote is only a character to libpq.
        assert_eq!(
            pairs("postgres://u:it's a\tpw@h"),
            owned(&[("user", "u"), ("password", "it's a\tpw"), ("host", "h")])
        );
    }

    #[test]
    fn key_values_follow_libpq_quoting() {
        assert_eq!(
            pairs(" host = h  password='it\\'s a b' user=u\\ v port='' dbname=d"),
            owned(&[
                ("host", "h"),
                ("password", "it's a b"),
                ("user", "u v"),
                ("port", ""),
                ("dbname", "d")
            ])
        );
    }

    #[test]
    fn problems_name_places_and_never_the_text() {
        let secret = "Qx9 Zv@W:/%'\"";
        let cases = [
            format!("host=h password={secret} port=x"),
            format!("host=h password='{secret} port=x"),
            format!("postgres://u:{secret}@h:notaport/d"),
            "postgres://u:sec@ret@h/d".to_string(),
            "postgres://u:12/34@h/d".to_string(),
            "postgres://u:50%off@h/d".to_string(),
            "postgres://h/d?password=a=b".to_string(),
            "host=h password=correct horse battery".to_string(),
        ];
        for text in &cases {
            let message = problem(text);
            for fragment in ["Qx9", "Zv", "W:", "ret@", "34", "off", "horse", "battery"] {
                assert!(!message.contains(fragment), "{text}: {message}");
            }
        }
        assert_eq!(
            problem("host=h password=correct horse battery"),
            "expected `key=value` pairs: a word at byte 24 has no `=` (right after the password: \
             a password holding spaces must be in single quotes, with \\' for a quote and \\\\ \
             for a backslash)"
        );
        assert!(problem("postgres://u:sec@ret@h/d").contains("written %40"));
        assert!(problem("postgres://u:50%off@h/d").contains("byte 15"));
        assert!(problem("host='h").contains("quoted value of `host` (opened at byte 5)"));
    }
}
