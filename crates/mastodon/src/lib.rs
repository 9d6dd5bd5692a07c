//! The Mastodon provider for broker.
//!
//! Unlike Pinterest, Mastodon is many authorization servers: every instance
//! is its own, with its own app registration, its own version (and so its
//! own features), and its own accounts. This crate turns what a user types
//! into one canonical [`Instance`], learns what that instance supports
//! ([`discover`]), chooses scopes ([`default_scopes`], [`validate_scopes`],
//! [`covers`]), decides which redirect URIs one registration needs
//! ([`registration_redirect_uris`]), and implements
//! [`broker_core::Provider`] for it ([`Mastodon`]).
//!
//! It never stores anything: the CLI keeps the registration per
//! [`Instance::key`] and hands it back. It never prints either.
//!
//! A typical login, as the CLI runs it:
//!
//! 1. `Instance::parse(input)`, then `discover(&http, &instance)`.
//! 2. Reuse the stored registration when it [`covers`] the scopes, else
//!    `register_client` with [`registration_redirect_uris`] and the union
//!    of scopes ([`union`]).
//! 3. `PendingAuthorization::new(&mastodon, redirect, &scopes, force_login)`
//!    with the loopback listener bound on [`loopback_redirect_template`], or
//!    [`OOB`] and a pasted code; then `complete`.
//! 4. `identity` names the account `mastodon/`[`account_user`].

#![deny(missing_docs)]

mod answers;
mod discovery;
mod instance;
mod provider;
mod redirect;
mod scopes;

pub use discovery::{ServerInfo, discover};
pub use instance::Instance;
pub use provider::Mastodon;
pub use redirect::{
    OOB, loopback_redirect_template, redirect_registered, registration_redirect_uris,
};
pub use scopes::{
    DEFAULT_SCOPES_LEGACY, DEFAULT_SCOPES_MODERN, MASTODON_SCOPES, covers, default_scopes, union,
    validate_scopes, with_identity_scope,
};

/// The user part of a Mastodon account id: `alice@mstdn.jp` (so the whole
/// id is `mastodon/alice@mstdn.jp`). The host is the instance's, with its
/// port when it has one, so two local test servers never share accounts.
pub fn account_user(username: &str, instance: &Instance) -> String {
    format!("{username}@{}", instance.host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_user_names_the_instance() {
        let i = Instance::parse("@alice@MSTDN.jp").unwrap();
        assert_eq!(account_user("alice", &i), "alice@mstdn.jp");
        let i = Instance::parse("127.0.0.1:3000").unwrap();
        assert_eq!(account_user("bob", &i), "bob@127.0.0.1:3000");
    }
}
