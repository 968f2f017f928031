//! One connection for both of the page's wasm modules.
//!
//! The first module (the frame and Compose) owns the WebSocket. The second (every other view,
//! `views::more`) has its own [`super::BridgeProvider`] and state, but no socket: it borrows
//! the first module's through a small object on `window` ([`GLOBAL`]). A second socket would
//! be a second pairing: a stale token would count twice towards the bridge's lockout, and
//! during a lockout the views not yet loaded could not connect at all.
//!
//! The two modules have separate memories, so what crosses is what crosses a socket: the
//! second module's requests as the JSON text they would be sent as, and the bridge's frames as
//! bytes. Its request ids start at [`GUEST_IDS`], so the first module knows which answers to
//! hand over; the welcome and every notice go to both.

use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

/// Where the first module offers its connection.
const GLOBAL: &str = "mailbridgeConnection";

/// The first request id of the second module; the first module's stay below.
pub const GUEST_IDS: u64 = 1 << 40;

/// The first module's side: the second module's listeners, once it has registered.
#[derive(Default)]
pub struct Guest {
    listeners: Option<(Function, Function)>,
}

impl Guest {
    pub fn register(&mut self, on_frame: Function, on_close: Function) {
        self.listeners = Some((on_frame, on_close));
    }

    pub fn frame(&self, bytes: &[u8]) {
        if let Some((on_frame, _)) = &self.listeners {
            let _ = on_frame.call1(&JsValue::NULL, &Uint8Array::from(bytes));
        }
    }

    pub fn closed(&self, code: u16, opened: bool) {
        if let Some((_, on_close)) = &self.listeners {
            let _ = on_close.call2(&JsValue::NULL, &JsValue::from(code), &JsValue::from(opened));
        }
    }
}

/// Puts the first module's connection on `window`: `send(text)` sends one request and says
/// whether it went, `listen(onFrame, onClose)` registers the second module. The closures are
/// kept by the returned value.
pub fn offer(
    send: impl Fn(String) -> bool + 'static,
    listen: impl Fn(Function, Function) + 'static,
) -> Option<Offered> {
    let window = web_sys::window()?;
    let send = Closure::<dyn Fn(String) -> bool>::new(send);
    let listen = Closure::<dyn Fn(Function, Function)>::new(listen);
    let object = js_sys::Object::new();
    Reflect::set(&object, &"send".into(), send.as_ref()).ok()?;
    Reflect::set(&object, &"listen".into(), listen.as_ref()).ok()?;
    Reflect::set(&window, &GLOBAL.into(), &object).ok()?;
    Some(Offered {
        _send: send,
        _listen: listen,
    })
}

/// Keeps the offered closures alive.
pub struct Offered {
    _send: Closure<dyn Fn(String) -> bool>,
    _listen: Closure<dyn Fn(Function, Function)>,
}

/// The second module's side: the first module's `send` and `listen`, with its own listeners.
pub struct Host {
    send: Function,
    listen: Function,
    on_frame: Closure<dyn Fn(Uint8Array)>,
    on_close: Closure<dyn Fn(u16, bool)>,
}

impl Host {
    /// The first module's connection; `None` when the page has none on offer.
    pub fn find(
        on_frame: impl Fn(Vec<u8>) + 'static,
        on_close: impl Fn(u16, bool) + 'static,
    ) -> Option<Host> {
        let window: JsValue = web_sys::window()?.into();
        let offered = Reflect::get(&window, &GLOBAL.into()).ok()?;
        let send: Function = Reflect::get(&offered, &"send".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let listen: Function = Reflect::get(&offered, &"listen".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let on_frame =
            Closure::<dyn Fn(Uint8Array)>::new(move |bytes: Uint8Array| on_frame(bytes.to_vec()));
        let on_close = Closure::<dyn Fn(u16, bool)>::new(on_close);
        Some(Host {
            send,
            listen,
            on_frame,
            on_close,
        })
    }

    /// Registers this module's listeners; the first module may call them before this returns.
    pub fn listen(&self) -> bool {
        self.listen
            .call2(
                &JsValue::NULL,
                self.on_frame.as_ref(),
                self.on_close.as_ref(),
            )
            .is_ok()
    }

    /// Sends one request's text over the first module's socket; `false` when it is not
    /// connected.
    pub fn send(&self, text: &str) -> bool {
        self.send
            .call1(&JsValue::NULL, &JsValue::from_str(text))
            .is_ok_and(|sent| sent.as_bool() == Some(true))
    }
}
