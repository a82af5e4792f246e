//! `ManagedConnection`: a live connection follows the organization's policy as the (fake)
//! admin API changes it — on demand, on its schedule and after a sign-in — with streams in
//! flight finishing on the settings they started with, and tells its subscribers what
//! changed. Member edits are saved atomically and re-resolved; refusals change nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cline_provider::policy::{
    ChangeSubject, CheckStatus, ConfigDir, Edit, Field, ManagedConnection, RefreshOutcome,
    RefreshSchedule, RemoteConfigClient, UpdateCause,
};
use cline_provider::secrets::{MemorySecretStore, SecretStore, OPENAI_API_KEY};
use cline_provider::{connector, ChatRequest, ConnectOptions, ErrorKind, Message, StreamEvent};
use cline_provider_testkit::{openai, Reply, TestServer};
use futures_util::StreamExt;
use serde_json::{json, Value};

const DISCOVERY: &str = "/api/v1/users/me/remote-config";

/// An LLM endpoint that answers every chat request with `words`.
async fn llm(words: &'static [&'static str]) -> TestServer {
    let server = TestServer::start().await.unwrap();
    server.route(
        "POST",
        "/v1/chat/completions",
        Reply::sse(openai::text_stream("m", words, "stop", None)),
    );
    server.route(
        "GET",
        "/v1/models",
        Reply::json(
            200,
            openai::models(&["old-model", "new-model", "spare-model"]),
        ),
    );
    server
}

fn policy_doc(version: &str, llm: &TestServer, team: &str, model: &str) -> Value {
    json!({"version": version, "providerSettings": {"OpenAiCompatible": {
        "openAiBaseUrl": format!("{}/v1", llm.url()),
        "openAiHeaders": {"X-Team": team},
        "models": [{"id": model}, {"id": "spare-model"}]
    }}})
}

/// The admin API, answering discovery with whatever `answer` holds at the time (only to the
/// bearer token in `token`).
struct Admin {
    server: TestServer,
    answer: Arc<Mutex<Value>>,
    token: Arc<Mutex<String>>,
}

impl Admin {
    async fn start(doc: &Value) -> Admin {
        let server = TestServer::start().await.unwrap();
        let answer = Arc::new(Mutex::new(Value::Null));
        let token = Arc::new(Mutex::new("member-token".to_owned()));
        let (a, t) = (answer.clone(), token.clone());
        server.route_fn("GET", DISCOVERY, move |req| {
            let expected = format!("Bearer {}", t.lock().unwrap());
            if req.header("authorization") != Some(expected.as_str()) {
                return Reply::json(401, json!({"error": "invalid token"}));
            }
            Reply::json(200, a.lock().unwrap().clone())
        });
        let admin = Admin {
            server,
            answer,
            token,
        };
        admin.publish(doc);
        admin
    }

    fn publish(&self, doc: &Value) {
        self.answer_with(json!({"success": true, "data": {
            "organizationId": "org-acme",
            "value": doc.to_string(),
            "organizations": [{"organizationId": "org-acme", "name": "Acme"}]
        }}));
    }

    fn answer_with(&self, body: Value) {
        *self.answer.lock().unwrap() = body;
    }
}

struct Member {
    dir: tempfile::TempDir,
    secrets: Arc<MemorySecretStore>,
}

impl Member {
    fn new(settings: Value) -> Member {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            ConfigDir::new(dir.path()).member_settings_path(),
            settings.to_string(),
        )
        .unwrap();
        let secrets = Arc::new(MemorySecretStore::new());
        secrets
            .set(OPENAI_API_KEY, "sk-member-key".to_owned().into())
            .unwrap();
        Member { dir, secrets }
    }

    fn config(&self) -> ConfigDir {
        ConfigDir::new(self.dir.path())
    }

    async fn open(
        &self,
        admin: &Admin,
        token: &str,
        schedule: Option<RefreshSchedule>,
    ) -> ManagedConnection {
        let mut remote = RemoteConfigClient::new(&admin.server.url(), token.to_owned().into())
            .unwrap()
            .with_cache_dir(self.config().policy_cache_dir());
        if let Some(schedule) = schedule {
            remote = remote.with_schedule(schedule);
        }
        ManagedConnection::open(
            connector(),
            Arc::new(remote),
            self.config(),
            self.secrets.clone(),
            ConnectOptions::default(),
        )
        .await
        .unwrap()
    }
}

fn hello(model: &str) -> ChatRequest {
    ChatRequest::new(model).message(Message::user("hello"))
}

fn chats(server: &TestServer) -> Vec<cline_provider_testkit::RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .collect()
}

async fn text_of(stream: &mut cline_provider::EventStream) -> String {
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::TextDelta { text: t } = event.unwrap() {
            text.push_str(&t);
        }
    }
    text
}

#[tokio::test]
async fn a_policy_change_reaches_the_running_provider_and_a_stream_in_flight_finishes_on_the_old_url(
) {
    let old = llm(&["old ", "reply ", "continues"]).await;
    let new = llm(&["new ", "reply"]).await;
    let admin = Admin::start(&policy_doc("v1", &old, "blue", "old-model")).await;
    let member = Member::new(json!({"openAiModelId": "old-model"}));
    let managed = member.open(&admin, "member-token", None).await;
    let provider = managed.provider();
    let mut updates = managed.subscribe();
    assert_eq!(updates.borrow_and_update().cause, UpdateCause::Opened);

    // A stream starts on the old policy and has delivered its first event.
    let mut in_flight = provider.stream(hello("")).await.unwrap();
    let first = loop {
        match in_flight.next().await.unwrap().unwrap() {
            StreamEvent::Metadata { .. } => continue,
            output => break output,
        }
    };
    assert_eq!(
        first,
        StreamEvent::TextDelta {
            text: "old ".into()
        }
    );

    // The administrator points members at the new endpoint, with a new header and model.
    admin.publish(&policy_doc("v2", &new, "green", "new-model"));
    let outcome = managed.refresh_now().await;
    assert!(
        matches!(outcome, RefreshOutcome::Applied { changed: true, .. }),
        "{outcome:?}"
    );

    // Subscribers hear what changed, in words.
    assert!(updates.has_changed().unwrap());
    let update = updates.borrow_and_update().clone();
    assert_eq!(update.cause, UpdateCause::Organization);
    let said: Vec<&str> = update.changes.iter().map(|c| c.message.as_str()).collect();
    assert!(
        said.contains(
            &format!(
                "your organization changed the base URL (now {}/v1)",
                new.url()
            )
            .as_str()
        ),
        "{said:?}"
    );
    assert!(
        said.contains(&"your organization updated its policy (version v1 → v2)"),
        "{said:?}"
    );
    assert!(update
        .changes
        .iter()
        .any(|c| c.subject == ChangeSubject::Field(Field::Headers)));
    assert!(update
        .changes
        .iter()
        .any(|c| c.subject == ChangeSubject::OfferedModels));
    assert_eq!(
        update
            .settings
            .base_url()
            .value
            .as_ref()
            .map(|u| u.to_string()),
        Some(format!("{}/v1", new.url()))
    );

    // The next request goes to the new URL, with the new header and the new model.
    let mut next = provider.stream(hello("")).await.unwrap();
    assert_eq!(text_of(&mut next).await, "new reply");
    let sent = chats(&new);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("x-team"), Some("green"));
    assert_eq!(sent[0].json().unwrap()["model"], "new-model");

    // The stream that started before the change finishes on the old URL.
    assert_eq!(text_of(&mut in_flight).await, "reply continues");
    assert_eq!(
        chats(&old).len(),
        1,
        "the old endpoint saw only the first request"
    );
    assert_eq!(chats(&old)[0].header("x-team"), Some("blue"));

    // The old model is no longer offered: refused, and nothing is sent anywhere.
    let err = match provider.stream(hello("old-model")).await {
        Ok(_) => panic!("a model no longer offered was sent"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), &ErrorKind::LockedByOrganization);
    assert_eq!(err.available_models(), ["new-model", "spare-model"]);
    assert_eq!(chats(&old).len() + chats(&new).len(), 2);
}

#[tokio::test]
async fn the_schedule_refreshes_without_being_asked() {
    let old = llm(&["old"]).await;
    let new = llm(&["new"]).await;
    let admin = Admin::start(&policy_doc("v1", &old, "blue", "old-model")).await;
    let member = Member::new(json!({}));
    let schedule = RefreshSchedule::new(Duration::from_millis(20), Duration::from_millis(20));
    let managed = member.open(&admin, "member-token", Some(schedule)).await;
    let mut updates = managed.subscribe();
    updates.borrow_and_update();

    admin.publish(&policy_doc("v2", &new, "blue", "old-model"));
    // Nothing calls refresh: the schedule does, and the change is announced. (The guard only
    // turns a schedule that never runs into a failure instead of a hang; it runs every 20 ms.)
    tokio::time::timeout(Duration::from_secs(60), updates.changed())
        .await
        .expect("no refresh in 60 s: the schedule is not running")
        .unwrap();
    let update = updates.borrow_and_update().clone();
    assert_eq!(update.cause, UpdateCause::Organization);
    assert!(update
        .changes
        .iter()
        .any(|c| c.subject == ChangeSubject::Field(Field::BaseUrl)));
    let reply = managed.provider().complete(hello("")).await.unwrap();
    assert_eq!(reply.text, "new");

    // Dropping the connection (and its provider) stops the schedule.
    drop(managed);
    let before = admin.server.requests().len();
    admin.publish(&policy_doc("v3", &old, "blue", "old-model"));
    // Give a live schedule time for several refreshes; a stopped one makes none.
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        admin.server.requests().len(),
        before,
        "refreshed after the drop"
    );
}

#[tokio::test]
async fn signing_in_fetches_the_policy_at_once() {
    let llm_server = llm(&["hi"]).await;
    let admin = Admin::start(&policy_doc("v1", &llm_server, "blue", "old-model")).await;
    *admin.token.lock().unwrap() = "fresh-token".into();
    let member = Member::new(json!({
        "openAiBaseUrl": format!("{}/v1", llm_server.url()),
        "openAiModelId": "anything"
    }));
    // Opened with an expired token: no policy yet, the member's own settings.
    let managed = member.open(&admin, "expired-token", None).await;
    assert!(managed.settings().policy().is_none());
    let mut updates = managed.subscribe();
    updates.borrow_and_update();

    let outcome = managed.signed_in("fresh-token".to_owned().into()).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let update = updates.borrow_and_update().clone();
    assert_eq!(update.cause, UpdateCause::Organization);
    assert_eq!(
        update.changes[0].message,
        "your organization (Acme) now manages your settings (policy version v1)"
    );
    assert_eq!(
        managed.settings().model_id().value.as_deref(),
        Some("old-model")
    );
}

#[tokio::test]
async fn a_member_edit_is_saved_re_resolved_and_announced_and_a_refusal_changes_nothing() {
    let llm_server = llm(&["hi"]).await;
    let admin = Admin::start(&policy_doc("v1", &llm_server, "blue", "old-model")).await;
    let member = Member::new(json!({"openAiModelId": "old-model"}));
    let managed = member.open(&admin, "member-token", None).await;
    let mut updates = managed.subscribe();
    updates.borrow_and_update();
    let path = member.config().member_settings_path();

    managed
        .edit(Edit::Model(Some("spare-model".into())))
        .await
        .unwrap();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(saved["openAiModelId"], "spare-model");
    let update = updates.borrow_and_update().clone();
    assert_eq!(update.cause, UpdateCause::Member);
    assert_eq!(
        update.changes[0].message,
        "The model changed to spare-model"
    );
    managed.provider().complete(hello("")).await.unwrap();
    assert_eq!(
        chats(&llm_server)[0].json().unwrap()["model"],
        "spare-model"
    );

    let bytes = std::fs::read(&path).unwrap();
    let settings = managed.settings();
    for refused in [
        Edit::BaseUrl(Some("https://elsewhere.example/v1".into())),
        Edit::Model(Some("gpt-4o".into())),
        // The organization sets the headers: the whole set is locked.
        Edit::SetHeader {
            name: "X-Gateway-Token".into(),
            value: "gw-secret-77".into(),
        },
        Edit::SetHeader {
            name: "Host".into(),
            value: "evil.example".into(),
        },
    ] {
        let err = managed.edit(refused).await.unwrap_err();
        assert!(!err.hint().is_empty());
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "a refusal changed the file"
    );
    assert_eq!(
        *managed.settings(),
        *settings,
        "a refusal changed the settings"
    );
    assert!(!updates.has_changed().unwrap(), "a refusal was announced");

    // The report's checks pass for a managed connection: saved, cached, listed.
    let report = managed.report().await;
    assert!(report.all_checks_pass(), "{report}");
    assert!(
        report
            .checks
            .iter()
            .all(|c| c.status != CheckStatus::Skipped),
        "{report}"
    );
}

#[tokio::test]
async fn credential_headers_a_member_adds_stay_out_of_the_settings_file() {
    let llm_server = llm(&["hi"]).await;
    let admin = Admin::start(
        &json!({"version": "v1", "providerSettings": {"OpenAiCompatible": {
            "openAiBaseUrl": format!("{}/v1", llm_server.url())
        }}}),
    )
    .await;
    let member = Member::new(json!({"openAiModelId": "m"}));
    let managed = member.open(&admin, "member-token", None).await;
    managed
        .edit(Edit::SetHeader {
            name: "X-Gateway-Token".into(),
            value: "gw-secret-77".into(),
        })
        .await
        .unwrap();
    let file = std::fs::read_to_string(member.config().member_settings_path()).unwrap();
    assert!(!file.contains("gw-secret-77"), "{file}");
    assert!(member
        .secrets
        .get("openAiHeaders.X-Gateway-Token")
        .unwrap()
        .is_some());
    managed.provider().complete(hello("")).await.unwrap();
    assert_eq!(
        chats(&llm_server)[0].header("x-gateway-token"),
        Some("gw-secret-77")
    );
}

#[tokio::test]
async fn a_bad_admin_answer_leaves_the_running_policy_in_force() {
    let llm_server = llm(&["hi"]).await;
    let admin = Admin::start(&policy_doc("v1", &llm_server, "blue", "old-model")).await;
    let member = Member::new(json!({}));
    let managed = member.open(&admin, "member-token", None).await;
    let mut updates = managed.subscribe();
    updates.borrow_and_update();

    admin.answer_with(json!({}));
    let outcome = managed.refresh_now().await;
    assert!(
        matches!(outcome, RefreshOutcome::Kept { .. }),
        "{outcome:?}"
    );
    assert!(!updates.has_changed().unwrap());
    let err = match managed.provider().stream(hello("gpt-4o")).await {
        Ok(_) => panic!("the policy was lifted by a bad answer"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), &ErrorKind::LockedByOrganization);

    // An explicit "none" lifts it, and the member's own settings come back.
    admin.answer_with(json!({"success": true, "data": null}));
    managed.refresh_now().await;
    let update = updates.borrow_and_update().clone();
    assert_eq!(
        update.changes[0].message,
        "your organization's policy no longer applies; your own settings are in effect again"
    );
    assert!(managed.settings().policy().is_none());
}

#[tokio::test]
async fn a_connection_without_a_key_fails_clearly_until_the_member_stores_one() {
    let llm_server = llm(&["hi"]).await;
    let admin = Admin::start(&policy_doc("v1", &llm_server, "blue", "old-model")).await;
    let member = Member::new(json!({}));
    member.secrets.delete(OPENAI_API_KEY).unwrap();
    let managed = member.open(&admin, "member-token", None).await;
    let provider = managed.provider();
    let err = match provider.stream(hello("")).await {
        Ok(_) => panic!("sent without a key"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some(OPENAI_API_KEY));
    assert!(managed.connect_error().is_some());
    let mut updates = managed.subscribe();
    assert!(updates.borrow_and_update().connect_error.is_some());

    managed
        .set_api_key("sk-entered-later".to_owned().into())
        .await
        .unwrap();
    let update = updates.borrow_and_update().clone();
    assert_eq!(update.cause, UpdateCause::Reconnected);
    assert!(update.connect_error.is_none());
    provider.complete(hello("")).await.unwrap();
    assert_eq!(
        chats(&llm_server)[0].header("authorization"),
        Some("Bearer sk-entered-later")
    );
}
