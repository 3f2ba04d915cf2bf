//! Dates and times in the reader's own words: their language, their 12- or 24-hour clock, their
//! time zone, through the browser's `Intl`. The server does not know any of these, so it renders
//! UTC in a fixed form (see `Timestamp`) and the browser replaces it once hydrated.

use chrono::{DateTime, NaiveDate, Utc};

/// `date` formatted by `Intl.DateTimeFormat` in the reader's locale, with `options` (pairs of
/// option name and value, e.g. `("timeStyle", "short")`).
#[cfg(feature = "hydrate")]
pub fn format(date: DateTime<Utc>, options: &[(&str, &str)]) -> String {
    use wasm_bindgen::JsValue;
    let instant = js_sys::Date::new(&JsValue::from_f64(date.timestamp_millis() as f64));
    format_js(&instant, options)
}

/// A calendar day (the reader's), formatted as `format` does.
#[cfg(feature = "hydrate")]
pub fn format_day(day: NaiveDate, options: &[(&str, &str)]) -> String {
    use chrono::Datelike;
    // Local noon of that day: never on the wrong side of a midnight, whatever the zone.
    let noon = js_sys::Date::new_with_year_month_day_hr(
        day.year() as u32,
        day.month0() as i32,
        day.day() as i32,
        12,
    );
    format_js(&noon, options)
}

#[cfg(feature = "hydrate")]
fn format_js(instant: &js_sys::Date, options: &[(&str, &str)]) -> String {
    use wasm_bindgen::JsValue;
    let settings = js_sys::Object::new();
    for (name, value) in options {
        let _ = js_sys::Reflect::set(
            &settings,
            &JsValue::from_str(name),
            &JsValue::from_str(value),
        );
    }
    // No locales given: the browser's own.
    let formatter = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &settings);
    formatter
        .format()
        .call1(&JsValue::NULL, instant)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// The same, on the server: English, UTC (only the page's first render, before hydration, uses it).
#[cfg(not(feature = "hydrate"))]
pub fn format(date: DateTime<Utc>, options: &[(&str, &str)]) -> String {
    let has = |name: &str| options.iter().any(|(key, _)| *key == name);
    match (has("weekday") || has("dateStyle"), has("timeStyle")) {
        (true, true) => date.format("%A %-d %B %Y, %H:%M UTC").to_string(),
        (true, false) => date.format("%A %-d %B %Y").to_string(),
        _ => date.format("%H:%M UTC").to_string(),
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn format_day(day: NaiveDate, options: &[(&str, &str)]) -> String {
    let only_weekday = options.iter().all(|(key, _)| *key == "weekday");
    if only_weekday {
        day.format("%A").to_string()
    } else {
        day.format("%A %-d %B %Y").to_string()
    }
}
