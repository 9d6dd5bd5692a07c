//! Whether a browser can open here, and opening it.

use crate::env;

/// A browser can open when `BROWSER` is set, or, without it, when there is
/// a display and the session is not over SSH (the contract's rule; the
/// `webbrowser` crate would otherwise block on a text browser or fail late).
pub(crate) fn can_open() -> bool {
    if env::var(env::BROWSER).is_some() {
        return true;
    }
    if env::var(env::SSH_CONNECTION).is_some() || env::var(env::SSH_TTY).is_some() {
        return false;
    }
    if cfg!(any(target_os = "macos", target_os = "windows")) {
        return true;
    }
    env::var(env::DISPLAY).is_some() || env::var(env::WAYLAND_DISPLAY).is_some()
}

/// Opens `url` in the system browser (honouring `BROWSER`). The command is
/// run directly, never through a shell, so the URL cannot inject anything.
pub(crate) fn open(url: &url::Url) -> std::io::Result<()> {
    webbrowser::open(url.as_str())
}
