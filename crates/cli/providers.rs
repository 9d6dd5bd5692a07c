//! Building providers from settings and from stored accounts. The only
//! place that knows every provider crate.

use anyhow::{Context, Result};
use broker_core::{ClientId, ClientRegistration, ClientSecret, Endpoint, HttpClient, Provider};
use broker_mastodon::{Instance, Mastodon, ServerInfo};
use broker_pinterest::{ApiVersion, Pinterest, PinterestConfig};
use broker_store::{AccountRecord, ExposeSecret, Index, SecretKey};

use crate::accounts::{self, store_for};
use crate::env;
use crate::settings::{Settings, UsageError};

/// Pinterest endpoints and credentials from the environment and the config
/// file (the environment wins). `api_base` overrides the configured API
/// host (`--sandbox`).
pub(crate) fn pinterest_config(
    settings: &Settings,
    api_base: Option<&str>,
) -> Result<PinterestConfig> {
    let (app_id, app_secret) = configured_app(settings);
    let hint = || {
        format!(
            "create an app at https://developers.pinterest.com/apps/, then `export PINTEREST_APP_ID=... PINTEREST_APP_SECRET=...` (or set app_id and app_secret under [pinterest] in {})",
            settings.config_path.display()
        )
    };
    let app_id = app_id.ok_or_else(|| UsageError(format!("no Pinterest app id: {}", hint())))?;
    let app_secret =
        app_secret.ok_or_else(|| UsageError(format!("no Pinterest app secret: {}", hint())))?;
    pinterest_endpoints(settings, api_base, app_id, app_secret)
}

/// The app credentials from the environment, else the config file.
fn configured_app(settings: &Settings) -> (Option<String>, Option<ClientSecret>) {
    let section = &settings.config.pinterest;
    let id = env::var(env::PINTEREST_APP_ID).or_else(|| section.app_id.clone());
    let secret = env::var(env::PINTEREST_APP_SECRET)
        .map(ClientSecret::new)
        .or_else(|| section.app_secret.clone());
    (id, secret)
}

fn pinterest_endpoints(
    settings: &Settings,
    api_base: Option<&str>,
    app_id: String,
    app_secret: ClientSecret,
) -> Result<PinterestConfig> {
    let section = &settings.config.pinterest;
    let authorize_url = section
        .authorize_url
        .as_deref()
        .unwrap_or(broker_pinterest::PRODUCTION_AUTHORIZE_URL);
    let api_base = api_base
        .or(section.api_base.as_deref())
        .unwrap_or(broker_pinterest::PRODUCTION_API_BASE);
    Ok(PinterestConfig {
        app_id,
        app_secret,
        authorize_url: Endpoint::parse("Pinterest authorization", authorize_url).map_err(usage)?,
        api_base: Endpoint::parse("Pinterest API", api_base).map_err(usage)?,
        pkce: section.pkce.unwrap_or(true),
        continuous_refresh: section.continuous_refresh.unwrap_or(true),
    })
}

/// The app a stored Pinterest account was issued to: its tokens refresh
/// only with that app's credentials. The secret comes from the environment
/// or config when they name the same app, else from the copy stored at
/// login, so a cron job needs no credentials in its environment.
fn pinterest_for_account(settings: &Settings, rec: &AccountRecord) -> Result<PinterestConfig> {
    let (configured_id, configured_secret) = configured_app(settings);
    let Some(app_id) = rec.extra.get("app_id").cloned() else {
        // Accounts stored before the app id was recorded.
        return pinterest_config(settings, Some(&rec.instance));
    };
    let secret = match configured_secret
        .filter(|_| configured_id.as_deref() == Some(app_id.as_str()))
    {
        Some(s) => s,
        None => accounts::stored_app_secret(settings, rec)?
            .map(|s| ClientSecret::new(s.expose_secret().to_string()))
            .ok_or_else(|| {
                accounts::needs_login(
                    rec,
                    &format!("the secret of the Pinterest app {app_id} it belongs to is missing"),
                )
            })?,
    };
    pinterest_endpoints(settings, Some(&rec.instance), app_id, secret)
}

/// The provider a stored account talks to.
pub(crate) async fn for_account(
    settings: &Settings,
    rec: &AccountRecord,
    http: &HttpClient,
) -> Result<Box<dyn Provider>> {
    match rec.provider.as_str() {
        "pinterest" | "pinterest-v3" => {
            let version = if rec.provider == "pinterest" {
                ApiVersion::V5
            } else {
                ApiVersion::V3
            };
            let config = pinterest_for_account(settings, rec)?;
            Ok(Box::new(Pinterest::new(version, config)))
        }
        "mastodon" => {
            let instance = Instance::parse(&rec.instance).map_err(usage)?;
            // For identity and revocation the classic paths serve when the
            // metadata cannot be read: no security decision hangs on it here.
            let info = broker_mastodon::discover(http, &instance)
                .await
                .unwrap_or_else(|_| ServerInfo::classic(&instance));
            let registration =
                load_registration(settings, &Index::load(&settings.home)?, &instance)?;
            Ok(Box::new(Mastodon::new(instance, info, registration)))
        }
        other => anyhow::bail!("{} belongs to an unknown provider {other}", rec.id),
    }
}

/// The stored app registration for an instance, if any.
pub(crate) fn load_registration(
    settings: &Settings,
    index: &Index,
    instance: &Instance,
) -> Result<Option<ClientRegistration>> {
    let Some(app) = index.app(&instance.key()) else {
        return Ok(None);
    };
    let secret = store_for(settings, app.store)
        .get(&SecretKey::ClientSecret(instance.key()))
        .context("reading the app registration's secret failed")?;
    Ok(secret.map(|s| ClientRegistration {
        client_id: ClientId::new(app.client_id.clone()),
        client_secret: ClientSecret::new(s.expose_secret().to_string()),
        scopes: app.scopes.clone(),
        redirect_uris: app.redirect_uris.clone(),
    }))
}

/// A refused URL or configuration is the user's to fix: exit code 2.
pub(crate) fn usage(e: broker_core::Error) -> anyhow::Error {
    match e.class() {
        broker_core::ErrorClass::Usage => anyhow::Error::new(UsageError(e.to_string())),
        _ => anyhow::Error::new(e),
    }
}
