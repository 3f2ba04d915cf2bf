//! How dates read on screen.
//!
//! The fixed forms below are written out by hand rather than through chrono's `format`: its
//! format-string interpreter would otherwise be in the wasm for these four lines.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "14:05 UTC".
pub fn utc_time(date: DateTime<Utc>) -> String {
    format!("{:02}:{:02} UTC", date.hour(), date.minute())
}

/// "2026-11-27 14:05 UTC".
pub fn utc_date_time(date: DateTime<Utc>) -> String {
    format!("{} {}", date.date_naive(), utc_time(date))
}

/// "Friday 27 November 2026".
pub fn long_day(day: NaiveDate) -> String {
    format!(
        "{} {} {} {}",
        WEEKDAYS[day.weekday().num_days_from_monday() as usize],
        day.day(),
        MONTHS[day.month0() as usize],
        day.year()
    )
}

/// "just now", "5 min ago", "3 h ago", "2 d ago", then the date.
pub fn relative_time(date: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - date).num_seconds().max(0);
    match seconds {
        0..=59 => "just now".to_owned(),
        60..=3_599 => format!("{} min ago", seconds / 60),
        3_600..=86_399 => format!("{} h ago", seconds / 3_600),
        86_400..=604_799 => format!("{} d ago", seconds / 86_400),
        _ => date.date_naive().to_string(),
    }
}

/// The first line of a message, cut to `max` characters with an ellipsis.
pub fn snippet(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max || text.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// `text` cut into pieces, each marked whether it is one of `words` (whole words, in any letter
/// case), so a search hit can show what matched. A word is a run of letters and digits, as the
/// search index reads it.
pub fn highlight<'a>(text: &'a str, words: &[&str]) -> Vec<(&'a str, bool)> {
    let wanted: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let is_wanted = |word: &str| wanted.iter().any(|w| *w == word.to_lowercase());
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    let mut push = |piece: &'a str, marked: bool| match pieces.last_mut() {
        // Unmarked neighbours join, so the text is not cut up more than it needs to be.
        Some((last, false)) if !marked => {
            let start = last.as_ptr() as usize - text.as_ptr() as usize;
            *last = &text[start..start + last.len() + piece.len()];
        }
        _ => pieces.push((piece, marked)),
    };
    let mut start = 0;
    let mut in_word = false;
    for (at, c) in text.char_indices() {
        let word_char = c.is_alphanumeric();
        if word_char != in_word {
            if at > start {
                let piece = &text[start..at];
                push(piece, in_word && is_wanted(piece));
            }
            start = at;
            in_word = word_char;
        }
    }
    if start < text.len() {
        let piece = &text[start..];
        push(piece, in_word && is_wanted(piece));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn fixed_forms_say_what_chrono_formatting_says() {
        // A day of every weekday and month, at times with one-digit hours and minutes.
        for days in (0..800).step_by(13) {
            let date = Utc.with_ymd_and_hms(2024, 1, 1, 3, 7, 59).unwrap()
                + Duration::days(days)
                + Duration::minutes(days * 37);
            assert_eq!(utc_time(date), date.format("%H:%M UTC").to_string());
            assert_eq!(
                utc_date_time(date),
                date.format("%Y-%m-%d %H:%M UTC").to_string()
            );
            let day = date.date_naive();
            assert_eq!(long_day(day), day.format("%A %-d %B %Y").to_string());
        }
    }

    #[test]
    fn relative_time_steps() {
        let now = Utc::now();
        assert_eq!(relative_time(now - Duration::seconds(5), now), "just now");
        assert_eq!(relative_time(now - Duration::minutes(5), now), "5 min ago");
        assert_eq!(relative_time(now - Duration::hours(3), now), "3 h ago");
        assert_eq!(relative_time(now - Duration::days(2), now), "2 d ago");
        // A clock a little ahead of ours is not "in the future".
        assert_eq!(relative_time(now + Duration::seconds(3), now), "just now");
    }

    #[test]
    fn snippet_is_one_line_and_bounded() {
        assert_eq!(snippet("hello", 10), "hello");
        assert_eq!(snippet("hello world", 5), "hello…");
        assert_eq!(snippet("line one\nline two", 40), "line one…");
    }

    #[test]
    fn highlight_marks_whole_words_in_any_case() {
        assert_eq!(
            highlight("Apple pie, apples & APPLE!", &["apple"]),
            vec![
                ("Apple", true),
                (" pie, apples & ", false),
                ("APPLE", true),
                ("!", false)
            ]
        );
        assert_eq!(
            highlight("nothing here", &["apple"]),
            vec![("nothing here", false)]
        );
        assert_eq!(highlight("", &["apple"]), Vec::<(&str, bool)>::new());
        assert_eq!(
            highlight("día de sol", &["DÍA", "sol"]),
            vec![("día", true), (" de ", false), ("sol", true)]
        );
    }
}
