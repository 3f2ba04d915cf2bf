use crate::domain::rfc3339_millis;
use crate::ui::intl;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// A message time. The server cannot know the reader's time zone or clock, so it renders UTC;
/// once hydrated, the browser shows the local time as the reader's locale writes it (12- or
/// 24-hour), with the full date and time on hover and focus. The exact stored date is always in
/// `datetime`.
#[component]
pub fn Timestamp(date: DateTime<Utc>) -> impl IntoView {
    let hydrated = crate::ui::hydrated();
    let text = move || {
        if hydrated.get() {
            intl::format(date, &[("timeStyle", "short")])
        } else {
            date.format("%H:%M UTC").to_string()
        }
    };
    let full = move || {
        if hydrated.get() {
            intl::format(date, &[("dateStyle", "full"), ("timeStyle", "short")])
        } else {
            rfc3339_millis::format(&date)
        }
    };
    view! { <time datetime=rfc3339_millis::format(&date) title=full tabindex="0">{text}</time> }
}
