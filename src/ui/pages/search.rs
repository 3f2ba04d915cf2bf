//! `/search?q=…`: the caller's own messages that contain every word searched for, newest first,
//! with those words marked. A plain GET form, so it works without JavaScript; each hit opens its
//! conversation at that message.

use crate::api::messaging::{search_chats, Search};
use crate::domain::admin::SearchHit;
use crate::domain::UserId;
use crate::ui::components::{Loaded, TopBar};
use crate::ui::format::highlight;
use crate::ui::url::query_param;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SearchPage() -> impl IntoView {
    let results = Resource::new(query_param("q"), search_chats);
    view! { <Loaded resource=results render=|data| view! { <SearchView data /> } /> }
}

#[component]
fn SearchView(data: Search) -> impl IntoView {
    let Search { me, query, hits } = data;
    let words: Vec<String> = query.split_whitespace().map(str::to_owned).collect();
    let searched = !words.is_empty();
    let my_id = me.id;
    let results = if !searched {
        ().into_any()
    } else if hits.is_empty() {
        view! { <p class="empty" data-testid="search-empty">"No messages match."</p> }.into_any()
    } else {
        view! {
            <ul class="hits" data-testid="search-hits">
                {hits.into_iter().map(|hit| view! { <Hit hit me=my_id words=words.clone() /> }).collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <Title text="Search · Parley" />
        <TopBar me />
        <main class="page search">
            <h1>"Search your messages"</h1>
            <form method="get" action="/search" role="search" class="inline-form">
                <label for="search-q" class="visually-hidden">"Words to find"</label>
                <input id="search-q" name="q" type="search" value=query.clone() required data-testid="message-search" />
                <button type="submit">"Search"</button>
            </form>
            {results}
            <p><a href="/">"Back to the inbox"</a></p>
        </main>
    }
}

#[component]
fn Hit(hit: SearchHit, me: UserId, words: Vec<String>) -> impl IntoView {
    let peer = if hit.sender.id == me {
        &hit.receiver
    } else {
        &hit.sender
    };
    let (peer_name, address) = (peer.shown_name(), peer.username.to_string());
    let who = if hit.sender.id == me {
        format!("You → {peer_name}")
    } else {
        format!("{peer_name} → you")
    };
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let text = highlight(&hit.message.message, &words)
        .into_iter()
        .map(|(piece, marked)| {
            if marked {
                view! { <mark>{piece.to_owned()}</mark> }.into_any()
            } else {
                piece.to_owned().into_any()
            }
        })
        .collect_view();
    view! {
        <li data-testid="search-hit">
            <a href=format!("/c/{address}?at={}", hit.message.id) data-testid="search-hit-link">{who}</a>
            " "
            <crate::ui::components::Timestamp date=hit.message.date with_date=true />
            <p class="text">{text}</p>
        </li>
    }
}
