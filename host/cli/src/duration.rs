//! Durations on the command line (`--timeout 30s`) and in messages.

use std::time::Duration;

/// Parses a duration: a number with an optional unit, `ms`, `s` (the
/// default), `m` or `h`; decimals allowed (`1.5m`); at least 1 ms.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "ms" => 1e-3,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("{text:?} has an unknown unit (use ms, s, m or h)")),
    };
    match number.parse::<f64>().map(|n| n * scale) {
        Ok(secs) if (1e-3..1e9).contains(&secs) => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("{text:?} is not a duration (e.g. 30s, 1.5m, 500ms, 2h)")),
    }
}

/// A duration for messages, as it was most likely written.
pub fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) || ms == 0 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["", "0", "-1", "1d", "s", "1e99", "1..2", "0.0001", "999999999999"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse("1d").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn durations_show_as_written() {
        for text in ["30s", "90s", "2m", "2h", "500ms", "1500ms"] {
            assert_eq!(show(parse(text).unwrap()), text);
        }
    }
}
