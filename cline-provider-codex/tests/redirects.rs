//! Credentials never follow a redirect: a token endpoint answering 307 elsewhere gets no
//! second copy of the refresh token.

mod common;

use std::time::Duration;

use cline_provider_testkit::{Reply, TestServer};
use common::Setup;

#[tokio::test]
async fn a_refresh_token_does_not_follow_a_redirect_to_another_origin() {
    let setup = Setup::new().await;
    setup.seed_own(Duration::ZERO);
    let elsewhere = TestServer::start().await.expect("server");
    elsewhere.route("POST", "/steal", Reply::json(200, serde_json::json!({})));
    setup.issuer.server().route(
        "POST",
        "/oauth/token",
        Reply::status(307).header("location", &format!("{}/steal", elsewhere.url())),
    );
    let err = setup
        .auth()
        .token()
        .await
        .expect_err("a redirect is no answer");
    assert!(
        elsewhere.requests().is_empty(),
        "the refresh token followed the redirect"
    );
    assert!(setup.own_file().is_some(), "tokens kept: {err}");
}
