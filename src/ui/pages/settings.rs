//! `/settings`: the caller's account settings. For now, the people they have blocked, each with
//! "Unblock" (a plain form, so it works without JavaScript).

use crate::api::blocks::{load_settings, Settings, UnblockUser};
use crate::domain::BlockedUser;
use crate::ui::components::{Loaded, TopBar};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| load_settings());
    view! {
        <Title text="Settings · Parley" />
        <Loaded resource=settings render=|data| view! { <SettingsView data /> } />
    }
}

#[component]
fn SettingsView(data: Settings) -> impl IntoView {
    let Settings { me, blocks } = data;
    let blocks = RwSignal::new(blocks);
    view! {
        <TopBar me />
        <main class="page settings">
            <h1>"Settings"</h1>
            <section aria-labelledby="blocked-heading" class="card">
                <h2 id="blocked-heading">"Blocked people"</h2>
                <p class="muted">
                    "People you block cannot message you, and see no sign of whether you are online, typing or have read their messages."
                </p>
                <Show
                    when=move || !blocks.with(Vec::is_empty)
                    fallback=|| view! { <p class="empty" data-testid="blocked-empty">"You have not blocked anyone."</p> }
                >
                    <ul class="blocked" data-testid="blocked-list">
                        <For each=move || blocks.get() key=|b| b.user.id let:blocked>
                            <BlockedRow blocked blocks />
                        </For>
                    </ul>
                </Show>
            </section>
        </main>
    }
}

#[component]
fn BlockedRow(blocked: BlockedUser, blocks: RwSignal<Vec<BlockedUser>>) -> impl IntoView {
    let unblock = ServerAction::<UnblockUser>::new();
    let id = blocked.user.id;
    Effect::new(move |_| {
        if let Some(Ok(())) = unblock.value().get() {
            blocks.update(|list| list.retain(|b| b.user.id != id));
        }
    });
    let name = blocked.user.username.to_string();
    let unblock_label = format!("Unblock {name}");
    view! {
        <li data-testid="blocked-person" data-user=name.clone()>
            <span class="peer">{name.clone()}</span>
            <ActionForm action=unblock>
                <input type="hidden" name="user" value=id.get() />
                <button type="submit" class="link-button" data-testid="unblock">
                    {unblock_label}
                </button>
            </ActionForm>
        </li>
    }
}
