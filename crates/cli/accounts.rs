//! Accounts: tokens from a provider in, tokens for a script out. Glues the
//! providers (which know nothing of storage) to the store (which knows
//! nothing of OAuth).
//!
//! Order of writes on a refresh, under the account's lock:
//! 1. the new refresh token, when the provider rotated it: the old one is
//!    spent at the provider, so this is the only copy that counts;
//! 2. the new access token;
//! 3. the index (expiry, scopes).
//!
//! What a kill leaves, by moment:
//! - before the request reaches the provider, or while the provider has not
//!   processed it: nothing changed; the next run refreshes normally;
//! - between 1 and 2: the new refresh token and the old access token, still
//!   valid (we refresh ahead of expiry, see [`REFRESH_SKEW`]); the index
//!   still has the old expiry, so the next run refreshes again, with the
//!   new refresh token;
//! - after 2: the new tokens; the next run may refresh once more;
//! - after the provider rotated but before 1 (the answer was lost, or the
//!   process died while reading it): the new refresh token never reached
//!   us and the old one is spent. No client can close this window (RFC 6749
//!   gives no way to fetch the answer again), and Pinterest revokes the
//!   whole grant when a spent refresh token is reused. The next run says so
//!   (exit 3, "run broker login ...") instead of retrying blindly.
//!
//! If the store refuses the write in step 1 or 2 (a keyring that stopped
//! answering), the refreshed tokens go to the 0600 file store instead and
//! the index follows them, since the old refresh token is already spent.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use broker_core::{AccessToken, ClientSecret, Identity, Provider, RefreshToken, TokenSet};
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

/// Opens the store new secrets go to, before a login starts: a store that
/// cannot be used must fail the login before the user consents and a code
/// is spent, and the `auto` fallback warning must be said once.
pub(crate) fn open_write_store(settings: &Settings, ui: &Ui) -> Result<Box<dyn SecretStore>> {
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
    Ok(store)
}

/// What a login produced, ready to be stored.
pub(crate) struct NewAccount<'a> {
    pub(crate) id: String,
    pub(crate) identity: &'a Identity,
    pub(crate) tokens: &'a TokenSet,
    /// Non-secret extras (the app id a Pinterest token belongs to, ...).
    pub(crate) extra: std::collections::BTreeMap<String, String>,
    /// The client secret needed to refresh this account later (Pinterest's
    /// app secret), kept beside its tokens so that a script refreshing from
    /// cron needs no credentials in its environment.
    pub(crate) app_secret: Option<&'a ClientSecret>,
}

/// Stores a fresh login and returns its record.
pub(crate) fn save_login(
    settings: &Settings,
    store: &dyn SecretStore,
    provider: &dyn Provider,
    new: NewAccount<'_>,
) -> Result<AccountRecord> {
    let account_id = new.id;
    let _lock = AccountLock::acquire(&settings.home, &account_id, LOCK_WAIT)?;
    let previous = Index::load(&settings.home)?.account(&account_id).cloned();
    if let Some(app_secret) = new.app_secret {
        store.set(
            &SecretKey::ClientSecret(account_id.clone()),
            &secret(app_secret.secret()),
        )?;
    }
    write_tokens(store, &account_id, new.tokens, true)?;
    let record = AccountRecord {
        id: account_id.clone(),
        provider: provider.id().to_string(),
        instance: provider.instance().to_string(),
        username: new.identity.username.clone(),
        scopes: new.tokens.scopes.clone(),
        token_type: new.tokens.token_type.clone(),
        expires_at: new.tokens.expires_at.map(unix),
        refresh_expires_at: new.tokens.refresh_expires_at.map(unix),
        has_refresh_token: new.tokens.refresh_token.is_some(),
        store: store.kind(),
        updated_at: unix(SystemTime::now()),
        extra: new.extra,
    };
    update_index(settings, |index| index.upsert_account(record.clone()))?;
    // A login that moved the account to another store leaves nothing behind.
    if let Some(old) = previous.filter(|p| p.store != record.store) {
        forget_secrets(store_for(settings, old.store).as_ref(), &account_id);
    }
    Ok(record)
}

/// Deletes every secret of an account from one store, best effort.
pub(crate) fn forget_secrets(store: &dyn SecretStore, id: &str) {
    for key in [
        SecretKey::Access(id.to_string()),
        SecretKey::Refresh(id.to_string()),
        SecretKey::ClientSecret(id.to_string()),
    ] {
        let _ = store.delete(&key);
    }
}

/// The app secret stored with an account at login, looked up in the
/// account's store first, then the other one (a refresh may have moved the
/// tokens to the file store while the keyring was down).
pub(crate) fn stored_app_secret(
    settings: &Settings,
    rec: &AccountRecord,
) -> Result<Option<SecretString>> {
    let key = SecretKey::ClientSecret(rec.id.clone());
    if let Some(s) = store_for(settings, rec.store).get(&key)? {
        return Ok(Some(s));
    }
    let other = match rec.store {
        StoreKind::Keyring => StoreKind::File,
        StoreKind::File => StoreKind::Keyring,
    };
    Ok(store_for(settings, other).get(&key).ok().flatten())
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
    ui: &Ui,
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
    let renewal = match current.refresh_token.clone() {
        Some(refresh_token) => provider.refresh(http, &refresh_token).await,
        // An app-only token is renewed by asking again; no person needed.
        None if is_app_only(&rec) => provider.client_credentials(http, &rec.scopes).await,
        None => return Err(needs_login(&rec, "it has no refresh token")),
    };
    let fresh = renewal.map_err(|e| {
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
    let mut updated = rec.clone();
    let store = store_for(settings, rec.store);
    if let Err(e) = write_tokens(store.as_ref(), &rec.id, &fresh, false) {
        // The old refresh token is spent: the new one must land somewhere.
        // A keyring that stopped answering gets the 0600 file instead.
        if rec.store != StoreKind::Keyring {
            return Err(e);
        }
        let file = store_for(settings, StoreKind::File);
        // The file must hold a refresh token even when this refresh did not
        // rotate it, since the index will now point there.
        let mut rescued = fresh.clone();
        rescued.refresh_token = fresh
            .refresh_token
            .clone()
            .or(current.refresh_token.clone());
        write_tokens(file.as_ref(), &rec.id, &rescued, false)?;
        ui.warn(format!(
            "could not write the refreshed tokens of {} to the keyring ({e:#}); they were saved in {} instead",
            rec.id,
            file.describe()
        ));
        updated.store = StoreKind::File;
    }
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
    // A logout may have removed the account meanwhile: do not bring it back.
    update_index(settings, move |index| {
        if index.account(&saved.id).is_some() {
            index.upsert_account(saved);
        }
    })?;
    drop(lock);
    Ok((updated, secret(fresh.access_token.secret())))
}

/// Whether the account holds an app-only (client-credentials) token, which
/// is renewed by the same grant rather than a refresh token.
pub(crate) fn is_app_only(rec: &AccountRecord) -> bool {
    rec.extra
        .get("grant")
        .is_some_and(|g| g == "client_credentials")
}

/// Whether broker can get a new access token without a person: with a
/// refresh token, or by the client-credentials grant.
pub(crate) fn can_renew(rec: &AccountRecord) -> bool {
    rec.has_refresh_token || is_app_only(rec)
}

/// The command that logs this account in again.
pub(crate) fn login_command(rec: &AccountRecord) -> String {
    match rec.provider.as_str() {
        "pinterest-v3" => "broker login pinterest --api v3".to_string(),
        "pinterest"
            if rec
                .extra
                .get("grant")
                .is_some_and(|g| g == "client_credentials") =>
        {
            "broker login pinterest --client-credentials".to_string()
        }
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
