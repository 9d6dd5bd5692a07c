//! The one way broker talks HTTP to a provider.
//!
//! - Redirects are never followed: a token endpoint that redirects is either
//!   misconfigured or an attack (SSRF), and following it would resend our
//!   secrets somewhere we did not choose.
//! - Every request has connect and total timeouts and a `User-Agent`.
//! - Retries only where the server cannot have processed the request: the
//!   connection failed before anything was sent, or the server answered 429
//!   or 503 (honouring `Retry-After`, capped). Never after a 500, a timeout
//!   or a dropped connection: a code or a rotating refresh token may already
//!   be spent, and sending it again can make the provider revoke everything
//!   issued from it (RFC 6749 §4.1.2).
//! - Secrets sent in a request are scrubbed from any error text kept from the
//!   answer.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::Endpoint;
use crate::error::{Error, Operation, ProviderError};

/// Largest response body we read; a token response is a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

/// Timeouts and retry limits.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Sent with every request.
    pub user_agent: String,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Limit for one whole request.
    pub timeout: Duration,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The longest we wait before a retry, whatever `Retry-After` says.
    pub max_retry_wait: Duration,
    /// First backoff when the server gave no `Retry-After`; doubles.
    pub base_backoff: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            user_agent: format!(
                "broker/{} (+oauth2 token broker)",
                env!("CARGO_PKG_VERSION")
            ),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            max_retry_wait: Duration::from_secs(30),
            base_backoff: Duration::from_millis(500),
        }
    }
}

/// HTTP method of a [`FormRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET (parameters go in the query string; never secrets).
    Get,
    /// POST.
    Post,
    /// PUT (Pinterest v3's token endpoint).
    Put,
}

/// A request parameter; secrets are kept out of error texts.
#[derive(Clone, Copy)]
pub enum Field<'a> {
    /// An ordinary value.
    Plain(&'a str),
    /// A code, token, verifier or client secret.
    Secret(&'a str),
}

impl Field<'_> {
    fn value(&self) -> &str {
        match self {
            Field::Plain(v) | Field::Secret(v) => v,
        }
    }
}

/// One call to a provider: where, how it authenticates, what it sends.
pub struct FormRequest<'a> {
    provider: &'a str,
    operation: Operation,
    method: Method,
    url: &'a Endpoint,
    basic: Option<(&'a str, &'a str)>,
    bearer: Option<&'a str>,
    fields: Vec<(&'a str, Field<'a>)>,
    json_body: bool,
}

impl<'a> FormRequest<'a> {
    /// A request to `url`; `provider` and `operation` name it in errors.
    pub fn new(provider: &'a str, operation: Operation, method: Method, url: &'a Endpoint) -> Self {
        FormRequest {
            provider,
            operation,
            method,
            url,
            basic: None,
            bearer: None,
            fields: Vec::new(),
            json_body: false,
        }
    }

    /// HTTP Basic client authentication.
    pub fn basic_auth(mut self, user: &'a str, secret: &'a str) -> Self {
        self.basic = Some((user, secret));
        self
    }

    /// `Authorization: Bearer` (never a query parameter).
    pub fn bearer(mut self, token: &'a str) -> Self {
        self.bearer = Some(token);
        self
    }

    /// An ordinary parameter.
    pub fn field(mut self, name: &'a str, value: &'a str) -> Self {
        self.fields.push((name, Field::Plain(value)));
        self
    }

    /// A secret parameter (code, token, verifier, client secret).
    pub fn secret(mut self, name: &'a str, value: &'a str) -> Self {
        self.fields.push((name, Field::Secret(value)));
        self
    }

    /// Sends the parameters as a JSON object instead of a form.
    pub fn json(mut self) -> Self {
        self.json_body = true;
        self
    }

    fn secrets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .fields
            .iter()
            .filter_map(|(_, f)| match f {
                Field::Secret(s) => Some(*s),
                Field::Plain(_) => None,
            })
            .collect();
        out.extend(self.basic.map(|(_, s)| s));
        out.extend(self.bearer);
        out
    }

    fn build(&self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let url = self.url.url().clone();
        let mut rb = match self.method {
            Method::Get => client.get(url),
            Method::Post => client.post(url),
            Method::Put => client.put(url),
        };
        if let Some((user, secret)) = self.basic {
            rb = rb.basic_auth(user, Some(secret));
        }
        if let Some(token) = self.bearer {
            rb = rb.bearer_auth(token);
        }
        let pairs: Vec<(&str, &str)> = self.fields.iter().map(|(k, v)| (*k, v.value())).collect();
        match (self.method, self.json_body) {
            (Method::Get, _) if !pairs.is_empty() => rb.query(&pairs),
            (Method::Get, _) => rb,
            (_, true) => {
                let map: serde_json::Map<String, serde_json::Value> = pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
                    .collect();
                rb.json(&map)
            }
            (_, false) => {
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&pairs)
                    .finish();
                rb.header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
            }
        }
        .header(reqwest::header::ACCEPT, "application/json")
    }
}

/// A provider's answer, body read in full (up to 1 MiB).
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

/// The body may be a token response: `Debug` shows only its size.
impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The request id a provider attaches for support (`x-pinterest-rid`,
    /// `x-request-id`).
    pub fn request_id(&self) -> Option<String> {
        ["x-pinterest-rid", "x-request-id"]
            .iter()
            .find_map(|h| self.headers.get(*h)?.to_str().ok())
            .map(|s| crate::error::clean_text(s, 80))
    }

    /// Whether the body is declared as JSON.
    pub fn is_json(&self) -> bool {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"))
    }
}

/// The HTTP client: one per process, cheap to share.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
}

impl HttpClient {
    /// Builds the client: rustls, no redirects, timeouts, `User-Agent`.
    pub fn new(config: HttpConfig) -> Result<HttpClient, Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .https_only(false) // http is allowed for loopback; `Endpoint` already checked the URL
            .build()
            .map_err(|e| Error::Config(format!("could not set up HTTP: {}", chain(&e))))?;
        Ok(HttpClient { client, config })
    }

    /// Sends `req` and returns a 2xx answer; any other status becomes
    /// [`Error::Provider`] (a 3xx included: we do not follow redirects).
    pub async fn send(&self, req: &FormRequest<'_>) -> Result<Response, Error> {
        let resp = self.send_any(req).await?;
        if (200..300).contains(&resp.status) {
            Ok(resp)
        } else {
            Err(Error::Provider(self.provider_error(req, &resp)))
        }
    }

    /// Sends `req` and returns the answer whatever its status (for calls
    /// where a 404 means something, like metadata discovery).
    pub async fn send_any(&self, req: &FormRequest<'_>) -> Result<Response, Error> {
        let host = host_of(req.url);
        let mut attempt = 1;
        loop {
            let result = req.build(&self.client).send().await;
            let wait = match result {
                Err(e) if e.is_connect() && attempt < self.config.max_attempts => {
                    // Nothing was sent: trying again cannot spend a code twice.
                    self.backoff(attempt, None)
                }
                Err(e) => {
                    return Err(Error::Network {
                        host,
                        detail: describe_failure(&e),
                    });
                }
                Ok(resp)
                    if matches!(resp.status().as_u16(), 429 | 503)
                        && attempt < self.config.max_attempts
                        && self.worth_waiting(resp.headers()) =>
                {
                    // Both mean "not processed"; the server says when to come back.
                    self.backoff(attempt, retry_after(resp.headers(), SystemTime::now()))
                }
                Ok(resp) => return read_body(resp, &host).await,
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// The error a non-2xx answer stands for, scrubbed of what we sent.
    pub fn provider_error(&self, req: &FormRequest<'_>, resp: &Response) -> ProviderError {
        let mut err =
            ProviderError::from_body(req.provider, req.operation, resp.status, &resp.body)
                .scrub(&req.secrets());
        err.request_id = resp.request_id();
        err.retry_after = retry_after(&resp.headers, SystemTime::now()).map(|d| d.as_secs());
        err
    }

    /// A server that asks us to come back later than we are willing to wait
    /// gets its answer reported at once, not after a pointless wait.
    fn worth_waiting(&self, headers: &HeaderMap) -> bool {
        retry_after(headers, SystemTime::now()).is_none_or(|d| d <= self.config.max_retry_wait)
    }

    fn backoff(&self, attempt: u32, server_said: Option<Duration>) -> Duration {
        let wait = server_said.unwrap_or_else(|| {
            let exp = self.config.base_backoff * 2u32.saturating_pow(attempt - 1);
            // Up to 25 % jitter so that many clients do not come back together.
            let jitter = exp.mul_f64(rand::random::<f64>() * 0.25);
            exp + jitter
        });
        wait.min(self.config.max_retry_wait)
    }
}

async fn read_body(mut resp: reqwest::Response, host: &str) -> Result<Response, Error> {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(Error::Protocol {
                        what: host.to_string(),
                        detail: "the response is larger than 1 MiB".into(),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                return Err(Error::Network {
                    host: host.to_string(),
                    detail: describe_failure(&e),
                });
            }
        }
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn host_of(url: &Endpoint) -> String {
    let u = url.url();
    match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => "the provider".to_string(),
    }
}

fn describe_failure(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".to_string()
    } else if e.is_connect() {
        format!("could not connect ({})", chain(e))
    } else {
        chain(e)
    }
}

/// The error and its sources, without the URL (which could carry a query).
fn chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        "request failed".to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    fn fast() -> HttpConfig {
        HttpConfig {
            base_backoff: Duration::from_millis(10),
            max_retry_wait: Duration::from_millis(50),
            timeout: Duration::from_millis(500),
            ..HttpConfig::default()
        }
    }

    /// A server answering from a script: one status per request.
    async fn scripted(statuses: Vec<(u16, &'static str)>) -> (Endpoint, Arc<AtomicUsize>) {
        scripted_with_retry_after(statuses, "0").await
    }

    async fn scripted_with_retry_after(
        statuses: Vec<(u16, &'static str)>,
        retry_after: &'static str,
    ) -> (Endpoint, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = statuses[n.min(statuses.len() - 1)];
            async move {
                let mut r = (StatusCode::from_u16(status).unwrap(), body).into_response();
                r.headers_mut()
                    .insert("retry-after", retry_after.parse().unwrap());
                r.headers_mut()
                    .insert("x-pinterest-rid", "rid123".parse().unwrap());
                r
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (
            Endpoint::parse("t", &format!("http://{addr}/token")).unwrap(),
            hits,
        )
    }

    fn token_request(url: &Endpoint) -> FormRequest<'_> {
        FormRequest::new("Test", Operation::CodeExchange, Method::Post, url)
            .basic_auth("app", "APPSECRET")
            .secret("code", "THECODE")
            .field("grant_type", "authorization_code")
    }

    #[tokio::test]
    async fn retries_503_then_succeeds() {
        let (url, hits) = scripted(vec![(503, ""), (200, "{}")]).await;
        let http = HttpClient::new(fast()).unwrap();
        let resp = http.send(&token_request(&url)).await.unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn never_retries_a_500() {
        let (url, hits) = scripted(vec![
            (
                500,
                r#"{"error":"server_error","error_description":"THECODE broke"}"#,
            ),
            (200, "{}"),
        ])
        .await;
        let http = HttpClient::new(fast()).unwrap();
        let err = http.send(&token_request(&url)).await.unwrap_err();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        let text = err.to_string();
        assert!(
            text.contains("HTTP 500") && text.contains("rid123"),
            "{text}"
        );
        assert!(
            !text.contains("THECODE") && !text.contains("APPSECRET"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn gives_up_after_bounded_429s() {
        let (url, hits) = scripted(vec![(429, "")]).await;
        let http = HttpClient::new(fast()).unwrap();
        let err = http.send(&token_request(&url)).await.unwrap_err();
        assert_eq!(hits.load(Ordering::SeqCst), 3);
        assert_eq!(err.class(), crate::ErrorClass::Unavailable);
    }

    #[tokio::test]
    async fn does_not_wait_longer_than_allowed() {
        let (url, hits) = scripted_with_retry_after(vec![(429, "")], "600").await;
        let http = HttpClient::new(fast()).unwrap();
        let started = std::time::Instant::now();
        let err = http.send(&token_request(&url)).await.unwrap_err();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert!(started.elapsed() < Duration::from_secs(5));
        match err {
            Error::Provider(p) => assert_eq!(p.retry_after, Some(600)),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn does_not_follow_redirects() {
        let (url, hits) = scripted(vec![(302, "")]).await;
        let http = HttpClient::new(fast()).unwrap();
        let err = http.send(&token_request(&url)).await.unwrap_err();
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert!(err.to_string().contains("HTTP 302"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_network_error_after_retries() {
        // Bind then drop, so the port is (almost certainly) closed.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url = Endpoint::parse("t", &format!("http://{addr}/token")).unwrap();
        let http = HttpClient::new(fast()).unwrap();
        let err = http.send(&token_request(&url)).await.unwrap_err();
        assert!(matches!(err, Error::Network { .. }), "{err:?}");
        assert_eq!(err.class(), crate::ErrorClass::Unavailable);
    }

    #[tokio::test]
    async fn a_connection_dropped_after_the_request_is_not_retried() {
        // The server reads the whole request (the code may now be spent),
        // then hangs up without answering.
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                let mut buf = vec![0u8; 4096];
                let _ = sock.read(&mut buf).await;
                drop(sock);
            }
        });
        let url = Endpoint::parse("t", &format!("http://{addr}/token")).unwrap();
        let http = HttpClient::new(fast()).unwrap();
        let err = http.send(&token_request(&url)).await.unwrap_err();
        assert!(matches!(err, Error::Network { .. }), "{err:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(5));
        h.insert(RETRY_AFTER, later.parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(5)));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }
}
