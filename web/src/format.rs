//! Times and sizes in words, for the panels.

/// A transcript timestamp: time since the operation started, as `+1.234 s`.
pub fn since_start(at_ms: u64) -> String {
    format!("+{}.{:03} s", at_ms / 1000, at_ms % 1000)
}

/// A message size: `512 bytes`, `1.5 kB`, `2.3 MB` (decimal units, as mail servers count).
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{} kB", one_decimal(bytes, 1_000)),
        _ => format!("{} MB", one_decimal(bytes, 1_000_000)),
    }
}

/// `value / unit` rounded to one decimal, as `12.3`. Integer arithmetic: the float formatting
/// it replaces would add about 11 KB to the download.
pub fn one_decimal(value: u64, unit: u64) -> String {
    let tenths = (u128::from(value) * 10 + u128::from(unit) / 2) / u128::from(unit.max(1));
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// `value` to one decimal, as `{:.1}` writes it, without the float formatting machinery
/// (11 KB of the page's wasm): `-1.25` gives `-1.3`, `5.0` gives `5.0`.
pub fn tenths(value: f64) -> String {
    let tenths = (value * 10.0).round();
    let sign = if tenths < 0.0 { "-" } else { "" };
    // Spam scores and seconds are small; `as` saturates anything that is not.
    let tenths = tenths.abs() as u64;
    format!("{sign}{}.{}", tenths / 10, tenths % 10)
}

/// How much of a raw message the page shows: a 20 MB attachment is 27 MB of base64, which no
/// one reads and which would make the page crawl.
pub const RAW_SHOWN_BYTES: usize = 256 * 1024;

/// The start of a raw message, at most [`RAW_SHOWN_BYTES`], cut at a character boundary.
pub fn raw_head(raw: &str) -> &str {
    let mut end = raw.len().min(RAW_SHOWN_BYTES);
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    &raw[..end]
}

/// A moment as the reader's local date and time, `2026-11-28 14:03:09`.
pub fn local_time(unix_ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds()
    )
}

/// A moment soon as the reader's local clock shows it: `10:42` today, `2026-11-29 10:42` on
/// another day (a daily limit can push a retry to tomorrow).
pub fn local_clock(unix_ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64));
    let today = js_sys::Date::new_0();
    let clock = format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    if date.to_date_string() == today.to_date_string() {
        clock
    } else {
        format!(
            "{:04}-{:02}-{:02} {clock}",
            date.get_full_year(),
            date.get_month() + 1,
            date.get_date()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_raw_message_is_cut_at_a_character() {
        assert_eq!(raw_head("short"), "short");
        let long = format!("{}é{}", "a".repeat(RAW_SHOWN_BYTES - 1), "b".repeat(10));
        let cut = raw_head(&long);
        assert_eq!(cut.len(), RAW_SHOWN_BYTES - 1);
        assert!(cut.chars().all(|c| c == 'a'));
    }

    #[test]
    fn durations_and_sizes_read_well() {
        assert_eq!(since_start(0), "+0.000 s");
        assert_eq!(since_start(1234), "+1.234 s");
        assert_eq!(since_start(61_005), "+61.005 s");
        assert_eq!(size(999), "999 bytes");
        assert_eq!(size(1500), "1.5 kB");
        assert_eq!(size(2_340_000), "2.3 MB");
        assert_eq!(size(2_350_000), "2.4 MB");
        assert_eq!(one_decimal(26_214_400, 1_048_576), "25.0");
        assert_eq!(one_decimal(1_500, 1_000), "1.5");
        assert_eq!(tenths(5.0), "5.0");
        assert_eq!(tenths(-1.26), "-1.3");
        assert_eq!(tenths(0.04), "0.0");
        assert_eq!(tenths(12.36), "12.4");
    }
}
