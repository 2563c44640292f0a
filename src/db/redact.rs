//! Hiding passwords in text from elsewhere.
//!
//! retort never quotes a connection string: what it shows of a connection
//! comes from the parsed parameters (`user@host:port/db`), and a string
//! that cannot be parsed is described by byte offset and parameter name
//! only. This module is the net for text retort did not write (server
//! messages, a migration's `RAISE`, a panic message) that may quote some
//! connection string: URL passwords and `password=` assignments are masked.
//! It errs on the side of hiding too much: a message that loses a bit of a
//! host name is better than one that leaks a password.
//!
//! Masking the known password by value would be worse than useless: a
//! password equal to the user name would turn `app@db` into `***@db`,
//! telling the reader what the password is.

use std::ops::Range;

const MASK: &str = "***";

/// `text` with the password of any URL's user info masked (taken up to
/// the *last* `@` of the URL, so unencoded `@`, `:` or `/` in it are hidden
/// too), `password=` parameters in a URL's query string, and `password=...`
/// in key/value text, quoted or not (any key ending in "password", e.g.
/// `sslpassword`, `PGPASSWORD`).
pub fn redact_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(c) = text[pos..].chars().next() {
        let rest = &text[pos..];
        if starts_word(text, pos) {
            if let Some(len) = url_len(rest) {
                out.push_str(&redact_one_url(&rest[..len]));
                pos += len;
                continue;
            }
            if let Some(value) = password_assignment_value(rest) {
                out.push_str(&rest[..value.start]);
                out.push_str(MASK);
                pos += value.end;
                continue;
            }
        }
        out.push(c);
        pos += c.len_utf8();
    }
    out
}

fn starts_word(text: &str, pos: usize) -> bool {
    text[..pos]
        .chars()
        .next_back()
        .is_none_or(|before| !(before.is_alphanumeric() || before == '_'))
}

/// Length of a URL (`scheme://...` up to the next whitespace) at the start
/// of `text`.
fn url_len(text: &str) -> Option<usize> {
    let scheme_len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
        .unwrap_or(text.len());
    let starts_with_letter = text.starts_with(|c: char| c.is_ascii_alphabetic());
    if scheme_len == 0 || !starts_with_letter || !text[scheme_len..].starts_with("://") {
        return None;
    }
    Some(text.find(char::is_whitespace).unwrap_or(text.len()))
}

fn redact_one_url(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let mut secrets = Vec::new();
    let body = &url[authority_start..];
    if let Some(at) = body.rfind('@')
        && let Some(colon) = body[..at].find(':')
    {
        secrets.push(authority_start + colon + 1..authority_start + at);
    }
    secrets.extend(query_password_values(url));
    mask_ranges(url, secrets)
}

/// Values of `?password=` / `&password=` (and `...password=`) parameters.
fn query_password_values(url: &str) -> Vec<Range<usize>> {
    let mut values = Vec::new();
    for (separator, _) in url.match_indices(['?', '&']) {
        let param_start = separator + 1;
        let param = &url[param_start..];
        let param_end = param.find(['&', '#']).unwrap_or(param.len());
        let Some((name, _)) = param[..param_end].split_once('=') else {
            continue;
        };
        if name.to_ascii_lowercase().ends_with("password") {
            values.push(param_start + name.len() + 1..param_start + param_end);
        }
    }
    values
}

/// `name = value` at the start of `text` where name ends in "password":
/// the range of the value (quotes included).
fn password_assignment_value(text: &str) -> Option<Range<usize>> {
    let name_len = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    if !text[..name_len].to_ascii_lowercase().ends_with("password") {
        return None;
    }
    let after_name = &text[name_len..];
    let equals = after_name.len() - after_name.trim_start().len();
    if !after_name[equals..].starts_with('=') {
        return None;
    }
    let after_equals = &after_name[equals + 1..];
    let value_start =
        name_len + equals + 1 + (after_equals.len() - after_equals.trim_start().len());
    let value = &text[value_start..];
    let value_len = match value.chars().next() {
        Some(quote @ ('\'' | '"')) => quoted_len(value, quote),
        _ => value.find(char::is_whitespace).unwrap_or(value.len()),
    };
    (value_len > 0).then_some(value_start..value_start + value_len)
}

/// Length of a quoted value including both quotes; backslash escapes the
/// next character; an unterminated quote runs to the end of the text.
fn quoted_len(value: &str, quote: char) -> usize {
    let mut escaped = false;
    for (i, c) in value.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == quote => return i + c.len_utf8(),
            _ => {}
        }
    }
    value.len()
}

/// `text` with each (possibly overlapping) non-empty range replaced by the mask.
fn mask_ranges(text: &str, mut ranges: Vec<Range<usize>>) -> String {
    ranges.retain(|range| !range.is_empty());
    ranges.sort_by_key(|range| range.start);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut iter = ranges.into_iter().peekable();
    while let Some(mut range) = iter.next() {
        while let Some(next) = iter.next_if(|next| next.start <= range.end) {
            range.end = range.end.max(next.end);
        }
        if range.start < copied {
            range.start = copied;
        }
        out.push_str(&text[copied..range.start]);
        out.push_str(MASK);
        copied = range.end;
    }
    out.push_str(&text[copied..]);
    out
}
