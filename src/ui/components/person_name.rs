//! A person's name as others see it: the display name with the username beside it, or the
//! username alone, or "Deleted account" (`domain::User::shown_name`).

use crate::domain::User;
use leptos::prelude::*;

#[component]
pub fn PersonName(person: User) -> impl IntoView {
    let handle = person.username_beside().map(|name| format!("@{name}"));
    view! {
        <span class="person-name" class:deleted-account=person.deleted>{person.shown_name()}</span>
        {handle.map(|handle| view! { " " <span class="handle" data-testid="username-beside">{handle}</span> })}
    }
}
