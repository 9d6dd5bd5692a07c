//! The commands that read accounts: token, list, status, whoami, refresh,
//! logout.

use std::time::SystemTime;

use anyhow::{Result, bail};
use broker_core::HttpClient;
use broker_store::{AccountLock, AccountRecord, ExposeSecret, Index, SelectError};
use serde_json::{Value, json};

use crate::accounts::{self, from_unix, is_expiring, load_access, needs_login, refresh_locked};
use crate::settings::{Settings, UsageError};
use crate::ui::{Ui, print_stdout};
use crate::{http_client, providers, runtime};

/// Finds the account a selector names; unknown means "log in first" (exit 3),
/// ambiguous is a usage error (exit 2).
pub(crate) fn resolve(index: &Index, selector: &str) -> Result<AccountRecord> {
    match index.resolve(selector) {
        Ok(rec) => Ok(rec.clone()),
        Err(e @ SelectError::Ambiguous { .. }) => Err(UsageError(e.to_string()).into()),
        Err(e) => Err(accounts::NeedsLogin(e.to_string()).into()),
    }
}

/// `broker token`: index, one secret, expiry check, print. No async runtime
/// and no HTTP client unless a refresh is due.
pub(crate) fn token(settings: &Settings, ui: &Ui, selector: &str) -> Result<()> {
    let index = Index::load(&settings.home)?;
    let rec = resolve(&index, selector)?;
    let now = SystemTime::now();
    if !is_expiring(&rec, now) {
        let access = load_access(settings, &rec)?;
        print_stdout(access.expose_secret())?;
        return Ok(());
    }
    if !accounts::can_renew(&rec) {
        return Err(needs_login(
            &rec,
            "its access token has expired and there is no refresh token",
        ));
    }
    let refreshed = runtime()?.block_on(async {
        let http = http_client()?;
        let provider = providers::for_account(settings, &rec, &http).await?;
        let (_, access) =
            refresh_locked(settings, ui, provider.as_ref(), &http, &rec.id, false).await?;
        anyhow::Ok(access)
    });
    let access = match refreshed {
        Ok(access) => access,
        // The refresh failed (provider unreachable, a lock held too long,
        // ...) but the token we have still works for a while: hand it out
        // rather than break the script, and say why on stderr. A refusal by
        // the provider is not papered over: it may have revoked everything,
        // and the user must log in.
        Err(e)
            if !matches!(crate::exit_code(&e), 3 | 4)
                && rec
                    .expires_at
                    .is_some_and(|at| from_unix(at) > now + STILL_USABLE) =>
        {
            ui.warn(format!(
                "could not refresh {} ({e:#}); printing the current token, valid until {}",
                rec.id,
                when(rec.expires_at)
            ));
            load_access(settings, &rec)?
        }
        Err(e) => return Err(e),
    };
    print_stdout(access.expose_secret())?;
    Ok(())
}

/// A token with less life than this left is not handed out when a refresh
/// fails: the request it is printed for would fail anyway.
const STILL_USABLE: std::time::Duration = std::time::Duration::from_secs(30);

/// `broker refresh`: refresh now, whatever the expiry says.
pub(crate) fn refresh(settings: &Settings, ui: &Ui, selector: &str) -> Result<()> {
    let index = Index::load(&settings.home)?;
    let rec = resolve(&index, selector)?;
    if !accounts::can_renew(&rec) {
        bail!(UsageError(format!(
            "{} has no refresh token (the provider does not issue them); `broker token {}` keeps working until the token is revoked",
            rec.id, rec.id
        )));
    }
    let rec = runtime()?.block_on(async {
        let http = http_client()?;
        let provider = providers::for_account(settings, &rec, &http).await?;
        let (rec, _) =
            refresh_locked(settings, ui, provider.as_ref(), &http, &rec.id, true).await?;
        anyhow::Ok(rec)
    })?;
    ui.info(format!(
        "Refreshed {} (expires {})",
        rec.id,
        when(rec.expires_at)
    ));
    Ok(())
}

/// `broker list`.
pub(crate) fn list(settings: &Settings, json: bool) -> Result<()> {
    let index = Index::load(&settings.home)?;
    if json {
        let accounts: Vec<Value> = index.accounts.iter().map(account_json).collect();
        print_stdout(&serde_json::to_string_pretty(
            &json!({ "accounts": accounts }),
        )?)?;
        return Ok(());
    }
    if index.accounts.is_empty() {
        eprintln!(
            "No accounts yet. Log in with `broker login pinterest` or `broker login mastodon --instance HOST`."
        );
        return Ok(());
    }
    let mut lines = vec![format!(
        "{:<40} {:<8} {:<25} SCOPES",
        "ACCOUNT", "STORE", "EXPIRES"
    )];
    for rec in &index.accounts {
        lines.push(format!(
            "{:<40} {:<8} {:<25} {}",
            rec.id,
            store_name(rec),
            when(rec.expires_at),
            rec.scopes.join(",")
        ));
    }
    print_stdout(&lines.join("\n"))?;
    Ok(())
}

/// `broker status`: list plus a live identity check per account.
pub(crate) fn status(
    settings: &Settings,
    ui: &Ui,
    selector: Option<&str>,
    json: bool,
) -> Result<()> {
    let index = Index::load(&settings.home)?;
    let records: Vec<AccountRecord> = match selector {
        Some(s) => vec![resolve(&index, s)?],
        None => index.accounts.clone(),
    };
    let results = runtime()?.block_on(async {
        let http = http_client()?;
        let mut out = Vec::new();
        for rec in &records {
            out.push((rec.clone(), live_check(settings, ui, rec, &http).await));
        }
        anyhow::Ok(out)
    })?;
    if json {
        let accounts: Vec<Value> = results
            .iter()
            .map(|(rec, r)| {
                let mut v = account_json(rec);
                v["live"] = match r {
                    Ok(user) => json!({ "ok": true, "username": user }),
                    Err(e) => json!({ "ok": false, "error": format!("{e:#}") }),
                };
                v
            })
            .collect();
        print_stdout(&serde_json::to_string_pretty(
            &json!({ "accounts": accounts }),
        )?)?;
    } else {
        if results.is_empty() {
            eprintln!("No accounts yet.");
        }
        for (rec, r) in &results {
            let line = match r {
                Ok(user) => format!(
                    "{}: ok, token works for {user} ({}, expires {})",
                    rec.id,
                    store_name(rec),
                    when(rec.expires_at)
                ),
                Err(e) => format!("{}: FAILED: {e:#}", rec.id),
            };
            print_stdout(&line)?;
        }
    }
    // Scripts read `--json`; without it the exit code says what the first
    // failure was (needs login, unavailable, ...).
    match results
        .into_iter()
        .find_map(|(rec, r)| r.err().map(|e| (rec, e)))
    {
        Some((rec, e)) if !json => Err(e.context(format!("the live check of {} failed", rec.id))),
        _ => Ok(()),
    }
}

/// Uses the stored token (refreshed first when due) to ask who it belongs to.
async fn live_check(
    settings: &Settings,
    ui: &Ui,
    rec: &AccountRecord,
    http: &HttpClient,
) -> Result<String> {
    let provider = providers::for_account(settings, rec, http).await?;
    let access = if is_expiring(rec, SystemTime::now()) && accounts::can_renew(rec) {
        refresh_locked(settings, ui, provider.as_ref(), http, &rec.id, false)
            .await?
            .1
    } else {
        load_access(settings, rec)?
    };
    let token = broker_core::AccessToken::new(access.expose_secret().to_string());
    Ok(provider.identity(http, &token).await?.username)
}

/// `broker whoami`.
pub(crate) fn whoami(settings: &Settings, ui: &Ui, selector: &str, json: bool) -> Result<()> {
    let index = Index::load(&settings.home)?;
    let rec = resolve(&index, selector)?;
    let identity = runtime()?.block_on(async {
        let http = http_client()?;
        let provider = providers::for_account(settings, &rec, &http).await?;
        let access = if is_expiring(&rec, SystemTime::now()) && accounts::can_renew(&rec) {
            refresh_locked(settings, ui, provider.as_ref(), &http, &rec.id, false)
                .await?
                .1
        } else {
            load_access(settings, &rec)?
        };
        let token = broker_core::AccessToken::new(access.expose_secret().to_string());
        anyhow::Ok(provider.identity(&http, &token).await?)
    })?;
    if json {
        let mut v = account_json(&rec);
        v["identity"] = json!({
            "username": identity.username,
            "id": identity.id,
            "display_name": identity.display_name,
            "details": identity.details,
        });
        print_stdout(&serde_json::to_string_pretty(&v)?)?;
    } else {
        print_stdout(&format!("{} (account {})", identity.username, rec.id))?;
    }
    Ok(())
}

/// `broker logout`.
pub(crate) fn logout(
    settings: &Settings,
    ui: &Ui,
    selector: &str,
    revoke: bool,
    force: bool,
) -> Result<()> {
    let index = Index::load(&settings.home)?;
    let rec = resolve(&index, selector)?;
    if revoke {
        let outcome = runtime()?.block_on(async {
            let http = http_client()?;
            let provider = providers::for_account(settings, &rec, &http).await?;
            if !provider.can_revoke() {
                bail!(UsageError(format!(
                    "{} does not offer revocation to this app; run `broker logout {}` to forget it locally, and revoke it on the provider's website",
                    provider.display_name(),
                    rec.id
                )));
            }
            let tokens = accounts::load_tokens(settings, &rec)?;
            provider.revoke(&http, &tokens).await?;
            anyhow::Ok(())
        });
        match outcome {
            Ok(()) => ui.info(format!("Revoked the tokens of {} at the provider.", rec.id)),
            Err(e) if force || confirm_forget(&rec.id, &e)? => ui.warn(format!(
                "the revocation failed ({e:#}); forgetting the account locally anyway"
            )),
            Err(e) => {
                return Err(e.context(format!(
                    "the revocation of {} could not be confirmed, so nothing was forgotten; try again, or add --force to forget it locally anyway",
                    rec.id
                )));
            }
        }
    }
    // Under the account's lock, so a refresh in flight cannot write the
    // account back after we removed it.
    let _lock = AccountLock::acquire(&settings.home, &rec.id, accounts::LOCK_WAIT)?;
    accounts::forget_secrets(accounts::store_for(settings, rec.store).as_ref(), &rec.id);
    let id = rec.id.clone();
    accounts::update_index(settings, move |index| index.remove_account(&id))?;
    ui.info(format!("Logged out of {}.", rec.id));
    Ok(())
}

/// Asks a person at a terminal whether to forget an account whose
/// revocation failed; without a terminal the answer is no (`--force` says
/// yes in scripts).
fn confirm_forget(id: &str, err: &anyhow::Error) -> Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprintln!("The revocation of {id} failed: {err:#}");
    runtime()?.block_on(crate::commands::flow::confirm(
        "Forget the account locally anyway? [y/N] ",
        false,
    ))
}

/// One account as JSON: the shape `list`, `status` and `whoami` share. No
/// secret is ever part of it.
pub(crate) fn account_json(rec: &AccountRecord) -> Value {
    json!({
        "id": rec.id,
        "provider": rec.provider,
        "instance": rec.instance,
        "username": rec.username,
        "scopes": rec.scopes,
        "expires_at": rec.expires_at.map(rfc3339),
        "refresh_expires_at": rec.refresh_expires_at.map(rfc3339),
        "has_refresh_token": rec.has_refresh_token,
        "store": store_name(rec),
    })
}

fn store_name(rec: &AccountRecord) -> &'static str {
    match rec.store {
        broker_store::StoreKind::Keyring => "keyring",
        broker_store::StoreKind::File => "file",
    }
}

fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(from_unix(secs)).to_string()
}

pub(crate) fn when(at: Option<u64>) -> String {
    at.map(rfc3339).unwrap_or_else(|| "never".to_string())
}
