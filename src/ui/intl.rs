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

// The server renders the text a page shows before hydration itself (in UTC, see `Timestamp`
// and the day lines), so these are never called there; they only keep the server build whole.
#[cfg(not(feature = "hydrate"))]
pub fn format(date: DateTime<Utc>, _options: &[(&str, &str)]) -> String {
    date.to_rfc3339()
}

#[cfg(not(feature = "hydrate"))]
pub fn format_day(day: NaiveDate, _options: &[(&str, &str)]) -> String {
    day.to_string()
}
