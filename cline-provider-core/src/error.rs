//! One error type for the whole SDK: a kind, what the server said, and a hint for the person.

use std::fmt;
use std::time::{Duration, SystemTime};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The phase of a request that ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutPhase {
    /// Opening the TCP/TLS connection.
    Connect,
    /// Waiting for the response status line and headers.
    Headers,
    /// Waiting for the next event while the body streams.
    Idle,
    /// The whole request, from the first attempt to the last event.
    Total,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::Headers => "waiting for the response headers",
            TimeoutPhase::Idle => "waiting for the next streamed event",
            TimeoutPhase::Total => "the whole request",
        })
    }
}

/// What went wrong, in terms a program can branch on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The endpoint rejected the credential (HTTP 401 with an API key).
    InvalidApiKey,
    /// The credential is valid but lacks permission (HTTP 403, missing Azure role).
    AccessDenied,
    /// A TCP or TLS failure: the endpoint could not be reached (connection refused or reset,
    /// no route). Retried.
    Unreachable,
    /// The endpoint's host name could not be resolved (DNS). Not retried: no wait fixes a
    /// misspelt host or a missing VPN.
    DnsFailure,
    /// The endpoint's TLS certificate was not accepted (unknown issuer, expired, wrong host).
    /// Not retried. Usually a TLS-inspecting corporate proxy whose root certificate is not
    /// trusted yet.
    TlsCertificate,
    /// The endpoint answered with a redirect that was not followed (LLM requests never follow
    /// one; the admin API follows only same-origin ones). [`Error::redirect_location`] says
    /// where it pointed.
    Redirected,
    /// A timeout in the named phase.
    Timeout(TimeoutPhase),
    /// The endpoint does not offer the requested model.
    ModelNotFound,
    /// A setting or provider is locked by the organization's policy.
    LockedByOrganization,
    /// No sign-in, or the sign-in expired and could not be refreshed.
    NotSignedIn,
    /// HTTP 429 or an equivalent in-band rate limit.
    RateLimited,
    /// The account's quota or credit is exhausted (`insufficient_quota`).
    QuotaExhausted,
    /// A subscription plan's usage limit is reached (a ChatGPT plan's Codex allowance, say):
    /// requests work again when the limit resets ([`Error::resets_at`]). The plan decides the
    /// limits, not per-token billing; retrying before the reset does not help.
    SubscriptionLimit,
    /// The prompt does not fit the model's context window.
    ContextWindowExceeded,
    /// A configuration or request value is invalid; [`Error::field`] names it.
    InvalidConfig,
    /// The server refused the request as malformed (HTTP 400 and similar).
    BadRequest,
    /// The server failed (HTTP 5xx).
    Server,
    /// The server sent an error event inside the stream.
    StreamError,
    /// The body ended before the protocol's terminal marker.
    Truncated,
    /// One streamed event exceeded the configured size cap.
    EventTooLarge,
    /// The response did not follow the protocol (bad JSON, bad framing).
    Protocol,
    /// The request was cancelled by the caller.
    Cancelled,
    /// A tool call's arguments do not fit the type the program expects; the message says
    /// which field. Send it back to the model as the tool result so that it can correct itself.
    InvalidToolArguments,
    /// A local file could not be read or written.
    Io,
    /// The endpoint's content filter blocked the prompt or the reply (Azure's content
    /// filtering); the message lists the categories and severities it reported.
    ContentFiltered,
}

/// The SDK's error: a [`ErrorKind`], the message, and what the server told us.
///
/// No secret is ever stored in an `Error`, so printing one is always safe.
///
/// ```
/// use cline_provider_core::{Error, ErrorKind};
/// let err = Error::invalid_config("model", "the model id is empty");
/// assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
/// assert_eq!(err.field(), Some("model"));
/// assert!(err.hint().contains("model"));
/// ```
// Boxed so that `Result<T, Error>` stays one pointer wide on the happy path.
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    code: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    field: Option<String>,
    organization: Option<String>,
    available_models: Vec<String>,
    resets_at: Option<SystemTime>,
    /// Where a refused redirect pointed (credentials in its query redacted).
    location: Option<String>,
    /// Output of this request had already been handed to the caller.
    after_output: bool,
    /// A 401 arrived for a request that carried no credential at all.
    no_credential_sent: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    // A backend's own advice, replacing the kind's generic hint (see `with_hint`).
    hint: Option<String>,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Error {
    /// A new error of `kind` with a message for the log.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                code: None,
                request_id: None,
                retry_after: None,
                field: None,
                organization: None,
                available_models: Vec::new(),
                resets_at: None,
                location: None,
                after_output: false,
                no_credential_sent: false,
                source: None,
                hint: None,
            }),
        }
    }

    /// An [`ErrorKind::InvalidConfig`] error naming the offending field.
    pub fn invalid_config(field: impl Into<String>, why: impl fmt::Display) -> Self {
        let field = field.into();
        Error::new(
            ErrorKind::InvalidConfig,
            format!("invalid `{field}`: {why}"),
        )
        .with_field(field)
    }

    /// An [`ErrorKind::Timeout`] error for `phase` after `after`.
    pub fn timeout(phase: TimeoutPhase, after: Duration) -> Self {
        Error::new(
            ErrorKind::Timeout(phase),
            format!("timed out after {after:?} {phase}"),
        )
    }

    /// The kind.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }
    /// The message, without the hint.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }
    /// The provider's error code (`insufficient_quota`, `model_not_found`, …) when it sent one.
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }
    /// The request id the server assigned (`x-request-id`, `apim-request-id`, …).
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }
    /// How long the server asked us to wait, for rate limits.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }
    /// The configuration field or JSON path at fault.
    pub fn field(&self) -> Option<&str> {
        self.inner.field.as_deref()
    }
    /// The organization whose policy locked a setting.
    pub fn organization(&self) -> Option<&str> {
        self.inner.organization.as_deref()
    }
    /// Models the endpoint does offer, when a model was not found and the list was known.
    pub fn available_models(&self) -> &[String] {
        &self.inner.available_models
    }
    /// Where a refused redirect pointed ([`ErrorKind::Redirected`]), with any credential in
    /// its query redacted.
    pub fn redirect_location(&self) -> Option<&str> {
        self.inner.location.as_deref()
    }
    /// Whether part of the reply had already been handed to the caller when this error
    /// happened. Such an error is never [`is_retryable`](Error::is_retryable): sending the
    /// request again would repeat output the caller already has.
    ///
    /// ```
    /// use cline_provider_core::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::RateLimited, "429 upstream");
    /// assert!(e.is_retryable());
    /// let e = e.after_output();
    /// assert!(e.is_after_output() && !e.is_retryable());
    /// ```
    pub fn is_after_output(&self) -> bool {
        self.inner.after_output
    }
    /// Whether the request that got this 401 carried no credential at all (then the endpoint
    /// wants one, rather than rejecting the one it got).
    pub fn no_credential_sent(&self) -> bool {
        self.inner.no_credential_sent
    }

    /// When a [`SubscriptionLimit`](ErrorKind::SubscriptionLimit) resets, when the server
    /// said.
    pub fn resets_at(&self) -> Option<SystemTime> {
        self.inner.resets_at
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }
    /// Sets the provider error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.inner.code = Some(code.into());
        self
    }
    /// Sets the request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.inner.request_id = Some(id.into());
        self
    }
    /// Sets the wait the server asked for.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.inner.retry_after = Some(wait);
        self
    }
    /// Sets the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.inner.field = Some(field.into());
        self
    }
    /// Sets the organization that locked a setting.
    pub fn with_organization(mut self, org: impl Into<String>) -> Self {
        self.inner.organization = Some(org.into());
        self
    }
    /// Sets the models the endpoint offers.
    pub fn with_available_models(mut self, models: Vec<String>) -> Self {
        self.inner.available_models = models;
        self
    }
    /// Sets when a usage limit resets.
    pub fn with_resets_at(mut self, at: SystemTime) -> Self {
        self.inner.resets_at = Some(at);
        self
    }
    /// Sets where a refused redirect pointed.
    pub fn with_redirect_location(mut self, location: impl Into<String>) -> Self {
        self.inner.location = Some(location.into());
        self
    }
    /// Marks the error as happening after output was handed to the caller (see
    /// [`is_after_output`](Error::is_after_output)).
    pub fn after_output(mut self) -> Self {
        self.inner.after_output = true;
        self
    }
    /// Marks a 401 as the answer to a request that carried no credential.
    pub fn with_no_credential_sent(mut self) -> Self {
        self.inner.no_credential_sent = true;
        self
    }
    /// Replaces every occurrence of each secret in the message (and code) with
    /// [`REDACTED`](crate::secrets::REDACTED): servers echo keys back in their error messages,
    /// and an `Error` must never carry one. Secrets shorter than 4 characters are left alone,
    /// since replacing them would garble the text without protecting anything.
    ///
    /// ```
    /// use cline_provider_core::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::InvalidApiKey, "Incorrect API key provided: sk-live-123")
    ///     .scrub(["sk-live-123"]);
    /// assert_eq!(e.message(), "Incorrect API key provided: [redacted]");
    /// ```
    pub fn scrub<S: AsRef<str>>(mut self, secrets: impl IntoIterator<Item = S>) -> Self {
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.chars().count() < 4 {
                continue;
            }
            if self.inner.message.contains(secret) {
                self.inner.message = self.inner.message.replace(secret, crate::secrets::REDACTED);
            }
            if let Some(code) = &mut self.inner.code {
                if code.contains(secret) {
                    *code = code.replace(secret, crate::secrets::REDACTED);
                }
            }
        }
        self
    }
    /// Puts `what` in front of the message (`"{what}: {message}"`), to say where the error
    /// came from.
    ///
    /// ```
    /// use cline_provider_core::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::Server, "HTTP 503").with_context("the admin API");
    /// assert_eq!(e.message(), "the admin API: HTTP 503");
    /// ```
    pub fn with_context(mut self, what: impl fmt::Display) -> Self {
        self.inner.message = format!("{what}: {}", self.inner.message);
        self
    }
    /// Sets the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Replaces the kind's generic [`hint`](Error::hint) with advice only the backend can
    /// give (for example "run `codex login`, or sign in here" for a shared sign-in that
    /// another program spent). Keep it free of secrets, like the message.
    ///
    /// ```
    /// use cline_provider_core::{Error, ErrorKind};
    /// let err = Error::new(ErrorKind::NotSignedIn, "the refresh token was already used")
    ///     .with_hint("Sign in again with `login`.");
    /// assert_eq!(err.hint(), "Sign in again with `login`.");
    /// ```
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.inner.hint = Some(hint.into());
        self
    }

    /// Whether waiting and sending the same request again may succeed.
    ///
    /// Rate limits, server failures, connection failures and connect timeouts are retryable;
    /// an invalid key, exhausted quota, a context that is too long, a host that does not
    /// resolve or an untrusted certificate never are. A header timeout is not either: the
    /// server may be generating (and billing) the reply, and a second POST is billed again.
    /// Nothing is retryable once output reached the caller
    /// ([`is_after_output`](Error::is_after_output)).
    pub fn is_retryable(&self) -> bool {
        if self.inner.after_output {
            return false;
        }
        match self.inner.kind {
            ErrorKind::RateLimited | ErrorKind::Server | ErrorKind::Unreachable => true,
            ErrorKind::Timeout(TimeoutPhase::Connect) => true,
            ErrorKind::BadRequest => matches!(self.inner.status, Some(408 | 409)),
            _ => false,
        }
    }

    /// The organization-policy refusal behind this error, when it is one.
    pub fn policy_error(&self) -> Option<&crate::policy::PolicyError> {
        self.inner.source.as_deref()?.downcast_ref()
    }

    /// A sentence for the person in front of the screen: what to do about it.
    pub fn hint(&self) -> String {
        if let Some(hint) = &self.inner.hint {
            return hint.clone();
        }
        // A policy refusal knows the allowed choices; its hint is the more useful one.
        if let Some(policy) = self.policy_error() {
            return policy.hint();
        }
        match &self.inner.kind {
            ErrorKind::InvalidApiKey if self.inner.no_credential_sent => {
                "This endpoint requires an API key, and none was sent. Set the API key (for the \
                 chat example: OPENAI_API_KEY)."
                    .into()
            }
            ErrorKind::InvalidApiKey => {
                "The endpoint rejected your API key. Check that the key is complete, has not been \
                 revoked, and belongs to this endpoint."
                    .into()
            }
            ErrorKind::DnsFailure => {
                "The endpoint's host name could not be found (DNS). Check the base URL for a typo; \
                 an internal host may need the VPN, and behind a proxy set HTTPS_PROXY."
                    .into()
            }
            ErrorKind::TlsCertificate => {
                "The endpoint's TLS certificate is not trusted. If your company inspects HTTPS \
                 traffic through a corporate proxy, point SSL_CERT_FILE (or \
                 extra_root_certificates) at its root certificate; otherwise check that the base \
                 URL names the host its certificate was issued for."
                    .into()
            }
            ErrorKind::Redirected => match &self.inner.location {
                Some(location) => format!(
                    "The endpoint redirects to {location}. Requests with credentials and prompts \
                     are never sent on to a redirect target, so the base URL is probably out of \
                     date: if that address is the right endpoint, use it as the base URL."
                ),
                None => "The endpoint answered with a redirect, which is not followed for \
                     requests with credentials and prompts. The base URL is probably out of date."
                    .into(),
            },
            ErrorKind::InvalidToolArguments => {
                "The model called a tool with arguments that do not fit its schema. Send this \
                 message back as the tool result so that the model can correct the call."
                    .into()
            }
            ErrorKind::AccessDenied => {
                "Your credential was accepted but is not allowed to do this. On Azure, ask an \
                 administrator to assign you the \"Cognitive Services OpenAI User\" role on the \
                 resource; elsewhere, check the key's permissions or project."
                    .into()
            }
            ErrorKind::Unreachable => {
                "The endpoint could not be reached. Check the base URL, and whether a VPN, \
                 firewall or proxy (HTTPS_PROXY, NO_PROXY) is needed or in the way. If your \
                 company inspects TLS traffic, point SSL_CERT_FILE at its root certificate."
                    .into()
            }
            ErrorKind::Timeout(phase) => match phase {
                TimeoutPhase::Connect => "Connecting to the endpoint timed out. Check the URL, \
                     your network, VPN or proxy."
                    .into(),
                TimeoutPhase::Headers => "The server accepted the connection but did not start \
                     answering in time. It may be overloaded; try again, or raise the header \
                     timeout."
                    .into(),
                TimeoutPhase::Idle => "The server stopped sending in the middle of the reply. \
                     The connection may have been cut by a proxy; try again, or raise the idle \
                     timeout."
                    .into(),
                TimeoutPhase::Total => "The whole request took longer than allowed. Ask for a \
                     shorter reply, or raise the request timeout."
                    .into(),
            },
            ErrorKind::ModelNotFound => {
                let mut s =
                    String::from("This endpoint does not offer that model. Check the model id");
                if self.inner.available_models.is_empty() {
                    s.push_str(" against the endpoint's model list.");
                } else {
                    let shown: Vec<&str> = self
                        .inner
                        .available_models
                        .iter()
                        .take(10)
                        .map(String::as_str)
                        .collect();
                    s.push_str("; it offers: ");
                    s.push_str(&shown.join(", "));
                    if self.inner.available_models.len() > shown.len() {
                        s.push_str(", …");
                    }
                    s.push('.');
                }
                s
            }
            ErrorKind::LockedByOrganization => {
                let what = self.inner.field.as_deref().unwrap_or("this setting");
                match &self.inner.organization {
                    Some(org) => format!(
                        "`{what}` is managed by your organization ({org}) and cannot be changed \
                         here. Ask your administrator if it needs to change."
                    ),
                    None => format!(
                        "`{what}` is managed by your organization and cannot be changed here. \
                         Ask your administrator if it needs to change."
                    ),
                }
            }
            ErrorKind::NotSignedIn => {
                "You are not signed in, or your sign-in expired. Sign in again.".into()
            }
            ErrorKind::RateLimited => match self.inner.retry_after {
                Some(wait) => format!(
                    "The endpoint is rate limiting you. Wait {} and try again.",
                    human_duration(wait)
                ),
                None => "The endpoint is rate limiting you. Wait a little and try again.".into(),
            },
            ErrorKind::QuotaExhausted => {
                "Your quota or credit on this endpoint is used up. Check the account's billing \
                 or plan; waiting will not help."
                    .into()
            }
            ErrorKind::SubscriptionLimit => {
                let reset = match (self.inner.resets_at, self.inner.retry_after) {
                    (Some(at), _) => {
                        let left = at.duration_since(SystemTime::now()).unwrap_or_default();
                        format!(
                            "It resets at {} (in {}).",
                            httpdate::fmt_http_date(at),
                            human_duration(left)
                        )
                    }
                    (None, Some(wait)) => format!("It resets in {}.", human_duration(wait)),
                    (None, None) => "The server did not say when it resets.".to_owned(),
                };
                format!(
                    "You have reached the usage limit of your subscription plan. {reset} The \
                     plan decides these limits, not per-token billing: wait until then, or move \
                     to a plan with higher limits."
                )
            }
            ErrorKind::ContextWindowExceeded => {
                "The conversation is longer than the model's context window. Shorten it, or \
                 choose a model with a larger window."
                    .into()
            }
            ErrorKind::InvalidConfig => match &self.inner.field {
                Some(field) => format!("Fix the setting `{field}`: {}.", self.message_tail()),
                None => format!("Fix the configuration: {}.", self.message_tail()),
            },
            ErrorKind::BadRequest => {
                "The endpoint refused the request as invalid. The server's message says which \
                 part; check the model's capabilities (tools, images, reasoning)."
                    .into()
            }
            ErrorKind::Server => {
                "The endpoint had an internal problem. Try again in a moment.".into()
            }
            ErrorKind::StreamError => {
                "The endpoint reported an error in the middle of the reply (or instead of it). \
                 Try again."
                    .into()
            }
            ErrorKind::Truncated => {
                "The connection ended before the reply was complete, so the answer is cut \
                 short. Try again; if it keeps happening, a proxy may be closing long requests."
                    .into()
            }
            ErrorKind::EventTooLarge => {
                "The server sent a single event larger than the configured cap. Raise the event \
                 size cap if the endpoint is trusted."
                    .into()
            }
            ErrorKind::Protocol => {
                "The endpoint's reply did not follow the expected protocol. Check that the base \
                 URL points to an OpenAI-compatible API."
                    .into()
            }
            ErrorKind::Cancelled => "The request was cancelled.".into(),
            ErrorKind::Io => {
                "A local file could not be read or written. Check the path's permissions and \
                 free disk space."
                    .into()
            }
            ErrorKind::ContentFiltered => {
                "The endpoint's content filter blocked this prompt or reply. Rephrase it; if the \
                 content is legitimate, ask the administrator of the resource to review its \
                 content-filter policy."
                    .into()
            }
        }
    }

    fn message_tail(&self) -> &str {
        // `invalid_config` messages start with "invalid `field`: "; the hint names the field itself.
        match self.inner.message.split_once("`: ") {
            Some((_, tail)) => tail.trim_end_matches('.'),
            None => self.inner.message.trim_end_matches('.'),
        }
    }
}

/// A wait in the largest unit that reads naturally: ms, s, min below 2 h, then hours.
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{} ms", d.as_millis())
    } else if secs < 120.0 {
        format!("{} s", secs.ceil() as u64)
    } else if secs < 7200.0 {
        format!("{} min", (secs / 60.0).ceil() as u64)
    } else {
        format!("{} h", (secs / 3600.0).ceil() as u64)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("file operation failed: {e}")).with_source(e)
    }
}
