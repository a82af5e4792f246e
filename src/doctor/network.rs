//! The network checks: the URL parses, its host resolves, TCP connects, TLS handshakes. They
//! use the application's HTTP settings (resolver, proxy, extra root certificates), so a
//! failure here is the failure a request would meet.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use url::Url;

use super::report::{Checklist, Step};
use crate::http::{
    check_endpoint_url, default_error_mapper, HttpClient, HttpConfig, ProxyConfig, RedirectPolicy,
    RequestSpec, RetryPolicy,
};
use crate::{Error, ErrorKind, TimeoutPhase};

pub(crate) const URL: &str = "network.url";
pub(crate) const DNS: &str = "network.dns";
pub(crate) const TCP: &str = "network.tcp";
pub(crate) const TLS: &str = "network.tls";

const URL_TITLE: &str = "The base URL parses";
const DNS_TITLE: &str = "The host resolves (DNS)";
const TCP_TITLE: &str = "TCP connects";
const TLS_TITLE: &str = "TLS handshakes and the certificate is trusted";

/// Runs the four checks against `url` (`field` names the setting it came from), in order,
/// each skipped when the one before failed.
pub(crate) async fn check(list: &mut Checklist, url: Option<&Url>, field: &str, http: &HttpConfig) {
    let Some(url) = url else {
        list.push(Step::failed(
            URL,
            URL_TITLE,
            format!("no base URL is configured (`{field}`)"),
            "Enter the endpoint's URL, e.g. https://llm.example.com/v1, or ask your \
             administrator for it.",
        ));
        skip_rest(list, &[DNS, TCP, TLS]);
        return;
    };
    match check_endpoint_url(url, field) {
        Ok(()) => list.push(Step::ok(URL, URL_TITLE, crate::http::redact_url(url))),
        Err(e) => {
            list.push(Step::from_error(URL, URL_TITLE, &e));
            skip_rest(list, &[DNS, TCP, TLS]);
            return;
        }
    }
    let (host, port, via) = target(url, &http.proxy);
    let addrs = match resolve(&host, port, http).await {
        Ok(addrs) => {
            let shown: Vec<String> = addrs.iter().take(3).map(|a| a.ip().to_string()).collect();
            list.push(Step::ok(
                DNS,
                DNS_TITLE,
                format!("{host}{via} → {}", shown.join(", ")),
            ));
            addrs
        }
        Err(why) => {
            let err = Error::new(ErrorKind::DnsFailure, "");
            list.push(Step::failed(
                DNS,
                DNS_TITLE,
                format!("{host}{via} does not resolve: {why}"),
                err.hint(),
            ));
            skip_rest(list, &[TCP, TLS]);
            return;
        }
    };
    match connect(&addrs, http.connect_timeout).await {
        Ok(addr) => list.push(Step::ok(
            TCP,
            TCP_TITLE,
            format!("connected to {addr}{via}"),
        )),
        Err(err) => {
            list.push(Step::failed(
                TCP,
                TCP_TITLE,
                format!("{host}:{port}{via}: {}", err.message()),
                err.hint(),
            ));
            skip_rest(list, &[TLS]);
            return;
        }
    }
    if url.scheme() != "https" {
        list.push(Step::ok(
            TLS,
            TLS_TITLE,
            "not used: the URL is plain http:// (see the check on encryption)",
        ));
        return;
    }
    list.push(tls(url, http).await);
}

fn skip_rest(list: &mut Checklist, ids: &[&str]) {
    for id in ids {
        let title = match *id {
            DNS => DNS_TITLE,
            TCP => TCP_TITLE,
            _ => TLS_TITLE,
        };
        let needs: &[&str] = &[URL, DNS, TCP];
        list.skip_unless(id, title, needs);
    }
}

/// Where the connection really goes: the endpoint, or the proxy in front of it.
fn target(url: &Url, proxy: &ProxyConfig) -> (String, u16, String) {
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let proxy_url = match proxy {
        ProxyConfig::Direct => None,
        ProxyConfig::Url { url: p, no_proxy } => {
            (!bypassed(&host, no_proxy.as_deref().unwrap_or(""))).then(|| p.clone())
        }
        ProxyConfig::FromEnv => env_proxy(url.scheme(), &host),
    };
    match proxy_url {
        Some(p) => (
            p.host_str().unwrap_or_default().to_owned(),
            p.port_or_known_default().unwrap_or(3128),
            format!(" (the proxy for {host})"),
        ),
        None => (host, port, String::new()),
    }
}

fn env_proxy(scheme: &str, host: &str) -> Option<Url> {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let no_proxy = var(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
    if bypassed(host, &no_proxy) {
        return None;
    }
    let value = if scheme == "https" {
        var(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
    } else {
        var(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
    }?;
    let value = if value.contains("://") {
        value
    } else {
        format!("http://{value}")
    };
    Url::parse(&value).ok()
}

/// `NO_PROXY` matching as the proxies' users expect: `*`, an exact host, or a domain suffix.
fn bypassed(host: &str, no_proxy: &str) -> bool {
    no_proxy.split(',').map(str::trim).any(|entry| {
        let entry = entry.trim_start_matches('.');
        entry == "*"
            || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}"))))
    })
}

async fn resolve(
    host: &str,
    port: u16,
    http: &HttpConfig,
) -> std::result::Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let found: Vec<SocketAddr> = match &http.dns_resolver {
        Some(resolver) => {
            let name = reqwest::dns::Name::from_str(host).map_err(|e| e.to_string())?;
            resolver
                .resolve(name)
                .await
                .map_err(|e| e.to_string())?
                .map(|a| SocketAddr::new(a.ip(), port))
                .collect()
        }
        None => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| e.to_string())?
            .collect(),
    };
    if found.is_empty() {
        Err("no address".to_owned())
    } else {
        Ok(found)
    }
}

async fn connect(addrs: &[SocketAddr], limit: Duration) -> std::result::Result<SocketAddr, Error> {
    let mut last = None;
    for addr in addrs {
        match tokio::time::timeout(limit, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => return Ok(*addr),
            Ok(Err(e)) => {
                last = Some(Error::new(
                    ErrorKind::Unreachable,
                    format!("could not connect: {e}"),
                ))
            }
            Err(_) => last = Some(Error::timeout(TimeoutPhase::Connect, limit)),
        }
    }
    Err(last.unwrap_or_else(|| Error::new(ErrorKind::Unreachable, "no address to connect to")))
}

/// One request to the base URL through the application's HTTP client: any HTTP answer means
/// the handshake and the certificate were accepted.
async fn tls(url: &Url, http: &HttpConfig) -> Step {
    let config = HttpConfig {
        retry: RetryPolicy::never(),
        redirects: RedirectPolicy::None,
        ..http.clone()
    };
    let client = match HttpClient::new(config) {
        Ok(c) => c,
        Err(e) => return Step::from_error(TLS, TLS_TITLE, &e),
    };
    let build = |c: &reqwest::Client| Ok(c.get(url.clone()));
    let spec = RequestSpec::new(&build, &default_error_mapper);
    match client.send(&spec).await {
        Ok(response) => Step::ok(
            TLS,
            TLS_TITLE,
            format!(
                "certificate accepted (HTTP {} from the base URL)",
                response.status().as_u16()
            ),
        ),
        Err(e) if e.status().is_some() => Step::ok(
            TLS,
            TLS_TITLE,
            format!(
                "certificate accepted (HTTP {} from the base URL)",
                e.status().unwrap_or(0)
            ),
        ),
        Err(e) => Step::from_error(TLS, TLS_TITLE, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_hosts_and_domains() {
        assert!(bypassed("llm.corp.example", ".corp.example"));
        assert!(bypassed("llm.corp.example", "other, corp.example"));
        assert!(bypassed("anything", "*"));
        assert!(!bypassed("llm.example.com", "corp.example"));
        assert!(!bypassed("notcorp.example", "corp.example"));
        assert!(!bypassed("x", ""));
    }

    #[test]
    fn an_explicit_proxy_is_the_connection_target() {
        let url = Url::parse("https://llm.example.com/v1").unwrap();
        let proxy = ProxyConfig::Url {
            url: Url::parse("http://proxy.corp:8080").unwrap(),
            no_proxy: None,
        };
        let (host, port, via) = target(&url, &proxy);
        assert_eq!((host.as_str(), port), ("proxy.corp", 8080));
        assert!(via.contains("llm.example.com"));
        let (host, port, via) = target(&url, &ProxyConfig::Direct);
        assert_eq!(
            (host.as_str(), port, via.as_str()),
            ("llm.example.com", 443, "")
        );
    }
}
