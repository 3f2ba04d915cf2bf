//! `/settings`: the caller's account settings: the display name, desktop notifications (asked for
//! only from here), the password, the devices the account is logged in on, the people they have
//! blocked, their data and deleting the account. Every form is a plain form, so it works without
//! JavaScript.

use crate::api::blocks::UnblockUser;
use crate::api::settings::{
    load_settings, ChangePassword, DeleteAccount, LogOutDevice, LogOutOtherDevices, SetDisplayName,
    Settings,
};
use crate::domain::{ActiveSession, BlockedUser, DisplayName, User};
use crate::ui::components::{IslandPreloads, Loaded, Timestamp, TopBar};
use crate::ui::notify::{self, Permission};
use crate::ui::pages::error_text;
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
    let Settings {
        me,
        blocks,
        devices,
    } = data;
    view! {
        <TopBar me=me.clone() />
        <main class="page settings">
            <h1>"Settings"</h1>
            <SettingsSections me blocks devices />
            <IslandPreloads island="settings_sections" />
        </main>
    }
}

/// Every section of the page, as one island: most of them are live forms, and one island loads as
/// one part of the wasm, where an island per form would load as many small ones.
#[island(lazy)]
fn SettingsSections(
    me: User,
    blocks: Vec<BlockedUser>,
    devices: Vec<ActiveSession>,
) -> impl IntoView {
    let username = me.username.to_string();
    view! {
        <Profile me />
        <Notifications />
        <PasswordForm />
        <Devices devices />
        <section aria-labelledby="export-heading" class="card">
            <h2 id="export-heading">"Your data"</h2>
            <p class="muted">"Every conversation with every message, your read positions and the people you blocked, as one JSON file."</p>
            <a href="/api/me/export" download data-testid="export" class="button-link">"Download my data"</a>
        </section>
        <BlockedPeople blocks />
        <DeleteAccountForm username />
    }
}

/// The display name: shown to others instead of the username (with the username beside it).
#[component]
fn Profile(me: User) -> impl IntoView {
    let save = ServerAction::<SetDisplayName>::new();
    let done = move || {
        save.value().with(|outcome| match outcome {
            Some(Ok(user)) => Some(match &user.display_name {
                Some(name) => format!("Saved. People see you as {name} ({}).", user.username),
                None => format!("Saved. People see you as {}.", user.username),
            }),
            _ => None,
        })
    };
    let current = me
        .display_name
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    view! {
        <section aria-labelledby="profile-heading" class="card">
            <h2 id="profile-heading">"Profile"</h2>
            <ActionForm action=save attr:data-testid="profile-form">
                <label for="display-name">"Display name"</label>
                <input
                    id="display-name"
                    name="display_name"
                    value=current
                    maxlength=DisplayName::MAX_CHARS.to_string()
                    autocomplete="name"
                    aria-describedby="display-name-hint"
                />
                <small id="display-name-hint">
                    {format!("Optional, up to {} characters. Your username, {}, is shown beside it and does not change.", DisplayName::MAX_CHARS, me.username)}
                </small>
                <button type="submit" data-testid="save-profile">"Save"</button>
            </ActionForm>
            <p class="notice" role="status" data-testid="profile-saved">{done}</p>
            <p class="form-error" role="alert" data-testid="profile-error">{move || save.value().with(error_text)}</p>
        </section>
    }
}

/// The people I block, each with "Unblock".
#[component]
fn BlockedPeople(blocks: Vec<BlockedUser>) -> impl IntoView {
    let blocks = RwSignal::new(blocks);
    view! {
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
    }
}

/// Deleting the account: the password and the username typed again.
#[component]
fn DeleteAccountForm(username: String) -> impl IntoView {
    let delete = ServerAction::<DeleteAccount>::new();
    view! {
        <section aria-labelledby="delete-heading" class="card danger-zone">
            <h2 id="delete-heading">"Delete your account"</h2>
            <p class="muted">
                "This cannot be undone. You are logged out everywhere and the text of every message you sent is erased. "
                "The people you wrote to keep their conversations, with your messages shown as deleted and you as “Deleted account”. "
                "Your username stays reserved for 30 days, then anyone may take it. Download your data first if you want a copy."
            </p>
            <ActionForm action=delete attr:data-testid="delete-account-form">
                <label for="delete-password">"Password"</label>
                <input id="delete-password" name="password" type="password" required autocomplete="current-password" />
                <label for="delete-confirm">{format!("Type your username, {username}, to confirm")}</label>
                <input id="delete-confirm" name="confirm" required autocomplete="off" autocapitalize="none" spellcheck="false" />
                <button type="submit" class="danger" data-testid="delete-account">"Delete my account"</button>
            </ActionForm>
            <p class="form-error" role="alert" data-testid="delete-error">{move || delete.value().with(error_text)}</p>
        </section>
    }
}

/// Whether new messages show as desktop notifications while Parley's tab is hidden. The browser
/// asks only when the button is pressed.
#[component]
fn Notifications() -> impl IntoView {
    // Known only in the browser: the server renders the section without a state.
    let state = RwSignal::new(None::<Permission>);
    Effect::new(move |_| state.set(Some(notify::permission())));
    let ask = move |_| notify::ask(move |answer| state.set(Some(answer)));
    let said = move || {
        match state.get() {
        None => "",
        Some(Permission::Ask) => "Get a desktop notification when a message arrives while Parley is in the background.",
        Some(Permission::Granted) => "Notifications are on: a message that arrives while Parley is in the background shows on your desktop.",
        Some(Permission::Denied) => "Notifications are blocked for this site in your browser's settings.",
        Some(Permission::Unsupported) => "This browser cannot show notifications.",
    }
    };
    view! {
        <section aria-labelledby="notifications-heading" class="card">
            <h2 id="notifications-heading">"Notifications"</h2>
            <p class="muted" data-testid="notifications-state">{said}</p>
            <Show when=move || state.get() == Some(Permission::Ask)>
                <button type="button" data-testid="enable-notifications" on:click=ask>"Enable notifications"</button>
            </Show>
        </section>
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

/// Change the password, given the current one. Every other device is logged out.
#[component]
fn PasswordForm() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let done = move || {
        change.value().with(|outcome| match outcome {
            Some(Ok(())) => Some("Password changed. Every other device has been logged out."),
            _ => None,
        })
    };
    view! {
        <section aria-labelledby="password-heading" class="card">
            <h2 id="password-heading">"Password"</h2>
            <ActionForm action=change attr:class="password-form" attr:data-testid="password-form">
                <label for="current-password">"Current password"</label>
                <input id="current-password" name="current_password" type="password" required autocomplete="current-password" />
                <label for="new-password">"New password"</label>
                <input id="new-password" name="new_password" type="password" required minlength="8" autocomplete="new-password" />
                <button type="submit" data-testid="change-password">"Change password"</button>
            </ActionForm>
            <p class="notice" role="status" data-testid="password-changed">{done}</p>
            <p class="form-error" role="alert" data-testid="password-error">{move || change.value().with(error_text)}</p>
        </section>
    }
}

/// Where the account is logged in: each session with its browser, address and times, "Log out"
/// for each other one, and "Log out every other device".
#[component]
fn Devices(devices: Vec<ActiveSession>) -> impl IntoView {
    let devices = RwSignal::new(devices);
    let others = ServerAction::<LogOutOtherDevices>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = others.value().get() {
            devices.update(|list| list.retain(|d| d.current));
        }
    });
    view! {
        <section aria-labelledby="devices-heading" class="card">
            <h2 id="devices-heading">"Devices"</h2>
            <p class="muted">"Where your account is logged in. Log out any you do not recognise, then change your password."</p>
            <ul class="devices" data-testid="devices">
                <For each=move || devices.get() key=|d| d.id let:device>
                    <DeviceRow device devices />
                </For>
            </ul>
            <Show when=move || devices.with(|list| list.iter().any(|d| !d.current))>
                <ActionForm action=others>
                    <button type="submit" data-testid="log-out-others">"Log out every other device"</button>
                </ActionForm>
            </Show>
        </section>
    }
}

#[component]
fn DeviceRow(device: ActiveSession, devices: RwSignal<Vec<ActiveSession>>) -> impl IntoView {
    let log_out = ServerAction::<LogOutDevice>::new();
    let id = device.id;
    Effect::new(move |_| {
        if let Some(Ok(())) = log_out.value().get() {
            devices.update(|list| list.retain(|d| d.id != id));
        }
    });
    let name = format!("{} on {}", device.browser, device.os);
    let label = format!("Log out {name}");
    let current = device.current;
    view! {
        <li data-testid="device" data-current=current.to_string() data-device=id.to_string()>
            <div>
                <strong>{name}</strong>
                {current.then(|| view! { <span class="this-device">" · this device"</span> })}
                <p class="muted">
                    {format!("{} · signed in ", device.client_addr)}
                    <Timestamp date=device.created_at with_date=true />
                    " · last seen "
                    <Timestamp date=device.last_seen_at with_date=true />
                </p>
            </div>
            {(!current).then(|| view! {
                <ActionForm action=log_out>
                    <input type="hidden" name="device" value=id.to_string() />
                    <button type="submit" class="link-button" data-testid="log-out-device" aria-label=label.clone()>"Log out"</button>
                </ActionForm>
            })}
        </li>
    }
}
