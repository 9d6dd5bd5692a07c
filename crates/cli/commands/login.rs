//! `broker login pinterest` and `broker login mastodon`: the provider
//! specifics around the shared flow in `flow.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use broker_core::{HttpClient, Provider};
use broker_mastodon::{Instance, Mastodon};
use broker_pinterest::{ApiVersion, Pinterest};
use broker_store::{AppRecord, Index, SecretKey, SecretStore, SecretString};

use super::flow::{self, LoginRequest, Mode, Redirect};
use crate::accounts::{self, NewAccount, save_login, unix};
use crate::args::{ApiArg, CommonLogin, MastodonLogin, PinterestLogin};
use crate::providers::{self, usage};
use crate::settings::{Settings, UsageError};
use crate::ui::Ui;
use crate::{http_client, runtime};

pub(crate) fn pinterest(settings: &Settings, ui: &Ui, args: &PinterestLogin) -> Result<()> {
    let version = match args.api {
        ApiArg::V5 => ApiVersion::V5,
        ApiArg::V3 => ApiVersion::V3,
    };
    if version == ApiVersion::V3 {
        ui.warn("Pinterest API v3 is deprecated; new apps should use v5 (the default)");
    }
    let api_base = args.sandbox.then_some(broker_pinterest::SANDBOX_API_BASE);
    let config = providers::pinterest_config(settings, api_base)?;
    let mut scopes = scopes_or(&args.common, version.default_scopes());
    version.validate_scopes(&scopes).map_err(usage)?;
    let identity_scope = version.identity_scope().to_string();
    if !scopes.contains(&identity_scope) {
        ui.info(format!(
            "Adding the scope {identity_scope}: broker asks Pinterest who you are to name the account."
        ));
        scopes.push(identity_scope);
    }
    let redirect = args
        .redirect_uri
        .clone()
        .or_else(|| settings.config.pinterest.redirect_uri.clone())
        .unwrap_or_else(|| broker_pinterest::DEFAULT_REDIRECT_URI.to_string());
    ui.detail(format!("using the Pinterest API at {}", config.api_base));
    let app_secret = config.app_secret.clone();
    let mut extra = BTreeMap::from([("app_id".to_string(), config.app_id.clone())]);
    if args.client_credentials {
        // An app-only token is renewed by the same grant, not a browser login.
        extra.insert("grant".to_string(), "client_credentials".to_string());
    }
    let provider = Pinterest::new(version, config);
    let store = accounts::open_write_store(settings, ui)?;

    runtime()?.block_on(async {
        let http = http_client()?;
        let result = if args.client_credentials {
            if version != ApiVersion::V5 {
                bail!(UsageError("--client-credentials needs --api v5".into()));
            }
            let tokens = provider.client_credentials(&http, &scopes).await?;
            let identity = provider.identity(&http, &tokens.access_token).await?;
            flow::LoginResult { tokens, identity }
        } else {
            let port = url::Url::parse(&redirect).ok().and_then(|u| u.port_or_known_default()).unwrap_or(8085);
            let request = LoginRequest {
                provider: &provider,
                redirect: Redirect::Loopback(redirect.clone()),
                scopes: &scopes,
                force_login: false,
                mode: Mode::choose(args.common.no_browser, ui),
                timeout: Duration::from_secs(args.common.timeout),
                paste_hints: vec![
                    "After approving, the browser lands on a page that may fail to load".to_string(),
                    format!("({redirect}?code=...); copy that whole address from the address bar."),
                    format!("Or forward the port from your machine first: ssh -L {port}:localhost:{port} THIS_HOST"),
                ],
            };
            flow::login(request, &http, ui).await?
        };
        let user = match args.common.account.as_deref() {
            Some(u) => validate_user(u)?,
            None => result.identity.username.clone(),
        };
        let new = NewAccount {
            id: format!("{}/{user}", provider.id()),
            identity: &result.identity,
            tokens: &result.tokens,
            extra,
            app_secret: Some(&app_secret),
        };
        finish(settings, ui, store.as_ref(), &provider, new)
    })
}

pub(crate) fn mastodon(settings: &Settings, ui: &Ui, args: &MastodonLogin) -> Result<()> {
    let instance = Instance::parse(&args.instance).map_err(usage)?;
    runtime()?.block_on(async {
        let http = http_client()?;
        let info = broker_mastodon::discover(&http, &instance).await?;
        let scopes = scopes_or(&args.common, broker_mastodon::default_scopes(&info));
        broker_mastodon::validate_scopes(&scopes, &info).map_err(usage)?;
        let (scopes, added) = broker_mastodon::with_identity_scope(&scopes, &info);
        if added {
            ui.info(format!(
                "Adding the scope {}: broker asks the instance who you are to name the account.",
                scopes.last().map(String::as_str).unwrap_or_default()
            ));
        }
        let index = Index::load(&settings.home)?;
        let store = accounts::open_write_store(settings, ui)?;
        let registration = providers::load_registration(settings, &index, &instance)?;
        let provider = Mastodon::new(instance.clone(), info, registration);
        let provider =
            ensure_registration(settings, ui, &http, store.as_ref(), provider, &scopes, &index).await?;

        // A second account on the same instance needs the login form, not
        // the browser's current session.
        let has_account_here = index
            .accounts
            .iter()
            .any(|a| a.provider == "mastodon" && a.instance == provider.instance().to_string());
        let mode = Mode::choose(args.common.no_browser, ui);
        let redirect = if args.oob || mode == Mode::Paste {
            Redirect::OutOfBand
        } else {
            Redirect::Loopback(broker_mastodon::loopback_redirect_template().to_string())
        };
        let request = LoginRequest {
            provider: &provider,
            redirect,
            scopes: &scopes,
            force_login: args.force_login || has_account_here,
            mode,
            timeout: Duration::from_secs(args.common.timeout),
            paste_hints: vec![
                "After approving, the instance shows a code: paste it here.".to_string(),
            ],
        };
        let result = flow::login(request, &http, ui).await?;
        let mut extra = BTreeMap::new();
        if let Some(app) = Index::load(&settings.home)?.app(&instance.key()) {
            extra.insert("client_id".to_string(), app.client_id.clone());
        }
        if let Some(hint) = instance
            .user_hint
            .as_ref()
            .filter(|h| !h.eq_ignore_ascii_case(&result.identity.username))
        {
            ui.warn(format!(
                "you named @{hint}, but the instance logged in {}; the account is named after who logged in (use --force-login to pick another user)",
                result.identity.username
            ));
        }
        let name = match args.common.account.as_deref() {
            Some(u) => validate_user(u)?,
            None => result.identity.username.clone(),
        };
        let user = broker_mastodon::account_user(&name, &instance);
        let new = NewAccount {
            id: format!("{}/{user}", provider.id()),
            identity: &result.identity,
            tokens: &result.tokens,
            extra,
            app_secret: None,
        };
        finish(settings, ui, store.as_ref(), &provider, new)
    })
}

/// Makes sure the instance knows our app: reuse the stored registration,
/// register once if there is none or it does not cover the scopes, and
/// register again (once) if the instance forgot it.
async fn ensure_registration(
    settings: &Settings,
    ui: &Ui,
    http: &HttpClient,
    store: &dyn SecretStore,
    provider: Mastodon,
    scopes: &[String],
    index: &Index,
) -> Result<Mastodon> {
    let key = provider.instance_ref().key();
    // An index entry whose secret is gone (a wiped keyring) is no
    // registration at all: register again.
    let existing = index
        .app(&key)
        .cloned()
        .filter(|_| provider.registration().is_some());
    let mut wanted: Vec<String> = scopes.to_vec();
    let redirect_uris = broker_mastodon::registration_redirect_uris();
    if let Some(app) = &existing {
        let redirects_ok = redirect_uris
            .iter()
            .all(|r| broker_mastodon::redirect_registered(&app.redirect_uris, r));
        if !redirects_ok {
            ui.info(format!(
                "The app registration on {} lacks broker's redirect addresses; registering again.",
                provider.instance_ref().host
            ));
        } else if broker_mastodon::covers(&app.scopes, scopes) {
            match provider.verify_app(http).await {
                Ok(true) => return Ok(provider),
                Ok(false) => ui.info(format!(
                    "{} no longer knows broker's app registration; registering again.",
                    provider.instance_ref().host
                )),
                Err(e) => return Err(e.into()),
            }
        } else {
            ui.info(format!(
                "The app registration on {} does not cover {}; registering again with the combined scopes.",
                provider.instance_ref().host,
                scopes.join(" ")
            ));
            wanted = broker_mastodon::union(&app.scopes, scopes);
        }
    }
    let client_name = settings
        .config
        .mastodon
        .client_name
        .clone()
        .unwrap_or_else(|| "broker".to_string());
    let website = settings.config.mastodon.website.clone();
    let registration = provider
        .register_client(
            http,
            &broker_core::RegistrationRequest {
                client_name: &client_name,
                redirect_uris: &redirect_uris,
                scopes: &wanted,
                website: website.as_deref(),
            },
        )
        .await
        .with_context(|| {
            format!(
                "registering broker as an app on {} failed",
                provider.instance_ref().host
            )
        })?;
    store.set(
        &SecretKey::ClientSecret(key.clone()),
        &SecretString::from(registration.client_secret.secret().to_string()),
    )?;
    let record = AppRecord {
        instance: key,
        client_id: registration.client_id.as_str().to_string(),
        scopes: registration.scopes.clone(),
        redirect_uris: registration.redirect_uris.clone(),
        store: store.kind(),
        created_at: unix(SystemTime::now()),
    };
    accounts::update_index(settings, move |index| index.upsert_app(record))?;
    ui.detail("registered broker's app on the instance");
    let provider = provider.with_registration(registration);
    // One app token right away: instances before 4.3 delete apps that hold
    // no token, which would break the next login.
    if !provider.verify_app(http).await? {
        bail!(
            "{} refused the app registration it just made; try again later",
            provider.instance_ref().host
        );
    }
    Ok(provider)
}

fn scopes_or(common: &CommonLogin, default: Vec<String>) -> Vec<String> {
    if common.scopes.is_empty() {
        default
    } else {
        broker_core::parse_scopes(&common.scopes.join(" "))
    }
}

/// Names and stores the account, and says so in one line.
fn finish(
    settings: &Settings,
    ui: &Ui,
    store: &dyn SecretStore,
    provider: &dyn Provider,
    new: NewAccount<'_>,
) -> Result<()> {
    let rec = save_login(settings, store, provider, new)?;
    let scopes = if rec.scopes.is_empty() {
        "none reported".to_string()
    } else {
        rec.scopes.join(" ")
    };
    ui.info(format!("Logged in as {} (scopes: {scopes})", rec.id));
    Ok(())
}

fn validate_user(u: &str) -> Result<String> {
    let ok = !u.is_empty()
        && u.len() <= 100
        && u.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if !ok {
        bail!(UsageError(format!(
            "--account {u:?} is not a valid name: use letters, digits, and _ - . @"
        )));
    }
    Ok(u.to_string())
}
