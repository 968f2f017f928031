//! The app-wide connection to the bridge: [`BridgeProvider`] owns the WebSocket and the
//! [`State`], and [`use_bridge`] hands any component a [`Bridge`] to read the state and send
//! requests.
//!
//! The socket speaks the `protocol` crate's JSON: `Hello` with the pairing token first, then
//! `Request`s with ids this module hands out. When the socket closes, the page tries again with
//! a growing pause, except after a pairing refusal (4401), where every try would count towards
//! the bridge's lockout, or a version mismatch (4400), where trying again cannot help.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::ops::Deref;
use std::rc::Rc;

use futures_channel::oneshot;

use gloo::events::EventListener;
use gloo::timers::callback::Timeout;
use protocol::{
    ClientMessage, ErrorKind, Operation, OperationError, Outcome, PROTOCOL_VERSION, Request,
    RequestId, Secret, ServerMessage, decode_server, encode,
};
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, PageTransitionEvent, WebSocket};
use yew::prelude::*;

use crate::state::{Action, CLOSE_PAIRING_FAILED, CLOSE_VERSION_MISMATCH, State};
use crate::{pairing, platform};

/// What a component gets from [`use_bridge`]: the latest state (through `Deref`) and the
/// methods that act on the connection.
#[derive(Clone)]
pub struct Bridge {
    state: UseReducerHandle<State>,
    link: Rc<Link>,
}

impl PartialEq for Bridge {
    fn eq(&self, other: &Bridge) -> bool {
        self.state == other.state && Rc::ptr_eq(&self.link, &other.link)
    }
}

impl Deref for Bridge {
    type Target = State;

    fn deref(&self) -> &State {
        &self.state
    }
}

impl Bridge {
    /// Sends an operation and returns its id; the progress and result arrive in the state.
    /// When the page is not connected, the request fails at once with an error that says so.
    pub fn request(&self, operation: Operation) -> RequestId {
        self.link.request(operation, None)
    }

    /// Sends an operation and resolves to its result, for a component that shows the result
    /// itself (saving a profile, an upload chunk, the Raw preview). The state sees it too.
    pub fn call(&self, operation: Operation) -> impl Future<Output = Answer> + 'static {
        let (sender, receiver) = oneshot::channel();
        self.link.request(operation, Some(sender));
        async move {
            receiver.await.unwrap_or_else(|_| {
                Err(OperationError::new(
                    ErrorKind::Internal,
                    "the page closed the connection before the answer arrived",
                ))
            })
        }
    }

    /// Tries to connect now instead of waiting for the next retry.
    pub fn reconnect(&self) {
        self.link.connect();
    }

    /// Pairs with a new token (the extension's pairing form), connecting to the bridge the
    /// platform names now.
    pub fn pair(&self, token: String) {
        self.link.pair(token);
    }

    pub fn dispatch(&self, action: Action) {
        self.state.dispatch(action);
    }

    /// The address the page connects to, for messages that name it.
    pub fn url(&self) -> String {
        self.link.url.borrow().clone()
    }
}

#[derive(Properties, PartialEq)]
pub struct BridgeProviderProps {
    pub children: Html,
}

/// Owns the connection; everything inside it can call [`use_bridge`].
#[function_component]
pub fn BridgeProvider(props: &BridgeProviderProps) -> Html {
    let token = use_memo((), |()| platform::current().token());
    let state = use_reducer({
        let has_token = token.is_some();
        move || State::new(has_token)
    });
    let link = use_memo((), {
        let dispatch = state.dispatcher();
        let token = (*token).clone();
        move |()| Link::new(dispatch, token)
    });
    use_effect_with((), {
        let link = link.clone();
        move |()| {
            link.connect();
            // Pasting the pairing address into a tab that is already open changes only the
            // fragment, which reloads nothing.
            let on_hash = web_sys::window().map(|window| {
                let link = link.clone();
                EventListener::new(&window, "hashchange", move |_| {
                    if let Some(token) = pairing::take_token_from_address() {
                        link.pair(token);
                    }
                })
            });
            // Leaving the page closes the socket. Chromium may otherwise keep the page, socket
            // and all, in its back/forward cache, and each such page would hold one of the
            // bridge's few connections until it is evicted. Coming back reconnects.
            let on_hide = web_sys::window().map(|window| {
                let link = link.clone();
                EventListener::new(&window, "pagehide", move |_| link.shutdown())
            });
            let on_show = web_sys::window().map(|window| {
                let link = link.clone();
                EventListener::new(&window, "pageshow", move |event| {
                    let restored = event
                        .dyn_ref::<PageTransitionEvent>()
                        .is_some_and(PageTransitionEvent::persisted);
                    if restored {
                        link.connect();
                    }
                })
            });
            move || {
                drop((on_hash, on_hide, on_show));
                link.shutdown();
            }
        }
    });
    let bridge = Bridge { state, link };
    html! {
        <ContextProvider<Bridge> context={bridge}>
            { props.children.clone() }
        </ContextProvider<Bridge>>
    }
}

/// The bridge connection, from any component inside [`BridgeProvider`].
#[hook]
pub fn use_bridge() -> Bridge {
    // Only a component placed outside the provider gets nothing: a bug in this crate's layout,
    // not something input can cause.
    use_context::<Bridge>().expect("use_bridge is called inside BridgeProvider")
}

/// How many past sends the history panel shows.
pub const HISTORY_LIMIT: u32 = 50;

/// How many outbox entries the Outbox view lists, newest first.
pub const OUTBOX_LIMIT: u32 = 100;

/// The pause before retry number `failures` (1 for the first): 0.5 s, doubling, at most 10 s.
pub fn backoff_ms(failures: u32) -> u32 {
    let doublings = failures.saturating_sub(1).min(5);
    (500u32 << doublings).min(10_000)
}

/// What [`Bridge::call`] resolves to.
pub type Answer = Result<Outcome, OperationError>;

/// The WebSocket and what keeps it going. Event handlers hold a `Weak` to it, so dropping the
/// provider drops everything.
struct Link {
    dispatch: UseReducerDispatcher<State>,
    /// Where the socket connects; a new pairing address may name another bridge.
    url: RefCell<String>,
    token: RefCell<Option<String>>,
    // Dropping a socket or timer from inside its own handler is fine: wasm-bindgen defers
    // freeing a closure until the call into it returns.
    socket: RefCell<Option<Socket>>,
    /// Set by `Welcome`; requests go out only after it.
    welcomed: Cell<bool>,
    next_id: Cell<u64>,
    /// Closes since the last `Welcome`, for the backoff.
    failures: Cell<u32>,
    retry: RefCell<Option<Timeout>>,
    /// Who awaits each request made with [`Bridge::call`].
    waiters: RefCell<BTreeMap<RequestId, oneshot::Sender<Answer>>>,
    /// Requests in flight whose answers bypass the shared state (see [`is_private`]).
    private: RefCell<BTreeSet<RequestId>>,
}

/// Operations whose answers concern only the component that asked: they bypass the shared
/// state, so a 20 MB upload (hundreds of chunks) does not re-render the whole page per chunk.
fn is_private(operation: &Operation) -> bool {
    matches!(
        operation,
        Operation::BeginUpload { .. }
            | Operation::UploadChunk { .. }
            | Operation::DiscardUpload { .. }
            | Operation::RenderMime { .. }
    )
}

struct Socket {
    socket: WebSocket,
    _listeners: [EventListener; 3],
}

impl Link {
    fn new(dispatch: UseReducerDispatcher<State>, token: Option<String>) -> Link {
        Link {
            dispatch,
            url: RefCell::new(socket_url()),
            token: RefCell::new(token),
            socket: RefCell::new(None),
            welcomed: Cell::new(false),
            next_id: Cell::new(1),
            failures: Cell::new(0),
            retry: RefCell::new(None),
            waiters: RefCell::new(BTreeMap::new()),
            private: RefCell::new(BTreeSet::new()),
        }
    }

    fn connect(self: &Rc<Self>) {
        self.retry.borrow_mut().take();
        if let Some(old) = self.socket.borrow_mut().take() {
            let _ = old.socket.close();
        }
        self.welcomed.set(false);
        let Some(token) = self.token.borrow().clone() else {
            return;
        };
        self.dispatch.dispatch(Action::Connecting);
        let url = self.url.borrow().clone();
        let socket = match WebSocket::new(&url) {
            Ok(socket) => socket,
            // Only a malformed URL makes the constructor throw; treat it as nothing answering.
            Err(_) => {
                self.schedule_retry(1006, false);
                return;
            }
        };
        let opened = Rc::new(Cell::new(false));
        let weak = Rc::downgrade(self);
        let on_open = EventListener::new(&socket, "open", {
            let weak = weak.clone();
            let opened = opened.clone();
            move |_| {
                opened.set(true);
                if let Some(link) = weak.upgrade() {
                    link.hello(&token);
                }
            }
        });
        let on_message = EventListener::new(&socket, "message", {
            let weak = weak.clone();
            move |event| {
                let text = event
                    .dyn_ref::<MessageEvent>()
                    .and_then(|event| event.data().as_string());
                if let (Some(link), Some(text)) = (weak.upgrade(), text) {
                    link.received(&text);
                }
            }
        });
        let on_close = EventListener::new(&socket, "close", {
            move |event| {
                let code = event.dyn_ref::<CloseEvent>().map_or(1006, CloseEvent::code);
                if let Some(link) = weak.upgrade() {
                    link.on_close(code, opened.get());
                }
            }
        });
        *self.socket.borrow_mut() = Some(Socket {
            socket,
            _listeners: [on_open, on_message, on_close],
        });
    }

    /// Uses a new pairing token from now on, and connects with it.
    fn pair(self: &Rc<Self>, token: String) {
        *self.token.borrow_mut() = Some(token);
        // `take_token_from_address` has just stored (or forgotten) the address's `bridge=`.
        *self.url.borrow_mut() = socket_url();
        self.failures.set(0);
        self.connect();
    }

    fn hello(&self, token: &str) {
        let hello = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: Secret::new(token),
        };
        if let (Ok(text), Some(socket)) = (encode(&hello), self.socket.borrow().as_ref()) {
            let _ = socket.socket.send_with_str(&text);
        }
    }

    fn received(self: &Rc<Self>, text: &str) {
        let message = match decode_server(text) {
            Ok(message) => message,
            Err(error) => {
                self.dispatch
                    .dispatch(Action::Unreadable(error.to_string()));
                return;
            }
        };
        let welcome = matches!(message, ServerMessage::Welcome { .. });
        if welcome {
            self.welcomed.set(true);
            self.failures.set(0);
            crate::mark("mailbridge:connected");
        }
        let answer = match &message {
            ServerMessage::Done { id, outcome } => Some((*id, Ok(outcome.clone()))),
            ServerMessage::Failed {
                id: Some(id),
                error,
            } => Some((*id, Err(error.clone()))),
            _ => None,
        };
        if let Some((id, answer)) = answer {
            if self.private.borrow_mut().remove(&id) {
                if let Some(waiter) = self.waiters.borrow_mut().remove(&id) {
                    let _ = waiter.send(answer);
                }
                return;
            }
            if let Some(waiter) = self.waiters.borrow_mut().remove(&id) {
                let _ = waiter.send(answer);
            }
        }
        self.dispatch.dispatch(Action::Received(message));
        if welcome {
            // Fresh lists after every (re)connect: mail may have arrived while the page was away.
            self.request(Operation::ListProfiles, None);
            self.request(Operation::ListSandboxMessages, None);
            self.request(
                Operation::ReadHistory {
                    limit: HISTORY_LIMIT,
                },
                None,
            );
            // The summary puts the waiting count in the navigation; the Outbox view asks again
            // with its own filter when it shows.
            self.request(
                Operation::ListOutbox {
                    state: None,
                    limit: OUTBOX_LIMIT,
                },
                None,
            );
        }
    }

    fn on_close(self: &Rc<Self>, code: u16, opened: bool) {
        self.welcomed.set(false);
        // Nothing in flight will be answered on this connection.
        self.private.borrow_mut().clear();
        for (_, waiter) in std::mem::take(&mut *self.waiters.borrow_mut()) {
            let _ = waiter.send(Err(OperationError::new(
                ErrorKind::Internal,
                "the connection to the bridge closed before the answer arrived",
            )
            .with_fix("Wait until the top of the page says Connected, then try again.")));
        }
        self.socket.borrow_mut().take();
        if code == CLOSE_PAIRING_FAILED || code == CLOSE_VERSION_MISMATCH {
            self.dispatch.dispatch(Action::Closed {
                code,
                opened,
                retry_in_ms: None,
            });
            return;
        }
        self.schedule_retry(code, opened);
    }

    fn schedule_retry(self: &Rc<Self>, code: u16, opened: bool) {
        let failures = self.failures.get() + 1;
        self.failures.set(failures);
        let delay = backoff_ms(failures);
        let weak = Rc::downgrade(self);
        *self.retry.borrow_mut() = Some(Timeout::new(delay, move || {
            if let Some(link) = weak.upgrade() {
                link.connect();
            }
        }));
        self.dispatch.dispatch(Action::Closed {
            code,
            opened,
            retry_in_ms: Some(delay),
        });
    }

    fn request(&self, operation: Operation, waiter: Option<oneshot::Sender<Answer>>) -> RequestId {
        let id = RequestId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        let private = is_private(&operation) && waiter.is_some();
        if !private {
            self.dispatch.dispatch(Action::Requested {
                id,
                operation: operation.clone(),
            });
        }
        let message = ClientMessage::Request(Request { id, operation });
        let sent = self.welcomed.get()
            && match (encode(&message), self.socket.borrow().as_ref()) {
                (Ok(text), Some(socket)) => socket.socket.send_with_str(&text).is_ok(),
                _ => false,
            };
        if !sent {
            let error = OperationError::new(
                ErrorKind::Internal,
                "the page is not connected to the bridge, so nothing was sent",
            )
            .with_fix("Wait until the top of the page says Connected, then try again.");
            if let Some(waiter) = waiter {
                let _ = waiter.send(Err(error.clone()));
            }
            if !private {
                self.dispatch
                    .dispatch(Action::Received(ServerMessage::Failed {
                        id: Some(id),
                        error,
                    }));
            }
        } else if let Some(waiter) = waiter {
            if private {
                self.private.borrow_mut().insert(id);
            }
            self.waiters.borrow_mut().insert(id, waiter);
        }
        id
    }

    /// Stops retrying and closes the socket when the provider goes away.
    fn shutdown(&self) {
        self.retry.borrow_mut().take();
        if let Some(socket) = self.socket.borrow_mut().take() {
            let _ = socket.socket.close();
        }
    }
}

/// `ws://` (or `wss://`) at `/ws` on the host that served the page, or on the bridge the
/// platform names (the pairing address's `bridge=`, or the extension's stored address).
fn socket_url() -> String {
    let location = web_sys::window().map(|window| window.location());
    let host = platform::current()
        .bridge_address()
        .or_else(|| location.as_ref().and_then(|location| location.host().ok()))
        .unwrap_or_else(|| "127.0.0.1:4590".to_owned());
    let scheme = match location.and_then(|location| location.protocol().ok()) {
        Some(protocol) if protocol == "https:" => "wss",
        _ => "ws",
    };
    format!("{scheme}://{host}/ws")
}

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn the_pause_doubles_up_to_ten_seconds() {
        let pauses: Vec<u32> = (1..=8).map(backoff_ms).collect();
        assert_eq!(
            pauses,
            [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]
        );
        assert_eq!(backoff_ms(0), 500);
        assert_eq!(backoff_ms(u32::MAX), 10_000);
    }
}
