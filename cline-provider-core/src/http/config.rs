//! How the HTTP client connects, waits and retries.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::endpoint::redact_url;
use super::sse::DEFAULT_MAX_EVENT_BYTES;

/// Settings of an [`HttpClient`](super::HttpClient). `Default` gives sane values for talking
/// to LLM endpoints.
///
/// `Debug` prints header names but never header values, and hides a proxy password, since
/// organizations put API keys in custom headers.
///
/// **No limit.** Every timeout accepts `Duration::MAX` to mean "never": deadlines are clamped
/// to about thirty years instead of overflowing.
///
/// ```
/// use std::time::Duration;
/// use cline_provider_core::http::HttpConfig;
///
/// let config = HttpConfig {
///     idle_timeout: Duration::from_secs(60),
///     default_headers: vec![("X-Team".into(), "blue".into())],
///     ..HttpConfig::default()
/// };
/// assert_eq!(config.connect_timeout, Duration::from_secs(10));
/// assert!(config.user_agent.starts_with("cline-provider/"));
/// ```
#[derive(Clone)]
pub struct HttpConfig {
    /// Opening the TCP/TLS connection. Default 10 s.
    pub connect_timeout: Duration,
    /// From sending a request (connecting included) until the response headers arrive.
    /// Default 120 s. Not retried unless [`RetryPolicy::retry_header_timeout`] says so.
    pub header_timeout: Duration,
    /// The longest gap between two pieces of an event while the body streams. Keep-alive
    /// comments do not count as progress. Default 300 s.
    pub idle_timeout: Duration,
    /// The whole request, retries and streaming included. Default: none. A request's own
    /// `timeout` ([`ChatRequest`](crate::ChatRequest)) replaces it for that request.
    pub total_timeout: Option<Duration>,
    /// When and how often to retry while nothing has reached the caller.
    pub retry: RetryPolicy,
    /// Which redirects are followed. Default [`RedirectPolicy::None`]: LLM endpoints do not
    /// redirect POSTs, and a redirect would carry the credentials and the prompt along.
    pub redirects: RedirectPolicy,
    /// Which proxy to use.
    pub proxy: ProxyConfig,
    /// A PEM bundle of extra root certificates (for TLS-inspecting corporate proxies),
    /// trusted in addition to the system's. When `None`, the file named by the
    /// `SSL_CERT_FILE` environment variable is used, if it is set.
    pub extra_root_certificates: Option<PathBuf>,
    /// The cap on one server-sent event. Default 16 MiB.
    pub max_event_bytes: usize,
    /// The `User-Agent` header. Default `cline-provider/<version>`.
    pub user_agent: String,
    /// Headers sent with every request, after the `User-Agent` (so a `User-Agent` here wins).
    /// Checked with [`validate_header`](super::validate_header) when the client is built.
    pub default_headers: Vec<(String, String)>,
    /// Resolves host names instead of the system resolver (to pin a host to an address, or to
    /// use a DNS-over-HTTPS resolver). Default: none, the system's.
    pub dns_resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
    /// Puts the prompt and the reply into each model call's span (`gen_ai.input.messages`,
    /// `gen_ai.output.messages`; see [`telemetry`](crate::telemetry)). Default `false`:
    /// spans carry models, token counts and timings, never what was said.
    pub capture_content: bool,
}

/// Which HTTP redirects a client follows.
///
/// Whatever the policy, credentials never follow a redirect to another origin, and nothing
/// follows one from HTTPS to plain HTTP (that is another origin too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RedirectPolicy {
    /// None: a 3xx answer is an [`ErrorKind::Redirected`](crate::ErrorKind::Redirected) error
    /// naming where it pointed. For LLM requests.
    #[default]
    None,
    /// Up to 10 hops within the same origin (scheme, host and port); a hop to another origin is
    /// refused as above. For the organization's admin API behind a path-rewriting gateway.
    SameOrigin,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(300),
            total_timeout: None,
            retry: RetryPolicy::default(),
            proxy: ProxyConfig::default(),
            extra_root_certificates: None,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
            user_agent: default_user_agent(),
            default_headers: Vec::new(),
            redirects: RedirectPolicy::default(),
            dns_resolver: None,
            capture_content: false,
        }
    }
}

/// `cline-provider/<version>`.
pub fn default_user_agent() -> String {
    format!("cline-provider/{}", env!("CARGO_PKG_VERSION"))
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self
            .default_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        f.debug_struct("HttpConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("header_timeout", &self.header_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("retry", &self.retry)
            .field("proxy", &self.proxy)
            .field("extra_root_certificates", &self.extra_root_certificates)
            .field("max_event_bytes", &self.max_event_bytes)
            .field("user_agent", &self.user_agent)
            .field("default_headers (values hidden)", &header_names)
            .field("redirects", &self.redirects)
            .field(
                "dns_resolver",
                &self.dns_resolver.as_ref().map(|_| "custom"),
            )
            .field("capture_content", &self.capture_content)
            .finish()
    }
}

/// When to retry a request that failed before the first byte of its body.
///
/// Retry `n` (1-based) waits what the server asked for (`Retry-After`, `retry-after-ms`) or,
/// without such a header, `base_delay · 2^(n-1)` capped at `max_delay`, with jitter that
/// keeps it between half and all of that value.
///
/// ```
/// use std::time::Duration;
/// use cline_provider_core::http::RetryPolicy;
///
/// let p = RetryPolicy::default();
/// assert_eq!(p.backoff(1), Duration::from_millis(500));
/// assert_eq!(p.backoff(3), Duration::from_secs(2));
/// assert_eq!(p.backoff(30), Duration::from_secs(30)); // capped
/// let w = p.jittered_backoff(3);
/// assert!(w >= Duration::from_secs(1) && w <= Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt. Default 3.
    pub max_retries: u32,
    /// The first backoff. Default 500 ms.
    pub base_delay: Duration,
    /// The longest backoff. Default 30 s.
    pub max_delay: Duration,
    /// The longest server-requested wait we honour. A server asking for longer gets its error
    /// returned at once instead. Default 120 s.
    pub max_retry_after: Duration,
    /// Whether a header timeout (and an idle timeout before the first event) is retried.
    /// Default `false`: the server may be generating the reply, so a second POST of a slow
    /// reasoning request is billed again, up to once per retry.
    pub retry_header_timeout: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            retry_header_timeout: false,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before retry `retry` (1-based), without jitter:
    /// `base_delay · 2^(retry-1)`, capped at `max_delay`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        self.base_delay
            .checked_mul(1u32 << exp)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// [`backoff`](RetryPolicy::backoff) with "equal jitter": uniformly between half of it
    /// and all of it, so that clients failing together do not retry together.
    pub fn jittered_backoff(&self, retry: u32) -> Duration {
        let full = self.backoff(retry);
        let half = full / 2;
        // In nanoseconds: `Duration::mul_f64` panics when rounding pushes a huge value past
        // `Duration::MAX`.
        let span = (full - half).as_nanos();
        let jitter = (span as f64 * fastrand::f64()) as u128;
        let jitter = Duration::from_nanos(u64::try_from(jitter.min(span)).unwrap_or(u64::MAX));
        half.saturating_add(jitter).min(full)
    }
}

/// Which proxy the client uses.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum ProxyConfig {
    /// The system's proxy settings: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
    /// (upper or lower case), plus the macOS / Windows system settings.
    #[default]
    FromEnv,
    /// No proxy, whatever the environment says.
    Direct,
    /// This proxy, for http and https URLs alike.
    Url {
        /// The proxy, `http://` or `https://`, optionally with `user:password@`.
        url: Url,
        /// Hosts reached directly, in `NO_PROXY` syntax (`localhost,.corp.example,10.0.0.0/8`).
        no_proxy: Option<String>,
    },
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyConfig::FromEnv => f.write_str("FromEnv"),
            ProxyConfig::Direct => f.write_str("Direct"),
            ProxyConfig::Url { url, no_proxy } => f
                .debug_struct("Url")
                .field("url", &redact_url(url))
                .field("no_proxy", no_proxy)
                .finish(),
        }
    }
}

/// What the engine tells the application about a retry it is about to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryInfo {
    /// Which retry this is: 1 for the first retry (the second attempt).
    pub attempt: u32,
    /// How long the engine waits before sending again.
    pub wait: Duration,
    /// The HTTP status of the failed attempt, if it got a response.
    pub status: Option<u16>,
    /// Why the attempt failed, for the log or the status line.
    pub reason: String,
}

impl fmt::Display for RetryInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wait = self.wait.as_secs_f64();
        if wait < 1.0 {
            write!(f, "retrying in {} ms", self.wait.as_millis())?;
        } else {
            write!(f, "retrying in {} s", wait.round() as u64)?;
        }
        write!(f, " (retry {}: {})", self.attempt, self.reason)
    }
}

/// Called before every retry, e.g. to show "retrying in 4 s…".
pub type RetryCallback = Arc<dyn Fn(&RetryInfo) + Send + Sync>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let p = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
            retry_header_timeout: false,
        };
        let got: Vec<u128> = (1..=6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(got, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff(0), Duration::from_millis(100));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn backoff_survives_huge_base() {
        let p = RetryPolicy {
            base_delay: Duration::MAX,
            max_delay: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(5), Duration::from_secs(3));
        assert!(p.jittered_backoff(5) <= Duration::from_secs(3));
    }

    #[test]
    fn jitter_stays_within_half_and_full() {
        let p = RetryPolicy::default();
        for n in 1..8 {
            let full = p.backoff(n);
            for _ in 0..200 {
                let j = p.jittered_backoff(n);
                assert!(
                    j >= full / 2 && j <= full,
                    "{j:?} outside [{:?}, {full:?}]",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn jitter_varies() {
        let p = RetryPolicy::default();
        let samples: std::collections::HashSet<Duration> =
            (0..50).map(|_| p.jittered_backoff(4)).collect();
        assert!(samples.len() > 1, "jitter produced a constant");
    }

    #[test]
    fn debug_hides_header_values_and_proxy_password() {
        let config = HttpConfig {
            default_headers: vec![("X-Api-Key".into(), "sk-very-secret".into())],
            proxy: ProxyConfig::Url {
                url: Url::parse("http://alice:hunter2@proxy.corp:3128").expect("valid url"),
                no_proxy: None,
            },
            ..HttpConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(shown.contains("X-Api-Key"));
        assert!(!shown.contains("sk-very-secret"));
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("alice:[redacted]@proxy.corp"), "{shown}");
    }

    #[test]
    fn retry_info_reads_well() {
        let info = RetryInfo {
            attempt: 2,
            wait: Duration::from_millis(4200),
            status: Some(503),
            reason: "HTTP 503".into(),
        };
        assert_eq!(info.to_string(), "retrying in 4 s (retry 2: HTTP 503)");
        let info = RetryInfo {
            wait: Duration::from_millis(250),
            ..info
        };
        assert!(info.to_string().starts_with("retrying in 250 ms"));
    }
}
