//! The fake issuer holds the rules the SDK depends on: single-use codes bound to their PKCE
//! verifier and redirect URI, rotating refresh tokens with OpenAI's reuse error, revocation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use cline_provider_testkit::oauth::{FakeIssuer, CLIENT_ID};
use sha2::{Digest, Sha256};
use std::time::Duration;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn post_form(issuer: &FakeIssuer, pairs: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let body: String = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(':', "%3A").replace('/', "%2F")))
        .collect::<Vec<_>>()
        .join("&");
    let answer = client()
        .post(format!("{}/oauth/token", issuer.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token endpoint");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("json"))
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_spent_one_is_reported_as_reused() {
    let issuer = FakeIssuer::start().await.expect("issuer");
    let tokens = issuer.issue_tokens(Duration::from_secs(60));
    let refresh = [
        ("grant_type", "refresh_token"),
        ("client_id", CLIENT_ID),
        ("refresh_token", tokens.refresh_token.as_str()),
    ];
    let (status, first) = post_form(&issuer, &refresh).await;
    assert_eq!(status, 200);
    assert_ne!(first["refresh_token"], tokens.refresh_token);
    let (status, again) = post_form(&issuer, &refresh).await;
    assert_eq!(status, 401);
    assert_eq!(again["error"]["code"], "refresh_token_reused");
    let (status, unknown) = post_form(
        &issuer,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("refresh_token", "nope"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(unknown["error"], "invalid_grant");
    assert_eq!(issuer.refresh_requests(), 3);
}

#[tokio::test]
async fn a_code_works_once_and_only_with_its_verifier() {
    let issuer = FakeIssuer::start().await.expect("issuer");
    let verifier = "a".repeat(64);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let redirect = "http://localhost:1455/auth/callback";
    let mut authorize = url::Url::parse(&format!("{}/oauth/authorize", issuer.url())).expect("url");
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", redirect)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "s1");
    let answer = client().get(authorize).send().await.expect("authorize");
    assert_eq!(answer.status(), 302);
    let location =
        url::Url::parse(answer.headers()["location"].to_str().expect("location")).expect("url");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    assert!(location
        .query_pairs()
        .any(|(k, v)| k == "state" && v == "s1"));

    let exchange = |verifier: String| {
        let code = code.clone();
        let issuer = issuer.clone();
        async move {
            post_form(
                &issuer,
                &[
                    ("grant_type", "authorization_code"),
                    ("client_id", CLIENT_ID),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", &verifier),
                ],
            )
            .await
        }
    };
    let (status, wrong) = exchange("b".repeat(64)).await;
    assert_eq!(
        (status, wrong["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // A failed attempt used the code up too (as real issuers do): authorize again for a new one.
    let (status, _) = exchange(verifier.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(issuer.exchange_requests(), 2);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_invalidated() {
    let issuer = FakeIssuer::start().await.expect("issuer");
    let tokens = issuer.issue_tokens(Duration::from_secs(60));
    let answer = client()
        .post(format!("{}/oauth/revoke", issuer.url()))
        .json(&serde_json::json!({"token": tokens.refresh_token, "token_type_hint": "refresh_token", "client_id": CLIENT_ID}))
        .send()
        .await
        .expect("revoke");
    assert_eq!(answer.status(), 200);
    assert!(issuer.is_revoked(&tokens.refresh_token));
    let (status, body) = post_form(
        &issuer,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("refresh_token", tokens.refresh_token.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "refresh_token_invalidated");
}
