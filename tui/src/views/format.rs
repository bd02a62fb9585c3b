//! Text helpers shared by the panels: relative times against the model's `now`, durations,
//! counts and truncation. Pure, so every picture is reproducible.

/// `t` relative to `now`, compact: `4s`, `3m`, `2h`, `5d`; a future `t` reads `in 4s`.
pub fn ago(now: u64, t: u64) -> String {
    if t > now {
        return format!("in {}", span(t - now));
    }
    span(now - t)
}

/// A duration in ms, compact and coarse: `850ms`, `4s`, `3m`, `2h`, `5d`.
pub fn span(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}s", ms / 1_000),
        60_000..3_600_000 => format!("{}m", ms / 60_000),
        3_600_000..86_400_000 => format!("{}h", ms / 3_600_000),
        _ => format!("{}d", ms / 86_400_000),
    }
}

/// A latency in ms with sensible precision.
pub fn latency(ms: f64) -> String {
    if !ms.is_finite() || ms <= 0.0 {
        "-".to_owned()
    } else if ms < 10.0 {
        format!("{ms:.1}ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1_000.0)
    }
}

/// A count, with k/M above ten thousand.
pub fn count(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..10_000_000 => format!("{}k", n / 1_000),
        _ => format!("{}M", n / 1_000_000),
    }
}

/// At most `width` characters, with `…` when cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_compact() {
        assert_eq!(ago(10_000, 6_000), "4s");
        assert_eq!(ago(10_000, 14_000), "in 4s");
        assert_eq!(span(3 * 60_000 + 5), "3m");
        assert_eq!(span(2 * 86_400_000), "2d");
        assert_eq!(latency(4.25), "4.2ms");
        assert_eq!(latency(0.0), "-");
        assert_eq!(count(123_456), "123k");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
