//! Accounts: tokens from a provider in, tokens for a script out. Glues the
//! providers (which know nothing of storage) to the store (which knows
//! nothing of OAuth).
//!
//! Order of writes, chosen so that a kill at any point leaves a usable
//! account (the old tokens or the new ones, never neither):
//! 1. the new refresh token, when the provider rotated it: the old one is
//!    already spent at the provider, so this is the only copy that counts;
//! 2. the new access token;
//! 3. the index (expiry, scopes).
//!
//! A kill between 1 and 2 leaves the new refresh token with the old access
//! token, which is still valid: we refresh ahead of expiry (see
//! [`REFRESH_SKEW`]), and the index still carries the old expiry, so the
//! next run refreshes again with the new refresh token. A kill before 1 after
//! the provider answered loses the new refresh token; the old access token
//! still works until its expiry, and the old refresh token is spent, which
//! is why the provider's answer is written before anything else is done.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use broker_core::{AccessToken, Identity, Provider, RefreshToken, TokenSet};
use broker_store::{
    AccountLock, AccountRecord, ExposeSecret, Index, SecretKey, SecretStore, SecretString,
    StoreKind,
};

use crate::settings::Settings;
use crate::ui::Ui;

/// Refresh this long before the access token expires, so that the token we
/// print lives long enough for the request it is printed for.
pub(crate) const REFRESH_SKEW: Duration = Duration::from_secs(300);

/// How long to wait for another broker process that holds an account's lock.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(60);

pub(crate) fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub(crate) fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Opens the store named by `kind`.
pub(crate) fn store_for(settings: &Settings, kind: StoreKind) -> Box<dyn SecretStore> {
    broker_store::open_kind(
        kind,
        &settings.home,
        &settings.keyring_service,
        settings.keyring_timeout,
    )
}

/// Updates the index under its lock (another process may be updating it
/// for another account): load, change, save.
pub(crate) fn update_index<T>(
    settings: &Settings,
    change: impl FnOnce(&mut Index) -> T,
) -> Result<T> {
    settings.home.ensure()?;
    Ok(Index::update(&settings.home, change)?)
}

/// Stores a fresh login and returns its record.
pub(crate) fn save_login(
    settings: &Settings,
    ui: &Ui,
    provider: &dyn Provider,
    account_id: String,
    identity: &Identity,
    tokens: &TokenSet,
    extra: std::collections::BTreeMap<String, String>,
) -> Result<AccountRecord> {
    settings.home.ensure()?;
    let (store, warning) = broker_store::open_for_write(
        settings.store,
        &settings.home,
        &settings.keyring_service,
        settings.keyring_timeout,
    )?;
    if let Some(w) = warning {
        ui.warn(w);
    }
    let _lock = AccountLock::acquire(&settings.home, &account_id, LOCK_WAIT)?;
    let previous = Index::load(&settings.home)?.account(&account_id).cloned();
    write_tokens(store.as_ref(), &account_id, tokens, true)?;
    let record = AccountRecord {
        id: account_id.clone(),
        provider: provider.id().to_string(),
        instance: provider.instance().to_string(),
        username: identity.username.clone(),
        scopes: tokens.scopes.clone(),
        token_type: tokens.token_type.clone(),
        expires_at: tokens.expires_at.map(unix),
        refresh_expires_at: tokens.refresh_expires_at.map(unix),
        has_refresh_token: tokens.refresh_token.is_some(),
        store: store.kind(),
        updated_at: unix(SystemTime::now()),
        extra,
    };
    update_index(settings, |index| index.upsert_account(record.clone()))?;
    // A login that moved the account to another store leaves nothing behind.
    if let Some(old) = previous.filter(|p| p.store != record.store) {
        let old_store = store_for(settings, old.store);
        let _ = old_store.delete(&SecretKey::Access(account_id.clone()));
        let _ = old_store.delete(&SecretKey::Refresh(account_id.clone()));
    }
    Ok(record)
}

/// Writes tokens in the crash-safe order. On a refresh without a new
/// refresh token the old one stays (RFC 6749 §6).
fn write_tokens(
    store: &dyn SecretStore,
    id: &str,
    tokens: &TokenSet,
    fresh_login: bool,
) -> Result<()> {
    match &tokens.refresh_token {
        Some(r) => store.set(&SecretKey::Refresh(id.to_string()), &secret(r.secret()))?,
        None if fresh_login => store.delete(&SecretKey::Refresh(id.to_string()))?,
        None => {}
    }
    store.set(
        &SecretKey::Access(id.to_string()),
        &secret(tokens.access_token.secret()),
    )?;
    Ok(())
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

/// Reads an account's tokens from where the index says they are.
pub(crate) fn load_tokens(settings: &Settings, rec: &AccountRecord) -> Result<TokenSet> {
    let store = store_for(settings, rec.store);
    let access = store
        .get(&SecretKey::Access(rec.id.clone()))?
        .ok_or_else(|| {
            needs_login(
                rec,
                &format!("its access token is missing from the {}", store.describe()),
            )
        })?;
    let refresh = if rec.has_refresh_token {
        store.get(&SecretKey::Refresh(rec.id.clone()))?
    } else {
        None
    };
    Ok(TokenSet {
        access_token: AccessToken::new(access.expose_secret().to_string()),
        refresh_token: refresh.map(|r| RefreshToken::new(r.expose_secret().to_string())),
        token_type: rec.token_type.clone(),
        scopes: rec.scopes.clone(),
        expires_at: rec.expires_at.map(from_unix),
        refresh_expires_at: rec.refresh_expires_at.map(from_unix),
    })
}

/// Reads only the access token: the fast path of `broker token`.
pub(crate) fn load_access(settings: &Settings, rec: &AccountRecord) -> Result<SecretString> {
    let store = store_for(settings, rec.store);
    store
        .get(&SecretKey::Access(rec.id.clone()))?
        .ok_or_else(|| {
            needs_login(
                rec,
                &format!("its access token is missing from the {}", store.describe()),
            )
        })
}

/// Whether the record says the access token must be refreshed now.
pub(crate) fn is_expiring(rec: &AccountRecord, now: SystemTime) -> bool {
    rec.expires_at
        .is_some_and(|at| from_unix(at) <= now + REFRESH_SKEW)
}

/// Refreshes under the account's lock. Another process may have refreshed
/// while we waited for the lock: then its result is used and no request is
/// made (`force` skips that check for `broker refresh`).
pub(crate) async fn refresh_locked(
    settings: &Settings,
    provider: &dyn Provider,
    http: &broker_core::HttpClient,
    account_id: &str,
    force: bool,
) -> Result<(AccountRecord, SecretString)> {
    let home = settings.home.clone();
    let name = account_id.to_string();
    // Waiting for the lock blocks; keep it off the async workers.
    let lock = tokio::task::spawn_blocking(move || AccountLock::acquire(&home, &name, LOCK_WAIT))
        .await
        .context("the lock task failed")??;
    let index = Index::load(&settings.home)?;
    let rec = index
        .account(account_id)
        .cloned()
        .with_context(|| format!("the account {account_id} was removed while waiting"))?;
    if !force && !is_expiring(&rec, SystemTime::now()) {
        let access = load_access(settings, &rec)?;
        drop(lock);
        return Ok((rec, access));
    }
    let current = load_tokens(settings, &rec)?;
    let Some(refresh_token) = current.refresh_token.clone() else {
        return Err(needs_login(&rec, "it has no refresh token"));
    };
    let fresh = provider.refresh(http, &refresh_token).await.map_err(|e| {
        let needs = e.class() == broker_core::ErrorClass::NeedsLogin;
        let err = anyhow::Error::new(e);
        if needs {
            err.context(NeedsLogin(format!(
                "the refresh token of {} was refused; run `{}`",
                rec.id,
                login_command(&rec)
            )))
        } else {
            err
        }
    })?;
    let store = store_for(settings, rec.store);
    write_tokens(store.as_ref(), &rec.id, &fresh, false)?;
    let mut updated = rec.clone();
    updated.expires_at = fresh.expires_at.map(unix);
    if fresh.refresh_token.is_some() {
        updated.refresh_expires_at = fresh
            .refresh_expires_at
            .map(unix)
            .or(rec.refresh_expires_at);
    }
    if !fresh.scopes.is_empty() {
        updated.scopes = fresh.scopes.clone();
    }
    updated.updated_at = unix(SystemTime::now());
    let saved = updated.clone();
    update_index(settings, move |index| index.upsert_account(saved))?;
    drop(lock);
    Ok((updated, secret(fresh.access_token.secret())))
}

/// The command that logs this account in again.
pub(crate) fn login_command(rec: &AccountRecord) -> String {
    match rec.provider.as_str() {
        "pinterest-v3" => "broker login pinterest --api v3".to_string(),
        "mastodon" => {
            let host = url::Url::parse(&rec.instance)
                .ok()
                .and_then(|u| {
                    u.host_str().map(|h| match u.port() {
                        Some(p) => format!("{h}:{p}"),
                        None => h.to_string(),
                    })
                })
                .unwrap_or_else(|| rec.instance.clone());
            format!("broker login mastodon --instance {host}")
        }
        other => format!("broker login {other}"),
    }
}

/// The account must be logged in again: exit code 3.
#[derive(Debug)]
pub(crate) struct NeedsLogin(pub(crate) String);

impl std::fmt::Display for NeedsLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NeedsLogin {}

pub(crate) fn needs_login(rec: &AccountRecord, why: &str) -> anyhow::Error {
    anyhow::Error::new(NeedsLogin(format!(
        "{} needs a new login: {why}; run `{}`",
        rec.id,
        login_command(rec)
    )))
}
