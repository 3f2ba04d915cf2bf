//! `/login`, `/signup` and `/reset/{token}`: plain forms, with no island and no script of their
//! own. A form posts to its server function, which redirects onward, or back here with the error
//! in the address, which the server renders; JavaScript would add nothing but a disabled button
//! while the request is on its way, so these pages download none beyond the main module.

use crate::api::auth::{load_reset_link, LogIn, ResetPassword, SignUp};
use crate::error::AppError;
use crate::ui::url::{path_param, query_param};
use leptos::prelude::*;
use leptos_meta::Title;

/// The text of an action's latest error: after a JavaScript submit, or decoded from the URL after
/// a plain form post that was redirected back here.
pub fn error_text<T>(result: &Option<Result<T, AppError>>) -> Option<String> {
    result
        .as_ref()
        .and_then(|r| r.as_ref().err())
        .map(ToString::to_string)
}

#[component]
fn FormError(error: impl Fn() -> Option<String> + Send + Sync + 'static) -> impl IntoView {
    view! { <p class="form-error" role="alert" data-testid="form-error">{error}</p> }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    // Where `api::settings::delete_account` sends the browser.
    let account = query_param("account");
    view! {
        <Title text="Log in · Parley" />
        <main class="page narrow auth">
            <h1>"Log in to Parley"</h1>
            <Show when=move || account() == "deleted">
                <p class="notice" role="status" data-testid="account-deleted">
                    "Your account has been deleted. The people you wrote to see your messages as deleted."
                </p>
            </Show>
            <LoginForm />
            <p>"New here? " <a href="/signup">"Create an account"</a></p>
        </main>
    }
}

#[component]
fn LoginForm() -> impl IntoView {
    let action = ServerAction::<LogIn>::new();
    let error = move || action.value().with(error_text);
    view! {
        <ActionForm action=action attr:class="card" attr:data-testid="login-form">
            <label for="username">"Username"</label>
            <input id="username" name="username" autocomplete="username" required autofocus />
            <label for="password">"Password"</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required />
            <FormError error />
            <button type="submit">"Log in"</button>
        </ActionForm>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    view! {
        <Title text="Sign up · Parley" />
        <main class="page narrow auth">
            <h1>"Create your account"</h1>
            <SignupForm />
            <p>"Already have an account? " <a href="/login">"Log in"</a></p>
        </main>
    }
}

#[component]
fn SignupForm() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = move || action.value().with(error_text);
    view! {
            <ActionForm action=action attr:class="card" attr:data-testid="signup-form">
                <label for="username">"Username"</label>
                <input
                    id="username"
                    name="username"
                    autocomplete="username"
                    required
                    minlength="3"
                    maxlength="32"
                    pattern="[A-Za-z0-9_.\\-]+"
                    aria-describedby="username-hint"
                />
                <small id="username-hint">"3–32 characters: letters, digits, _ . -"</small>
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    required
                    minlength="8"
                    aria-describedby="password-hint"
                />
                <small id="password-hint">"At least 8 characters."</small>
                <FormError error />
                <button type="submit">"Sign up"</button>
            </ActionForm>
    }
}

/// `/reset/{token}`: a one-time link an admin made lets its owner set a new password.
#[component]
pub fn ResetPage() -> impl IntoView {
    let token = path_param("token");
    let link = Resource::new(token, load_reset_link);
    view! {
        <Title text="Set a new password · Parley" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match link.await {
                    Ok(username) => view! { <ResetForm username token=token() /> }.into_any(),
                    // Whatever the reason (used, expired, made up), the same plain answer.
                    Err(_) => view! {
                        <main class="page narrow auth">
                            <h1>"This link does not work"</h1>
                            <p class="notice" role="alert" data-testid="reset-link-dead">
                                "It was used already, or it expired (links work for 24 hours). Ask an admin for a new one."
                            </p>
                            <p><a href="/login">"Log in"</a></p>
                        </main>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ResetForm(username: String, token: String) -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = move || action.value().with(error_text);
    view! {
        <main class="page narrow auth">
            <h1>"Set a new password"</h1>
            <p>{format!("For {username}. Every device logged in as {username} will be logged out.")}</p>
            <ActionForm action=action attr:class="card" attr:data-testid="reset-form">
                <input type="hidden" name="token" value=token />
                <label for="new-password">"New password"</label>
                <input id="new-password" name="new_password" type="password" autocomplete="new-password" required minlength="8" />
                <FormError error />
                <button type="submit">"Set password"</button>
            </ActionForm>
        </main>
    }
}
