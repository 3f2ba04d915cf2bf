use crate::domain::rfc3339_millis;
use chrono::{DateTime, Local, Utc};
use leptos::prelude::*;

/// A message time. The server cannot know the reader's time zone, so it renders UTC; once
/// hydrated, the browser shows local time. The exact stored date is always in `datetime`.
#[component]
pub fn Timestamp(date: DateTime<Utc>) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let text = move || {
        if hydrated.get() {
            date.with_timezone(&Local).format("%H:%M").to_string()
        } else {
            date.format("%H:%M UTC").to_string()
        }
    };
    let exact = rfc3339_millis::format(&date);
    view! { <time datetime=exact.clone() title=exact>{text}</time> }
}
