//! Building the HTTP client: every bad setting is a typed configuration error naming its
//! field, and no secret reaches `Debug`.

use std::time::Duration;

use cline_provider_core::http::{HttpClient, HttpConfig, ProxyConfig};
use cline_provider_core::{Error, ErrorKind};

/// A throwaway self-signed CA certificate (public part only), for the PEM-loading tests.
const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBmTCCAT+gAwIBAgIUYrnJm0GUeK2oSQTC+L2LAylr794wCgYIKoZIzj0EAwIw
ITEfMB0GA1UEAwwWY2xpbmUtcHJvdmlkZXIgdGVzdCBDQTAgFw0yNjExMjIyMDE0
MjVaGA8yMTI2MTAyOTIwMTQyNVowITEfMB0GA1UEAwwWY2xpbmUtcHJvdmlkZXIg
dGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABAJa+aU8eGNORaDeSM0Y
zQtFTnkqqJBkMp7yT6xVB7TDCgMIOUas9p6AdOVYZRtp5vEKtEP6wwCuHXw+NT+r
ul6jUzBRMB0GA1UdDgQWBBTPZqFNba4HHzheog48booxvK3HqzAfBgNVHSMEGDAW
gBTPZqFNba4HHzheog48booxvK3HqzAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0gAMEUCIQDmE2+x/u4VJHo4BVoRfYB3ZLq4iKauH2WS4Zmk5YD7ngIgBTXn
5oTiGPEF7A9+PqJvilicYsggMBUVT2GU/BL72uc=
-----END CERTIFICATE-----
";

fn no_env(_: &str) -> Option<String> {
    None
}

fn build(config: HttpConfig) -> Result<HttpClient, Error> {
    HttpClient::with_env(config, &no_env)
}

fn config_error(result: Result<HttpClient, Error>) -> Error {
    let err = result.expect_err("the configuration is refused");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{err}");
    assert!(!err.hint().is_empty());
    err
}

#[test]
fn defaults_are_sane() {
    let c = HttpConfig::default();
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.header_timeout, Duration::from_secs(120));
    assert_eq!(c.idle_timeout, Duration::from_secs(300));
    assert_eq!(c.total_timeout, None);
    assert_eq!(c.retry.max_retries, 3);
    assert_eq!(c.retry.base_delay, Duration::from_millis(500));
    assert_eq!(c.retry.max_delay, Duration::from_secs(30));
    assert_eq!(c.retry.max_retry_after, Duration::from_secs(120));
    assert_eq!(c.proxy, ProxyConfig::FromEnv);
    assert_eq!(c.max_event_bytes, 16 * 1024 * 1024);
    assert_eq!(
        c.user_agent,
        format!("cline-provider/{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(build(c).is_ok());
}

#[test]
fn zero_timeouts_and_cap_are_refused() {
    let cases: Vec<(&str, HttpConfig)> = vec![
        (
            "connect_timeout",
            HttpConfig {
                connect_timeout: Duration::ZERO,
                ..HttpConfig::default()
            },
        ),
        (
            "header_timeout",
            HttpConfig {
                header_timeout: Duration::ZERO,
                ..HttpConfig::default()
            },
        ),
        (
            "idle_timeout",
            HttpConfig {
                idle_timeout: Duration::ZERO,
                ..HttpConfig::default()
            },
        ),
        (
            "total_timeout",
            HttpConfig {
                total_timeout: Some(Duration::ZERO),
                ..HttpConfig::default()
            },
        ),
        (
            "max_event_bytes",
            HttpConfig {
                max_event_bytes: 0,
                ..HttpConfig::default()
            },
        ),
    ];
    for (field, config) in cases {
        let err = config_error(build(config));
        assert_eq!(err.field(), Some(field));
        assert!(err.hint().contains(field), "{}", err.hint());
    }
}

#[test]
fn user_agent_with_a_line_break_is_refused() {
    let err = config_error(build(HttpConfig {
        user_agent: "me\r\nX-Evil: 1".into(),
        ..HttpConfig::default()
    }));
    assert_eq!(err.field(), Some("user_agent"));
}

#[test]
fn a_default_header_may_replace_the_user_agent() {
    let config = HttpConfig {
        default_headers: vec![("User-Agent".into(), "Cline/3.89".into())],
        ..HttpConfig::default()
    };
    assert!(build(config).is_ok());
}

#[test]
fn debug_never_shows_header_values() {
    let config = HttpConfig {
        default_headers: vec![("api-key".into(), "sk-live-1234567890".into())],
        ..HttpConfig::default()
    };
    let client = build(config).expect("valid");
    let shown = format!("{client:?}");
    assert!(shown.contains("api-key"));
    assert!(!shown.contains("sk-live-1234567890"), "{shown}");
}

#[test]
fn extra_root_certificates_from_a_pem_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("corp-ca.pem");
    std::fs::write(&good, TEST_CA).expect("write");
    let config = HttpConfig {
        extra_root_certificates: Some(good),
        ..HttpConfig::default()
    };
    assert!(build(config).is_ok());
}

#[test]
fn unreadable_or_empty_ca_bundles_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pem");
    let err = config_error(build(HttpConfig {
        extra_root_certificates: Some(missing.clone()),
        ..HttpConfig::default()
    }));
    assert_eq!(err.field(), Some("extra_root_certificates"));
    assert!(err.message().contains("missing.pem"));

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").expect("write");
    let err = config_error(build(HttpConfig {
        extra_root_certificates: Some(junk),
        ..HttpConfig::default()
    }));
    assert_eq!(err.field(), Some("extra_root_certificates"));
    assert!(
        err.message().contains("no PEM certificate"),
        "{}",
        err.message()
    );
}

#[test]
fn ssl_cert_file_is_read_when_no_bundle_is_configured() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("ca.pem");
    std::fs::write(&good, TEST_CA).expect("write");
    let good_path = good.to_string_lossy().into_owned();
    let env = move |name: &str| (name == "SSL_CERT_FILE").then(|| good_path.clone());
    assert!(HttpClient::with_env(HttpConfig::default(), &env).is_ok());

    let missing = dir.path().join("nope.pem").to_string_lossy().into_owned();
    let env = move |name: &str| (name == "SSL_CERT_FILE").then(|| missing.clone());
    let err = config_error(HttpClient::with_env(HttpConfig::default(), &env));
    assert_eq!(
        err.field(),
        Some("SSL_CERT_FILE"),
        "the variable to fix is named"
    );
}

#[test]
fn malformed_proxy_variables_are_refused_without_echoing_them() {
    for (var, value) in [
        ("HTTPS_PROXY", "http://user:s3cret@[bad"),
        ("http_proxy", "ftp://proxy.corp:21"),
        ("ALL_PROXY", "http://"),
    ] {
        let env = move |name: &str| (name == var).then(|| value.to_owned());
        let err = config_error(HttpClient::with_env(HttpConfig::default(), &env));
        assert_eq!(err.field(), Some(var));
        assert!(!err.to_string().contains("s3cret"));
        assert!(!err.hint().contains("s3cret"));
    }
}

#[test]
fn usual_proxy_variables_are_accepted() {
    for value in [
        "http://proxy.corp:3128",
        "proxy.corp:8080",
        "https://u:p@proxy.corp",
        "",
    ] {
        let env = move |name: &str| (name == "HTTPS_PROXY").then(|| value.to_owned());
        assert!(
            HttpClient::with_env(HttpConfig::default(), &env).is_ok(),
            "{value}"
        );
    }
    // `Direct` ignores the environment altogether.
    let env = |name: &str| (name == "HTTPS_PROXY").then(|| "http://[bad".to_owned());
    let config = HttpConfig {
        proxy: ProxyConfig::Direct,
        ..HttpConfig::default()
    };
    assert!(HttpClient::with_env(config, &env).is_ok());
}

#[test]
fn explicit_proxy_must_be_http_or_https() {
    let err = config_error(build(HttpConfig {
        proxy: ProxyConfig::Url {
            url: url::Url::parse("ftp://alice:pw123@proxy.corp").expect("url"),
            no_proxy: None,
        },
        ..HttpConfig::default()
    }));
    assert_eq!(err.field(), Some("proxy"));
    assert!(!err.to_string().contains("pw123"), "{err}");
    assert!(err.to_string().contains("alice:[redacted]@proxy.corp"));
}

#[test]
fn the_client_is_cheap_to_clone_and_shares_its_config() {
    let client = build(HttpConfig {
        idle_timeout: Duration::from_secs(7),
        ..HttpConfig::default()
    })
    .expect("valid");
    let clone = client.clone();
    assert_eq!(clone.config().idle_timeout, Duration::from_secs(7));
    let _pool: &reqwest::Client = clone.reqwest();
}
