//! The browser side of `/ws`: connects, hands every server frame to the page, reconnects with
//! exponential backoff and jitter when the socket drops, and closes when the page goes away.
//!
//! Every (re)connect asks to resume after the highest stream position seen (messages, edits and
//! deletions), so nothing sent or changed while the page was away is missed. The browser's `offline` event closes the socket at once (a dropped
//! network can otherwise leave a half-dead socket for minutes) and `online` reconnects. After a
//! `leave` for logout or a disabled account, it stops and goes to the login page.
//!
//! A resume has a limit (`replay_truncated`); past it, the page reloads, which renders everything
//! afresh from the server and resumes from there.
//!
//! On the server this is inert: pages render without a socket, and hydration brings it to life.

use crate::protocol::{ClientFrame, ServerFrame};
use leptos::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    Connecting,
    Live,
    Offline,
}

impl LinkStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "connecting…",
            Self::Live => "live",
            Self::Offline => "offline: reconnecting…",
        }
    }
}

/// A page's handle on its realtime link.
#[derive(Clone, Copy)]
pub struct Realtime {
    status: RwSignal<LinkStatus>,
    #[cfg(feature = "hydrate")]
    link: StoredValue<std::rc::Rc<browser::Link>, LocalStorage>,
}

impl Realtime {
    pub fn status(&self) -> LinkStatus {
        self.status.get()
    }

    /// Sends `frame` if the socket is open; false means the caller should fall back to HTTP.
    pub fn send(&self, frame: &ClientFrame) -> bool {
        #[cfg(feature = "hydrate")]
        {
            self.link
                .try_with_value(|link| link.send(frame))
                .unwrap_or(false)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = frame;
            false
        }
    }
}

/// Opens the realtime link for the current page, resuming after message `last_id`: the newest
/// message of the whole account when the page was rendered (not of the conversation shown, which
/// would replay every other conversation's history). `on_frame` sees every frame the server sends.
pub fn use_realtime(last_id: i64, on_frame: impl Fn(ServerFrame) + 'static) -> Realtime {
    let status = RwSignal::new(LinkStatus::Connecting);
    #[cfg(feature = "hydrate")]
    {
        let link = browser::Link::open(status, last_id, Box::new(on_frame));
        let stored = StoredValue::new_local(link);
        on_cleanup(move || {
            stored.try_with_value(|link| link.stop());
        });
        Realtime {
            status,
            link: stored,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (last_id, on_frame);
        Realtime { status }
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::LinkStatus;
    use crate::protocol::{ClientFrame, LeaveReason, ServerFrame};
    use leptos::prelude::*;
    use std::cell::{Cell, RefCell};
    use std::rc::{Rc, Weak};
    use std::time::Duration;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    const FIRST_RETRY_MS: f64 = 500.0;
    const MAX_RETRY_MS: f64 = 15_000.0;

    pub struct Link {
        socket: RefCell<Option<WebSocket>>,
        on_frame: Box<dyn Fn(ServerFrame)>,
        status: RwSignal<LinkStatus>,
        /// The highest stream position seen (a message's id, an edit's or deletion's position):
        /// where the next connection resumes.
        last_id: Cell<i64>,
        failures: Cell<u32>,
        stopped: Cell<bool>,
        /// The `offline` / `online` listeners, removed on stop.
        network_listeners: RefCell<Vec<(&'static str, JsValue)>>,
    }

    impl Link {
        pub fn open(
            status: RwSignal<LinkStatus>,
            last_id: i64,
            on_frame: Box<dyn Fn(ServerFrame)>,
        ) -> Rc<Self> {
            let link = Rc::new(Self {
                socket: RefCell::new(None),
                on_frame,
                status,
                last_id: Cell::new(last_id),
                failures: Cell::new(0),
                stopped: Cell::new(false),
                network_listeners: RefCell::new(Vec::new()),
            });
            watch_network(&link);
            connect(&link);
            link
        }

        pub fn send(&self, frame: &ClientFrame) -> bool {
            let socket = self.socket.borrow();
            let Some(socket) = socket
                .as_ref()
                .filter(|s| s.ready_state() == WebSocket::OPEN)
            else {
                return false;
            };
            match serde_json::to_string(frame) {
                Ok(text) => socket.send_with_str(&text).is_ok(),
                Err(_) => false,
            }
        }

        pub fn stop(&self) {
            self.stopped.set(true);
            self.drop_socket();
            for (event, listener) in self.network_listeners.borrow_mut().drain(..) {
                let _ =
                    window().remove_event_listener_with_callback(event, listener.unchecked_ref());
            }
        }

        fn drop_socket(&self) {
            if let Some(socket) = self.socket.borrow_mut().take() {
                socket.set_onclose(None);
                socket.set_onmessage(None);
                let _ = socket.close();
            }
        }
    }

    fn online() -> bool {
        window().navigator().on_line()
    }

    /// `offline`: close now and wait. `online`: reconnect at once.
    fn watch_network(link: &Rc<Link>) {
        let weak = Rc::downgrade(link);
        let offline = Closure::<dyn FnMut()>::new(move || {
            if let Some(link) = weak.upgrade() {
                link.drop_socket();
                link.status.set(LinkStatus::Offline);
            }
        })
        .into_js_value();
        let weak = Rc::downgrade(link);
        let online = Closure::<dyn FnMut()>::new(move || {
            if let Some(link) = weak.upgrade() {
                if link.socket.borrow().is_none() {
                    link.failures.set(0);
                    connect(&link);
                }
            }
        })
        .into_js_value();
        for (event, listener) in [("offline", offline), ("online", online)] {
            let _ = window().add_event_listener_with_callback(event, listener.unchecked_ref());
            link.network_listeners.borrow_mut().push((event, listener));
        }
    }

    fn socket_url(after: i64) -> Option<String> {
        let location = window().location();
        let scheme = if location.protocol().ok()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        Some(format!(
            "{scheme}://{}/ws?after={after}",
            location.host().ok()?
        ))
    }

    fn connect(link: &Rc<Link>) {
        if link.stopped.get() || link.socket.borrow().is_some() {
            return;
        }
        if !online() {
            // The `online` listener reconnects when the network is back.
            link.status.set(LinkStatus::Offline);
            return;
        }
        link.status.set(LinkStatus::Connecting);
        let Some(socket) = socket_url(link.last_id.get()).and_then(|url| WebSocket::new(&url).ok())
        else {
            retry_later(link);
            return;
        };

        let weak = Rc::downgrade(link);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let (Some(link), Some(text)) = (weak.upgrade(), event.data().as_string()) else {
                return;
            };
            // A frame this client does not understand (a newer server) is skipped, not fatal.
            let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else {
                return;
            };
            match &frame {
                ServerFrame::ConnectionStatus { .. } => {
                    link.failures.set(0);
                    link.status.set(LinkStatus::Live);
                }
                ServerFrame::Message { message } => {
                    link.last_id.set(link.last_id.get().max(message.id))
                }
                ServerFrame::MessageEdited { position, .. }
                | ServerFrame::MessageDeleted { position, .. } => {
                    link.last_id.set(link.last_id.get().max(*position))
                }
                ServerFrame::ReplayTruncated { .. } => {
                    // Too much was missed to replay: a fresh render has all of it.
                    link.stop();
                    let _ = window().location().reload();
                    return;
                }
                ServerFrame::Leave {
                    reason:
                        LeaveReason::Logout | LeaveReason::AccountDisabled | LeaveReason::SessionExpired,
                    ..
                } => {
                    // This session is over: reconnecting would only be refused.
                    link.stop();
                    let _ = window().location().set_href("/login");
                    return;
                }
                _ => {}
            }
            (link.on_frame)(frame);
        });
        socket.set_onmessage(Some(on_message.into_js_value().unchecked_ref()));

        let weak: Weak<Link> = Rc::downgrade(link);
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
            let Some(link) = weak.upgrade() else { return };
            link.socket.borrow_mut().take();
            if !link.stopped.get() {
                link.status.set(LinkStatus::Offline);
                if online() {
                    retry_later(&link);
                }
            }
        });
        socket.set_onclose(Some(on_close.into_js_value().unchecked_ref()));
        *link.socket.borrow_mut() = Some(socket);
    }

    /// Exponential backoff with full jitter, so a restarted server is not hit by every tab at once.
    fn retry_later(link: &Rc<Link>) {
        let failures = link.failures.get();
        link.failures.set(failures.saturating_add(1));
        let ceiling = (FIRST_RETRY_MS * 2f64.powi(failures.min(8) as i32)).min(MAX_RETRY_MS);
        let delay = ceiling * (0.5 + 0.5 * js_sys::Math::random());
        let weak = Rc::downgrade(link);
        set_timeout(
            move || {
                if let Some(link) = weak.upgrade() {
                    connect(&link);
                }
            },
            Duration::from_millis(delay as u64),
        );
    }
}
