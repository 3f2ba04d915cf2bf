//! The message list: stored messages (with "sent" / "read" on mine), then what is still in the
//! outbox, then "… is typing". It loads older pages near the top, and tells the server how far I
//! have read while the page is in front of me. The typing line belongs here rather than in the
//! header: it sits inside the scroller, under the newest message.

use super::live::LiveState;
use super::outbox::Pending;
#[cfg(feature = "hydrate")]
use crate::api::messaging::delete_chat;
use crate::api::messaging::load_older;
use crate::domain::ChatMessage;
use crate::protocol::ClientFrame;
use crate::ui::components::MessageBubble;
use crate::ui::realtime::Realtime;
use crate::ui::timeline::{day_name, first_unread, timeline, DayName, Row};
use crate::ui::{format, intl};
use chrono::{DateTime, NaiveDate, Utc};
use leptos::either::EitherOf3;
use leptos::html;
use leptos::prelude::*;

/// Within this many pixels of the newest message counts as being at it.
const NEWEST_SLACK_PX: f64 = 48.0;

#[component]
pub(super) fn MessageList(
    live: LiveState,
    realtime: Realtime,
    /// Whether the server has messages older than the first page.
    has_more: bool,
    peer_name: String,
    scroller: NodeRef<html::Div>,
    /// The message a search opened the conversation at, if one did.
    found: Option<i64>,
) -> impl IntoView {
    let has_more = RwSignal::new(has_more);
    // The first render lays the days out in UTC, as the server did; then in the reader's zone.
    let hydrated = crate::ui::hydrated();
    let rows = Memo::new(move |_| {
        let readers_zone = hydrated.get();
        let seen_up_to = live.seen_up_to.get();
        live.messages.with(|list| {
            let unread = first_unread(list, live.peer, seen_up_to);
            timeline(list, unread, |date| calendar_day(date, readers_zone))
        })
    });
    show_new_messages(live, scroller, hydrated, found);
    let typing_name = peer_name.clone();
    let log_label = format!("Messages with {peer_name}");
    let loading_older = RwSignal::new(false);
    mark_read_while_visible(live, realtime);

    let load_older_page = move || {
        if loading_older.get_untracked() || !has_more.get_untracked() {
            return;
        }
        let Some(first) = live
            .messages
            .with_untracked(|list| list.first().map(|m| m.id))
        else {
            return;
        };
        loading_older.set(true);
        leptos::task::spawn_local(async move {
            match load_older(live.peer, first).await {
                Ok(page) => {
                    live.add_messages(page.messages);
                    has_more.set(page.has_more);
                }
                Err(err) => live.send_error.set(Some(err.to_string())),
            }
            loading_older.set(false);
        });
    };

    // Whether I am at the newest message, and the newest id when I scrolled away from it: what
    // arrives after that is counted on the "jump to newest" button, and never scrolled to.
    let at_newest = RwSignal::new(true);
    let left_at = RwSignal::new(0i64);
    let missed = Memo::new(move |_| {
        if at_newest.get() {
            return 0;
        }
        let since = left_at.get();
        live.messages
            .with(|list| list.iter().filter(|m| m.id > since).count())
    });

    // The list is laid out bottom-up (column-reverse), so it opens at the newest message even
    // without JavaScript and stays pinned there as messages arrive: at the bottom, scrollTop is 0
    // and goes negative upwards, and content added below does not move what I am reading. Near
    // the top, load more.
    let on_scroll = move |_| {
        if let Some(el) = scroller.get() {
            let from_top =
                el.scroll_height() as f64 + el.scroll_top() as f64 - el.client_height() as f64;
            if from_top < 80.0 {
                load_older_page();
            }
            let at_bottom = f64::from(el.scroll_top()) > -NEWEST_SLACK_PX;
            if at_bottom != at_newest.get_untracked() {
                if !at_bottom {
                    left_at.set(live.newest_id());
                }
                at_newest.set(at_bottom);
            }
        }
    };
    let jump_to_newest = move |_| {
        if let Some(el) = scroller.get() {
            el.set_scroll_top(0);
        }
    };
    let jump_label = move || match missed.get() {
        0 => "Jump to newest ↓".to_owned(),
        1 => "1 new message ↓".to_owned(),
        n => format!("{n} new messages ↓"),
    };

    view! {
        <div class="scroller-frame">
        <button class="jump-newest" data-testid="jump-newest" hidden=move || at_newest.get() on:click=jump_to_newest>
            {jump_label}
        </button>
        // A log: a screen reader reads what is added, politely. Older pages are added too, but
        // they are history, not news: the region is silent while one loads.
        <div
            class="scroller"
            node_ref=scroller
            on:scroll=on_scroll
            data-testid="message-scroller"
            role="log"
            aria-label=log_label
            aria-live=move || if loading_older.get() { "off" } else { "polite" }
            aria-busy=move || loading_older.get().to_string()
        >
            <div>
                <Show when=move || has_more.get()>
                    <button class="load-older" data-testid="load-older" on:click=move |_| load_older_page()>
                        {move || if loading_older.get() { "Loading…" } else { "Load older messages" }}
                    </button>
                </Show>
                <Show when=move || live.messages.with(Vec::is_empty) && live.outbox.is_empty()>
                    <p class="empty" data-testid="conversation-empty">"No messages yet. Say hello!"</p>
                </Show>
                <ol class="messages" data-testid="message-list">
                    <For each=move || rows.get() key=Row::key let:row>
                        {match row {
                            Row::Day(day) => EitherOf3::A(view! { <DayLine day hydrated /> }),
                            Row::Unread => EitherOf3::B(view! {
                                <li class="unread-line" data-testid="unread-line"><span>"New messages"</span></li>
                            }),
                            Row::Message { message, continues } => {
                                let mine = message.sender == live.me;
                                let sender = if mine { "You".to_owned() } else { peer_name.clone() };
                                let on_edit = move |message| live.editing.set(Some(message));
                                let on_delete = move |message| delete_after_asking(live, message);
                                EitherOf3::C(view! {
                                    <MessageBubble mine read_up_to=live.peer_read_up_to.into() continues sender found=found == Some(message.id) message on_edit on_delete />
                                })
                            }
                        }}
                    </For>
                    <For each=move || live.outbox.entries() key=|p| (p.client_id.clone(), p.failed.is_some()) let:pending>
                        <PendingBubble live realtime pending />
                    </For>
                </ol>
                // Not read out: the log is for messages.
                <p class="typing" data-testid="typing-indicator" aria-live="off">
                    {move || (live.peer_typing.get() > 0).then(|| format!("{typing_name} is typing…"))}
                </p>
            </div>
        </div>
        </div>
    }
}

/// Deletes my `message` for both of us, once I confirm it.
fn delete_after_asking(live: LiveState, message: ChatMessage) {
    #[cfg(feature = "hydrate")]
    {
        let sure = window()
            .confirm_with_message("Delete this message for everyone?")
            .unwrap_or(false);
        if !sure {
            return;
        }
        leptos::task::spawn_local(async move {
            match delete_chat(live.peer, message.id).await {
                Ok(deleted) => live.replace_message(deleted),
                Err(err) => live.send_error.set(Some(err.to_string())),
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (live, message);
}

/// Brings the "New messages" line into view when the page opens with unread messages (or the
/// message a search opened it at), and when I come back to the tab after messages arrived while it
/// was hidden (everything shown when I left counts as seen, so the line moves to the first of
/// those).
fn show_new_messages(
    live: LiveState,
    scroller: NodeRef<html::Div>,
    hydrated: ReadSignal<bool>,
    found: Option<i64>,
) {
    let scroll_to_line = move || {
        request_animation_frame(move || scroll_into_view(scroller, ".unread-line"));
    };
    Effect::new(move |_| {
        if hydrated.get() {
            match found {
                Some(id) => request_animation_frame(move || {
                    scroll_into_view(scroller, &format!("[data-id=\"{id}\"]"))
                }),
                None => scroll_to_line(),
            }
        }
    });
    let visibility = window_event_listener_untyped("visibilitychange", move |_| {
        if page_visible() {
            scroll_to_line();
        } else {
            live.seen_all();
        }
    });
    on_cleanup(move || visibility.remove());
}

/// Scrolls the element matching `selector` inside the scroller to the middle of the view, if
/// there is one.
fn scroll_into_view(scroller: NodeRef<html::Div>, selector: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(found) = scroller
        .get_untracked()
        .and_then(|list| list.query_selector(selector).ok().flatten())
    {
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Center);
        found.scroll_into_view_with_scroll_into_view_options(&options);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (scroller, selector);
}

/// Tells the server (and so the peer, and my other tabs) how far I have read, while this page is
/// in front of me: when messages arrive, when the link comes up, when the window gets focus, and
/// when the tab is shown again.
fn mark_read_while_visible(live: LiveState, realtime: Realtime) {
    let read_sent = StoredValue::new(0i64);
    let mark_read = move || {
        if !page_visible() {
            return;
        }
        let newest = live
            .messages
            .with_untracked(|l| l.iter().rev().find(|m| m.sender == live.peer).map(|m| m.id));
        if let Some(id) = newest.filter(|id| *id > read_sent.get_value()) {
            if realtime.send(&ClientFrame::Read {
                with: live.peer,
                up_to: id,
            }) {
                read_sent.set_value(id);
            }
        }
    };
    Effect::new(move |_| {
        live.messages.track();
        let _ = realtime.status();
        mark_read();
    });
    let focus = window_event_listener(leptos::ev::focus, move |_| mark_read());
    let shown = window_event_listener_untyped("visibilitychange", move |_| mark_read());
    on_cleanup(move || {
        focus.remove();
        shown.remove();
    });
}

/// The calendar day `date` falls on: the reader's, once `readers_zone`, else UTC's.
fn calendar_day(date: DateTime<Utc>, readers_zone: bool) -> NaiveDate {
    if readers_zone {
        date.with_timezone(&chrono::Local).date_naive()
    } else {
        date.date_naive()
    }
}

/// The line above a day's first message: "Today", "Yesterday", the weekday within the last week,
/// then the date, in the reader's language.
#[component]
fn DayLine(day: NaiveDate, hydrated: ReadSignal<bool>) -> impl IntoView {
    let label = move || {
        // Until hydrated, the date itself, in UTC as the server wrote it: words like "Today"
        // depend on the reader's clock and zone, which the server cannot know (and the first
        // render in the browser must say exactly what the server said).
        if !hydrated.get() {
            return format::long_day(day);
        }
        match day_name(day, calendar_day(Utc::now(), true)) {
            DayName::Today => "Today".to_owned(),
            DayName::Yesterday => "Yesterday".to_owned(),
            DayName::Weekday(_) => intl::format_day(day, &[("weekday", "long")]),
            DayName::Date(_) => intl::format_day(
                day,
                &[
                    ("weekday", "long"),
                    ("day", "numeric"),
                    ("month", "long"),
                    ("year", "numeric"),
                ],
            ),
        }
    };
    view! {
        <li class="day-line" data-testid="day-line" data-day=day.to_string()>
            <span>{label}</span>
        </li>
    }
}

/// An own message the server has not confirmed: "sending…", or "Not sent" with why, and the
/// choice to send it again (same client_id) or to delete it.
#[component]
fn PendingBubble(live: LiveState, realtime: Realtime, pending: Pending) -> impl IntoView {
    let Pending {
        client_id,
        text,
        failed,
    } = pending;
    let state = if failed.is_some() {
        "failed"
    } else {
        "pending"
    };
    let label = failed
        .as_ref()
        .map_or_else(|| "sending…".to_owned(), |why| format!("not sent: {why}"));
    let actions = failed.is_some().then(|| {
        let (retry_id, delete_id) = (client_id.clone(), client_id.clone());
        view! {
            <span class="failed-actions">
                <button type="button" class="link-button" data-testid="retry"
                    on:click=move |_| live.outbox.retry(realtime, live.peer, &retry_id)>"Retry"</button>
                <button type="button" class="link-button" data-testid="discard"
                    on:click=move |_| live.outbox.discard(&delete_id)>"Delete"</button>
            </span>
        }
    });
    view! {
        <li class=format!("bubble mine {state}") data-testid="message" data-mine="true" data-state=state>
            <span class="visually-hidden">"You:"</span>
            <p class="text" data-testid="message-text">{text}</p>
            <span class="state" data-testid="message-state">{label}</span>
            {actions}
        </li>
    }
}

fn page_visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        document().visibility_state() == web_sys::VisibilityState::Visible
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}
