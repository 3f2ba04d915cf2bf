use crate::domain::rfc3339_millis;
use crate::ui::{format, intl};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// A message time. The server cannot know the reader's time zone or clock, so it renders UTC;
/// once hydrated, the browser shows the local time as the reader's locale writes it (12- or
/// 24-hour), with the full date and time on hover and focus. The exact stored date is always in
/// `datetime`.
///
/// `with_date` shows the date too (for times that are not under a day line).
///
/// An island, so a timestamp on a page that is otherwise static HTML (a search hit) comes alive
/// too; inside another island it is an ordinary component.
#[island(lazy)]
pub fn Timestamp(date: DateTime<Utc>, with_date: bool) -> impl IntoView {
    let hydrated = crate::ui::hydrated();
    let text = move || match (hydrated.get(), with_date) {
        (true, false) => intl::format(date, &[("timeStyle", "short")]),
        (true, true) => intl::format(date, &[("dateStyle", "medium"), ("timeStyle", "short")]),
        (false, false) => format::utc_time(date),
        (false, true) => format::utc_date_time(date),
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
