//! Model requests log at TRACE into a buffer (a reply, a 401 with refresh and retry, a refused
//! model, a failure in the stream); no access or refresh token may appear in it.

mod common;

use cline_provider_core::{ChatRequest, Message, Provider};
use cline_provider_testkit::responses::Turn;
use common::{drain, Codex};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_model_request_logs_a_token() {
    let capture = common::Capture::install_trace();

    let codex = Codex::signed_in().await;
    let first = codex.tokens.clone().expect("tokens");
    codex.backend.reject_token(&first.access_token);
    codex.backend.push(Turn::text(&["one"]));
    codex
        .backend
        .push(Turn::new().failed("server_error", "boom"));
    let provider = codex.provider();
    let ask = |model: &str| ChatRequest::new(model).message(Message::user("hi"));
    let (_, err) = drain(provider.stream(ask("gpt-5.5")).await).await;
    assert!(err.is_none(), "{err:?}");
    let (_, err) = drain(provider.stream(ask("gpt-5.5")).await).await;
    assert!(err.is_some());
    let (_, err) = drain(provider.stream(ask("not-on-the-plan")).await).await;
    assert!(err.is_some());
    let _ = provider.list_models().await;

    let stored = codex.setup.own_file().expect("stored");
    let mut secrets = vec![first.access_token.clone(), first.refresh_token.clone()];
    for key in ["access_token", "refresh_token", "id_token"] {
        secrets.push(stored["tokens"][key].as_str().expect("token").to_owned());
    }
    let log = capture.text();
    assert!(log.contains("Codex responses request"), "the flows did log");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a token is in the log");
        // A JWT's signature part alone is as good as the token for nobody, but its claims
        // part would identify the session: neither may appear.
        for part in secret.split('.').filter(|p| p.len() > 16) {
            assert!(!log.contains(part), "part of a token is in the log");
        }
    }
}
