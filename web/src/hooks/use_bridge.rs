//! The app-wide connection to the bridge: [`BridgeProvider`] owns the WebSocket and the
//! [`State`], and [`use_bridge`] hands any component a [`Bridge`] to read the state and send
//! requests.
//!
//! The page sends the `protocol` crate's JSON: `Hello` with the pairing token first, then
//! `Request`s with ids this module hands out; the bridge answers in postcard, in binary frames.
//! The page's second module (the views other than Compose) shares the first module's socket
//! (`shared_socket`): its provider is a [`Role::Guest`]. When the socket closes, the page tries again with
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
    ClientMessage, Encoding, ErrorKind, Operation, OperationError, Outcome, PROTOCOL_VERSION,
    Request, RequestId, Secret, ServerMessage, decode_server_binary, encode,
};
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, PageTransitionEvent, WebSocket};
use yew::prelude::*;

use super::shared_socket::{GUEST_IDS, Guest, Host, Offered, offer};
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
    // The reducer makes a new `State` for every change, so the same one means nothing changed:
    // comparing addresses spares the page a deep comparison of its whole state per render
    // (and the wasm that comparison costs).
    fn eq(&self, other: &Bridge) -> bool {
        std::ptr::eq::<State>(&*self.state, &*other.state) && Rc::ptr_eq(&self.link, &other.link)
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
    /// Whether this provider owns the socket or borrows the first module's.
    #[prop_or_default]
    pub role: Role,
}

/// Who owns the socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Role {
    /// The first module's provider: it opens the socket, pairs, reconnects, and offers the
    /// connection to the second module.
    #[default]
    Host,
    /// The second module's: it sends through the first module's socket and hears what the
    /// first module hands over.
    Guest,
}

/// Owns the connection; everything inside it can call [`use_bridge`].
#[function_component]
pub fn BridgeProvider(props: &BridgeProviderProps) -> Html {
    let role = props.role;
    let token = use_memo((), |()| platform::current().token());
    let state = use_reducer({
        // A guest needs no token of its own.
        let has_token = token.is_some() || role == Role::Guest;
        move || State::new(has_token)
    });
    let link = use_memo((), {
        let dispatch = state.dispatcher();
        let token = (*token).clone();
        move |()| Link::new(dispatch, token, role)
    });
    use_effect_with((), {
        let link = link.clone();
        move |()| {
            if role == Role::Guest {
                link.connect();
                return Box::new(move || link.shutdown()) as Box<dyn FnOnce()>;
            }
            link.offer();
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
            Box::new(move || {
                drop((on_hash, on_hide, on_show));
                link.shutdown();
            })
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
    role: Role,
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
    /// As the host: the connection as offered on `window`, the second module once it has
    /// joined, and the last welcome, for a second module that joins later.
    offered: RefCell<Option<Offered>>,
    guest: RefCell<Guest>,
    last_welcome: RefCell<Option<Vec<u8>>>,
    /// As the guest: the first module's connection.
    host: RefCell<Option<Host>>,
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
    fn new(dispatch: UseReducerDispatcher<State>, token: Option<String>, role: Role) -> Link {
        Link {
            dispatch,
            role,
            url: RefCell::new(socket_url()),
            token: RefCell::new(token),
            socket: RefCell::new(None),
            welcomed: Cell::new(false),
            next_id: Cell::new(if role == Role::Guest { GUEST_IDS } else { 1 }),
            failures: Cell::new(0),
            retry: RefCell::new(None),
            waiters: RefCell::new(BTreeMap::new()),
            private: RefCell::new(BTreeSet::new()),
            offered: RefCell::new(None),
            guest: RefCell::new(Guest::default()),
            last_welcome: RefCell::new(None),
            host: RefCell::new(None),
        }
    }

    /// As the host: offers this connection to the second module.
    fn offer(self: &Rc<Self>) {
        let send = {
            let weak = Rc::downgrade(self);
            move |text: String| weak.upgrade().is_some_and(|link| link.send_text(&text))
        };
        let listen = {
            let weak = Rc::downgrade(self);
            move |on_frame, on_close| {
                let Some(link) = weak.upgrade() else {
                    return;
                };
                link.guest.borrow_mut().register(on_frame, on_close);
                // Joining a connection that is up: the guest hears the welcome it missed.
                if link.welcomed.get()
                    && let Some(welcome) = link.last_welcome.borrow().as_deref()
                {
                    link.guest.borrow().frame(welcome);
                }
            }
        };
        *self.offered.borrow_mut() = offer(send, listen);
    }

    /// As the guest: joins the first module's connection.
    fn join(self: &Rc<Self>) {
        if self.host.borrow().is_some() {
            return;
        }
        self.dispatch.dispatch(Action::Connecting);
        let on_frame = {
            let weak = Rc::downgrade(self);
            move |bytes: Vec<u8>| {
                if let Some(link) = weak.upgrade() {
                    link.received(&bytes);
                }
            }
        };
        let on_close = {
            let weak = Rc::downgrade(self);
            move |code, opened| {
                if let Some(link) = weak.upgrade() {
                    link.on_close(code, opened);
                }
            }
        };
        // Kept before it listens: the first module may hand over its welcome at once, and
        // this module's first requests go out through it.
        *self.host.borrow_mut() = Host::find(on_frame, on_close);
        let joined = self.host.borrow().as_ref().is_some_and(Host::listen);
        if !joined {
            // A page without the first module: nothing to borrow, and nothing to retry.
            self.dispatch.dispatch(Action::Closed {
                code: 1006,
                opened: false,
                retry_in_ms: None,
            });
        }
    }

    /// Sends one message's text: on this module's socket, or the first module's.
    fn send_text(&self, text: &str) -> bool {
        if !self.welcomed.get() {
            return false;
        }
        match self.role {
            Role::Host => self
                .socket
                .borrow()
                .as_ref()
                .is_some_and(|socket| socket.socket.send_with_str(text).is_ok()),
            Role::Guest => self
                .host
                .borrow()
                .as_ref()
                .is_some_and(|host| host.send(text)),
        }
    }

    fn connect(self: &Rc<Self>) {
        if self.role == Role::Guest {
            self.join();
            return;
        }
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
        // The bridge writes to this page in postcard (see `hello`), one message per binary
        // frame, read as an ArrayBuffer.
        socket.set_binary_type(BinaryType::Arraybuffer);
        let on_message = EventListener::new(&socket, "message", {
            let weak = weak.clone();
            move |event| {
                // A text frame is JSON, which the bridge writes only to refuse this page's
                // protocol version; the close (4400) that follows says so.
                let bytes = event
                    .dyn_ref::<MessageEvent>()
                    .map(MessageEvent::data)
                    .filter(|data| data.is_instance_of::<js_sys::ArrayBuffer>())
                    .map(|data| js_sys::Uint8Array::new(&data).to_vec());
                if let (Some(link), Some(bytes)) = (weak.upgrade(), bytes) {
                    link.received(&bytes);
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
            encoding: Encoding::Postcard,
        };
        if let (Ok(text), Some(socket)) = (encode(&hello), self.socket.borrow().as_ref()) {
            let _ = socket.socket.send_with_str(&text);
        }
    }

    fn received(self: &Rc<Self>, bytes: &[u8]) {
        let message = match decode_server_binary(bytes) {
            Ok(message) => message,
            Err(error) => {
                self.dispatch
                    .dispatch(Action::Unreadable(error.to_string()));
                return;
            }
        };
        if self.role == Role::Host {
            match &message {
                // The second module's answers are its own.
                ServerMessage::Done { id, .. }
                | ServerMessage::Progress { id, .. }
                | ServerMessage::Failed { id: Some(id), .. }
                    if id.0 >= GUEST_IDS =>
                {
                    self.guest.borrow().frame(bytes);
                    return;
                }
                _ => {}
            }
        }
        let welcome = matches!(message, ServerMessage::Welcome { .. });
        if welcome {
            self.welcomed.set(true);
            self.failures.set(0);
            crate::mark("mailbridge:connected");
        }
        // The guest hears the welcome once this module can send for it, and every notice.
        if self.role == Role::Host && (welcome || matches!(message, ServerMessage::Notice { .. })) {
            if welcome {
                *self.last_welcome.borrow_mut() = Some(bytes.to_vec());
            }
            self.guest.borrow().frame(bytes);
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
        if self.role == Role::Host {
            self.last_welcome.borrow_mut().take();
            self.guest.borrow().closed(code, opened);
        }
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
        // The guest's host does the retrying.
        if code == CLOSE_PAIRING_FAILED
            || code == CLOSE_VERSION_MISMATCH
            || self.role == Role::Guest
        {
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
        let sent = encode(&message).is_ok_and(|text| self.send_text(&text));
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
        self.offered.borrow_mut().take();
        self.host.borrow_mut().take();
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
