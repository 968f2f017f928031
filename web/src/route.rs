//! The views the address bar can name, as hash routes: `#/compose` (the default), `#/outbox`,
//! `#/campaigns`, `#/inbox`, `#/history`, `#/profiles` and `#/mailboxes`.
//!
//! A route lives in the fragment, so the bridge serves one page for all of them and a reload or
//! Back keeps the view. Parsing is plain Rust with no browser calls, so its tests run natively;
//! `hooks::use_route` reads the address and follows its changes.

/// One view of the app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Route {
    #[default]
    Compose,
    Outbox,
    Campaigns,
    Inbox,
    History,
    Profiles,
    Mailboxes,
}

impl Route {
    /// In the order the navigation lists them.
    pub const ALL: [Route; 7] = [
        Route::Compose,
        Route::Outbox,
        Route::Campaigns,
        Route::Inbox,
        Route::History,
        Route::Profiles,
        Route::Mailboxes,
    ];

    /// The route a fragment names (`#/outbox`, with or without the `#`). An empty fragment and
    /// an unknown `#/...` name Compose. `None` for a fragment that is no route, such as
    /// `#pair=TOKEN`, which belongs to `pairing` and leaves the address as soon as it is read.
    pub fn parse(fragment: &str) -> Option<Route> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        if fragment.is_empty() {
            return Some(Route::Compose);
        }
        let path = fragment.strip_prefix('/')?;
        // `#/outbox?state=failed` or `#/outbox/` still name the Outbox.
        let name = path.split(['/', '?', '&']).next().unwrap_or_default();
        Some(
            Route::ALL
                .into_iter()
                .find(|route| route.name() == name)
                .unwrap_or_default(),
        )
    }

    /// The name in the address: `outbox` in `#/outbox`.
    pub fn name(self) -> &'static str {
        match self {
            Route::Compose => "compose",
            Route::Outbox => "outbox",
            Route::Campaigns => "campaigns",
            Route::Inbox => "inbox",
            Route::History => "history",
            Route::Profiles => "profiles",
            Route::Mailboxes => "mailboxes",
        }
    }

    /// The fragment for links: `#/outbox`.
    pub fn hash(self) -> &'static str {
        match self {
            Route::Compose => "#/compose",
            Route::Outbox => "#/outbox",
            Route::Campaigns => "#/campaigns",
            Route::Inbox => "#/inbox",
            Route::History => "#/history",
            Route::Profiles => "#/profiles",
            Route::Mailboxes => "#/mailboxes",
        }
    }

    /// The words in the navigation.
    pub fn label(self) -> &'static str {
        match self {
            Route::Compose => "Compose",
            Route::Outbox => "Outbox",
            Route::Campaigns => "Campaigns",
            Route::Inbox => "Inbox",
            Route::History => "History",
            Route::Profiles => "Profiles",
            Route::Mailboxes => "Mailboxes",
        }
    }

    /// The view's `<h2>` (focusable with `tabindex="-1"`), where focus goes when the view opens
    /// and where the skip link leads.
    pub fn heading_id(self) -> &'static str {
        match self {
            Route::Compose => "compose-heading",
            Route::Outbox => "outbox-heading",
            Route::Campaigns => "campaigns-heading",
            Route::Inbox => "inbox-heading",
            Route::History => "history-heading",
            Route::Profiles => "profiles-heading",
            Route::Mailboxes => "mailboxes-heading",
        }
    }

    /// The document's title while the view shows, so tabs and history entries say which one.
    pub fn title(self) -> &'static str {
        match self {
            Route::Compose => "Compose · mailbridge",
            Route::Outbox => "Outbox · mailbridge",
            Route::Campaigns => "Campaigns · mailbridge",
            Route::Inbox => "Sandbox inbox · mailbridge",
            Route::History => "History · mailbridge",
            Route::Profiles => "Profiles · mailbridge",
            Route::Mailboxes => "Mailboxes · mailbridge",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn fragments_name_views() {
        let cases = [
            ("#/outbox", Some(Route::Outbox)),
            ("#/compose", Some(Route::Compose)),
            ("#/inbox", Some(Route::Inbox)),
            ("#/history", Some(Route::History)),
            ("#/profiles", Some(Route::Profiles)),
            ("#/mailboxes", Some(Route::Mailboxes)),
            ("#/campaigns", Some(Route::Campaigns)),
            ("campaigns", None),
            ("/campaigns", Some(Route::Campaigns)),
            ("#/campaigns/", Some(Route::Campaigns)),
            ("#/campaigns?id=3", Some(Route::Campaigns)),
            ("#/Campaigns", Some(Route::Compose)),
            ("#/campaign", Some(Route::Compose)),
            ("/outbox", Some(Route::Outbox)),
            ("#/outbox/", Some(Route::Outbox)),
            ("#/outbox?state=failed", Some(Route::Outbox)),
            ("", Some(Route::Compose)),
            ("#", Some(Route::Compose)),
            ("#/", Some(Route::Compose)),
            ("#/nowhere", Some(Route::Compose)),
            ("#/Outbox", Some(Route::Compose)),
            ("#pair=q6fX3yR5-uW8_zB1", None),
            ("#pair=abc&bridge=127.0.0.1:4590", None),
            ("#bridge=127.0.0.1:4590&pair=abc", None),
            ("#compose-heading", None),
        ];
        for (fragment, expected) in cases {
            assert_eq!(Route::parse(fragment), expected, "{fragment:?}");
        }
    }

    #[test]
    fn every_route_reads_back_from_its_own_link() {
        for route in Route::ALL {
            assert_eq!(Route::parse(route.hash()), Some(route), "{route:?}");
            assert_eq!(route.hash(), format!("#/{}", route.name()));
        }
    }
}
