//! The bridge's logs: `RUST_LOG` chooses what to show (warnings by default), and one fixed rule
//! sits on top of it. The WebSocket library logs whole frames at DEBUG and TRACE, and a frame can
//! carry a secret on its way to the secret store; async-imap logs every command it encodes
//! (LOGIN with its password) and every response it decodes (messages) at TRACE. So those crates
//! never log below INFO, whatever `RUST_LOG` says; the IMAP client's own redacted transcript
//! logs under `mailbridge::imap` instead.

use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Crates that log message contents when verbose.
const CONTENT_LOGGERS: [&str; 4] = [
    "tungstenite",
    "tokio_tungstenite",
    "async_imap",
    "imap_proto",
];

/// Logs to standard error, as `RUST_LOG` says, within the rule above.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // `try_init` also routes the `log` records of dependencies through the same rule.
    let _ = tracing_subscriber::registry()
        .with(layer(std::io::stderr, filter))
        .try_init();
}

/// The bridge's log layer writing to `writer`; tests use it to read what the bridge would log.
pub fn layer<S, W>(writer: W, filter: EnvFilter) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(filter.and(filter_fn(may_log)))
}

fn may_log(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    let content_logger = CONTENT_LOGGERS.iter().any(|name| {
        target == *name
            || target
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with("::"))
    });
    !content_logger || *metadata.level() <= Level::INFO
}

#[cfg(test)]
mod tests {
    use tracing::{Level, Metadata};

    #[test]
    fn content_loggers_stay_at_info_or_above() {
        struct Case(&'static str, Level, bool);
        let cases = [
            Case("tungstenite::protocol", Level::TRACE, false),
            Case("tungstenite", Level::DEBUG, false),
            Case("tokio_tungstenite::compat", Level::TRACE, false),
            Case("tungstenite::protocol", Level::INFO, true),
            Case("tungstenite::protocol", Level::WARN, true),
            Case("mailbridge::ops", Level::TRACE, true),
            Case("tungstenite_extra", Level::TRACE, true),
            Case("async_imap::imap_stream", Level::TRACE, false),
            Case("async_imap", Level::DEBUG, false),
            Case("mailbridge::imap", Level::TRACE, true),
        ];
        for Case(target, level, expected) in cases {
            let metadata = metadata(target, level);
            assert_eq!(super::may_log(&metadata), expected, "{target} at {level}");
        }
    }

    fn metadata(target: &'static str, level: Level) -> Metadata<'static> {
        // Metadata needs a callsite; a leaked one is fine in a test.
        struct Callsite;
        impl tracing::callsite::Callsite for Callsite {
            fn set_interest(&self, _: tracing::subscriber::Interest) {}
            fn metadata(&self) -> &Metadata<'_> {
                unreachable!("not registered")
            }
        }
        static CALLSITE: Callsite = Callsite;
        Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            tracing::field::FieldSet::new(&[], tracing::callsite::Identifier(&CALLSITE)),
            tracing::metadata::Kind::EVENT,
        )
    }
}
