//! No request follows a redirect: credentials and bodies never reach the 3xx's target.

use cline_provider_core::http::{
    default_error_mapper, HttpClient, HttpConfig, RequestSpec, RetryPolicy,
};
use cline_provider_testkit::{Reply, TestServer};

#[tokio::test]
async fn a_307_to_another_origin_is_an_error_and_nothing_follows_it() {
    let target = TestServer::start().await.expect("server");
    target.route("POST", "/collect", Reply::json(200, serde_json::json!({})));
    let origin = TestServer::start().await.expect("server");
    origin.route(
        "POST",
        "/v1/chat/completions",
        Reply::status(307).header("location", &format!("{}/collect", target.url())),
    );
    let client = HttpClient::new(HttpConfig {
        retry: RetryPolicy::never(),
        ..HttpConfig::default()
    })
    .expect("client");
    let url = format!("{}/v1/chat/completions", origin.url());
    let build = |c: &reqwest::Client| {
        Ok(c.post(url.as_str())
            .header("api-key", "secret-key")
            .body("{\"prompt\":\"private\"}"))
    };
    let spec = RequestSpec::new(&build, &default_error_mapper);
    let err = client
        .send(&spec)
        .await
        .expect_err("a redirect is not followed");
    assert_eq!(err.status(), Some(307));
    assert!(target.requests().is_empty(), "the redirect was followed");
}
