//! Sizes on the command line (`--max-memory 512M`, `--limit kernel-memory=1G`)
//! and in messages.

/// Parses a size: a number of bytes with an optional K, M or G suffix
/// (powers of 1024; `KiB`, `MB` and the like are read the same).
pub fn parse(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let number: u64 = digits.parse().map_err(|_| format!("{text:?} is not a size (e.g. 512M, 2G, 65536)"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("{text:?} has an unknown unit (use K, M or G)")),
    };
    number.checked_mul(1 << shift).ok_or_else(|| format!("{text:?} is too large"))
}

/// A byte count for messages, in the largest binary unit that fits.
pub fn show(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift {
            return if bytes.is_multiple_of(1 << shift) {
                format!("{} {unit}", bytes >> shift)
            } else {
                format!("{:.1} {unit}", bytes as f64 / (1u64 << shift) as f64)
            };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse("65536"), Ok(65536));
        assert_eq!(parse("64K"), Ok(64 << 10));
        assert_eq!(parse("512M"), Ok(512 << 20));
        assert_eq!(parse("2GiB"), Ok(2 << 30));
        assert!(parse("12Q").is_err());
        assert!(parse("M").is_err());
        assert_eq!(show(64 << 10), "64 KiB");
        assert_eq!(show(32 << 20), "32 MiB");
        assert_eq!(show((1 << 20) + (1 << 19)), "1.5 MiB");
    }
}
