//! Durations written as PostgreSQL's `SET lock_timeout` accepts them. The
//! config file and the revision-file header share this syntax; it lives in
//! the core so that parsing a revision file needs nothing from the config.

use std::time::Duration;

/// PostgreSQL's upper limit for timeout settings, in milliseconds.
const MAX_MILLIS: f64 = i32::MAX as f64;

/// Checks what `SET lock_timeout = '...'` accepts: a non-negative number
/// with an optional unit (us, ms, s, min, h, d; milliseconds without one),
/// within PostgreSQL's limit of 2147483647 ms.
pub fn check_duration(text: &str) -> Result<(), String> {
    duration_millis(text).map(drop)
}

/// The duration `text` stands for, with the same syntax as [`check_duration`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let millis = duration_millis(text)?;
    Ok(Duration::from_secs_f64(millis / 1000.0))
}

fn duration_millis(text: &str) -> Result<f64, String> {
    let expected = || {
        format!(
            "expected a duration such as \"5s\", \"500ms\" or \"2min\" \
             (units: us, ms, s, min, h, d), found \"{text}\""
        )
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_ms = match unit.trim_start() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return Err(expected()),
    };
    let Ok(number) = number.parse::<f64>() else {
        return Err(expected());
    };
    let millis = number * unit_ms;
    if !millis.is_finite() || millis > MAX_MILLIS {
        return Err(format!(
            "\"{text}\" is too long (PostgreSQL allows at most 2147483647ms)"
        ));
    }
    Ok(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_numbers() {
        assert_eq!(parse_duration("500"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2min"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("250 us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_what_postgres_rejects() {
        for bad in ["", "-1", "5 sec", "s", "1.2.3s", "1e3", "25d"] {
            assert!(check_duration(bad).is_err(), "{bad:?} was accepted");
        }
        let err = check_duration("5 seconds").unwrap_err();
        assert!(err.contains("\"5 seconds\""), "{err}");
    }
}
