//! Durations on the command line: `2s`, `500ms`, `1.5s`, `1m30s`, `250us`.

use std::time::Duration;

/// Parses a duration written as one or more `<number><unit>` parts: units `h`, `m`, `s`,
/// `ms`, `us` (or `µs`), `ns`; the number may have a fraction (`1.5s`). A bare `0` is zero.
///
/// Used as a clap `value_parser`, so its error is shown after "invalid value ... for ...".
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err("empty duration (write e.g. 2s, 500ms, 1m30s)".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` has no unit (write e.g. {rest}s or {rest}ms)"))?;
        if digits == 0 {
            return Err(format!(
                "`{text}` is not a duration (write e.g. 2s, 500ms, 1m30s)"
            ));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{}` is not a number", &rest[..digits]))?;
        let after = &rest[digits..];
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let unit = &after[..unit_len];
        let scale = match unit {
            "h" => 3600.0,
            "m" | "min" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => {
                return Err(format!(
                    "unknown unit `{unit}` in `{text}` (use h, m, s, ms, us or ns)"
                ))
            }
        };
        let secs = number * scale;
        if !secs.is_finite() || secs > 1e9 {
            return Err(format!("`{text}` is too long"));
        }
        total += Duration::from_secs_f64(secs);
        rest = &after[unit_len..];
    }
    Ok(total)
}

/// Writes a duration the way it is parsed, short: `2s`, `1.5s`, `500ms`, `750us`.
pub(crate) fn format_duration(d: Duration) -> String {
    let us = d.as_micros();
    if us >= 1_000_000 {
        let s = d.as_secs_f64();
        if (s - s.round()).abs() < 1e-9 {
            format!("{}s", s.round())
        } else {
            format!("{s:.2}s")
        }
    } else if us >= 1_000 {
        let ms = d.as_secs_f64() * 1e3;
        if (ms - ms.round()).abs() < 1e-6 {
            format!("{}ms", ms.round())
        } else {
            format!("{ms:.1}ms")
        }
    } else {
        format!("{us}us")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_combinations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("2s"), Ok(ms(2000)));
        assert_eq!(parse_duration("500ms"), Ok(ms(500)));
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("2h"), Ok(ms(7_200_000)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("10ns"), Ok(Duration::from_nanos(10)));
        assert_eq!(parse_duration(" 3s "), Ok(ms(3000)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in ["", "2", "s", "ms5", "2x", "1..5s", "2 s", "-1s", "1e99h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse_duration("10").unwrap_err().contains("10s"));
        assert!(parse_duration("2d")
            .unwrap_err()
            .contains("unknown unit `d`"));
    }

    #[test]
    fn formats_round_values_short() {
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.50s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_micros(1300)), "1.3ms");
        assert_eq!(format_duration(Duration::from_micros(750)), "750us");
    }
}
