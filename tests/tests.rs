//! End-to-end tests: the real `broker` binary against the sandbox provider on
//! 127.0.0.1. Each test gets its own sandbox, BROKER_HOME, HOME and XDG
//! folders, so nothing touches the machine's real accounts or keyring.

mod util;

mod browser;
mod concurrency;
mod demo;
mod keyring;
mod login;
mod mastodon;
mod pinterest;
mod tokens;
