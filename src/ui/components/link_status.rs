use crate::ui::realtime::Realtime;
use leptos::prelude::*;

/// The state of the page's realtime link ("live", "connecting…"). It says nothing until the page
/// is hydrated: without JavaScript there is no link, and a label claiming one would be a lie.
#[component]
pub fn LinkStatusLabel(realtime: Realtime) -> impl IntoView {
    let hydrated = crate::ui::hydrated();
    view! {
        <span class="link-status" data-testid="link-status" role="status">
            {move || hydrated.get().then(|| realtime.status().label())}
        </span>
    }
}
