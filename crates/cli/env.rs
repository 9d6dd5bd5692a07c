//! Every environment variable broker reads, in one place.

/// One folder for everything broker writes.
pub(crate) const BROKER_HOME: &str = "BROKER_HOME";
/// The keyring service name (default `broker`); tests use a random one.
pub(crate) const BROKER_KEYRING_SERVICE: &str = "BROKER_KEYRING_SERVICE";
/// Seconds to wait for the keyring before giving up (default 5).
pub(crate) const BROKER_KEYRING_TIMEOUT: &str = "BROKER_KEYRING_TIMEOUT";
/// Pinterest app id (the name Pinterest's quickstart uses).
pub(crate) const PINTEREST_APP_ID: &str = "PINTEREST_APP_ID";
/// Pinterest app secret (the name Pinterest's quickstart uses).
pub(crate) const PINTEREST_APP_SECRET: &str = "PINTEREST_APP_SECRET";
/// The browser command; its presence means a browser can open.
pub(crate) const BROWSER: &str = "BROWSER";
/// X11 display.
pub(crate) const DISPLAY: &str = "DISPLAY";
/// Wayland display.
pub(crate) const WAYLAND_DISPLAY: &str = "WAYLAND_DISPLAY";
/// Set by sshd: no local browser.
pub(crate) const SSH_CONNECTION: &str = "SSH_CONNECTION";
/// Set by sshd: no local browser.
pub(crate) const SSH_TTY: &str = "SSH_TTY";

/// A variable's value, if set and not empty.
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}
