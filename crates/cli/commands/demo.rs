//! `broker demo`: the whole product against the built-in sandbox provider,
//! on this machine only. It runs the real flow engine, loopback listener,
//! PKCE, code exchange, store and refresh; only the person clicking
//! "approve" in a browser is simulated (the sandbox approves at once).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use broker_core::flow::{LoopbackListener, PendingAuthorization};
use broker_core::{ClientSecret, Endpoint, Provider};
use broker_pinterest::{ApiVersion, Pinterest, PinterestConfig};
use broker_sandbox::{Sandbox, SandboxConfig};
use broker_store::ExposeSecret;

use crate::accounts::{self, NewAccount, load_access, refresh_locked, save_login};
use crate::commands::accounts::when;
use crate::settings::Settings;
use crate::ui::{Ui, mask, print_stdout};
use crate::{http_client, runtime};

pub(crate) fn demo(settings: &Settings, ui: &Ui) -> Result<()> {
    runtime()?.block_on(async {
        let sandbox = Sandbox::start(SandboxConfig::default())
            .await
            .context("could not start the sandbox provider on 127.0.0.1")?;
        let base = sandbox.base_url();
        ui.info(format!("1. Started the sandbox provider (a strict stand-in for Pinterest API v5) at {base}"));

        let provider = Pinterest::new(
            ApiVersion::V5,
            PinterestConfig {
                app_id: sandbox.pinterest_app_id().to_string(),
                app_secret: ClientSecret::new(sandbox.pinterest_app_secret().to_string()),
                authorize_url: Endpoint::parse("sandbox authorization", base.join("oauth/")?.as_str())?,
                api_base: Endpoint::parse("sandbox API", base.as_str())?,
                pkce: true,
                continuous_refresh: true,
            },
        );
        let http = http_client()?;
        let store = accounts::open_write_store(settings, ui)?;
        let listener = LoopbackListener::bind("http://127.0.0.1:0/")?;
        sandbox.add_pinterest_redirect_uri(listener.redirect_uri());
        let scopes = ApiVersion::V5.default_scopes();
        let pending = PendingAuthorization::new(&provider, listener.redirect_uri(), &scopes, false)?;
        ui.info(format!(
            "2. Listening for the redirect on {} (loopback only); state and PKCE S256 are in the authorization URL",
            listener.redirect_uri()
        ));

        // The person in front of the browser: open the page, approve, follow
        // the redirect back to the listener.
        let browser = tokio::spawn(simulated_browser(pending.authorize_url().clone()));
        let code = pending.receive(listener, Duration::from_secs(30)).await?;
        let landed = browser.await.context("the simulated browser failed")??;
        ui.info(format!(
            "3. The browser was approved and came back to the listener (page answered HTTP {landed}); state matched"
        ));

        let tokens = pending.complete(&provider, &http, code).await?;
        let identity = provider.identity(&http, &tokens.access_token).await?;
        ui.info(format!(
            "4. Exchanged the code (with the PKCE verifier) for an access token {} and a refresh token; it expires {}",
            mask(tokens.access_token.secret()),
            when(tokens.expires_at.map(accounts::unix))
        ));

        let id = format!("{}/demo-{}", provider.id(), identity.username);
        let new = NewAccount {
            id: id.clone(),
            identity: &identity,
            tokens: &tokens,
            extra: Default::default(),
            app_secret: None,
        };
        let rec = save_login(settings, store.as_ref(), &provider, new)?;
        let stored = load_access(settings, &rec)?;
        if stored.expose_secret() != tokens.access_token.secret() {
            bail!("the token read back from the store differs from the one stored");
        }
        ui.info(format!(
            "5. The provider says the token belongs to {}; stored as {} in the {} and read back",
            identity.username,
            rec.id,
            accounts::store_for(settings, rec.store).describe()
        ));

        let (rec, refreshed) = refresh_locked(settings, ui, &provider, &http, &rec.id, true).await?;
        if refreshed.expose_secret() == tokens.access_token.secret() {
            bail!("the refresh returned the same access token");
        }
        ui.info(format!(
            "6. Refreshed: new access token {}, the rotated refresh token was stored first",
            mask(refreshed.expose_secret())
        ));

        accounts::forget_secrets(accounts::store_for(settings, rec.store).as_ref(), &rec.id);
        accounts::update_index(settings, |index| index.remove_account(&id))?;
        ui.info("7. Removed the demo account again; the sandbox stops with this command");
        print_stdout(&format!(
            "Demo login worked: logged in as {} (scopes: {}), token {}",
            identity.username,
            rec.scopes.join(" "),
            mask(refreshed.expose_secret())
        ))?;
        sandbox.shutdown().await;
        Ok(())
    })
}

/// GETs the authorization URL and follows the provider's redirect to the
/// loopback listener, as a browser would; returns the listener's status.
async fn simulated_browser(authorize_url: url::Url) -> Result<u16> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let consent = client.get(authorize_url).send().await?;
    let location = consent
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string)
        .with_context(|| format!("the sandbox did not redirect (HTTP {})", consent.status()))?;
    let landed = client.get(location).send().await?;
    Ok(landed.status().as_u16())
}
