//! Persistence: atomic 0600 saves that survive a crash, member settings files, secret stores.

use std::path::Path;

use cline_provider_core::fs::{write_atomic, write_temp};
use cline_provider_core::policy::{ConfigDir, Edit, MemberSettings, ProviderId};
use cline_provider_core::secrets::{
    FileSecretStore, MemorySecretStore, SecretStore, OPENAI_API_KEY,
};
use cline_provider_core::{resolve, ErrorKind};
use secrecy::{ExposeSecret, SecretString};

fn settings(url: &str) -> MemberSettings {
    let mut eff = resolve(None, &MemberSettings::default());
    eff.edit(Edit::BaseUrl(Some(url.into())))
        .expect("valid url");
    eff.edit(Edit::Model(Some("gpt-4o".into())))
        .expect("valid model");
    eff.into_member()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_save_survives_a_crash_between_write_and_rename() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ConfigDir::new(dir.path());
    let path = config.member_settings_path();
    let old = settings("https://old.example/v1");
    config
        .save_member_settings(&old, &MemorySecretStore::new())
        .expect("first save");
    let old_bytes = std::fs::read(&path).expect("read");

    // The new contents are fully written and synced to a temp file, then the process "dies"
    // before the rename: nothing runs after this point, not even the cleanup in Drop.
    let new = settings("https://new.example/v1");
    let pending = write_temp(&path, new.to_json().as_bytes()).expect("write temp");
    let temp = pending.temp_path().to_path_buf();
    assert_eq!(
        temp.parent(),
        path.parent(),
        "the temp file is in the same directory"
    );
    #[cfg(unix)]
    assert_eq!(
        mode(&temp),
        0o600,
        "the temp file is private from its creation"
    );
    std::mem::forget(pending);

    // After the "restart": the old file is intact, byte for byte, and loads.
    assert_eq!(std::fs::read(&path).expect("read"), old_bytes);
    assert_eq!(
        config
            .load_member_settings(&MemorySecretStore::new())
            .expect("old settings load"),
        old
    );
    assert!(temp.exists(), "the crash left the temp file behind");

    // The next save succeeds despite the leftover, and is complete.
    let secrets = MemorySecretStore::new();
    config
        .save_member_settings(&new, &secrets)
        .expect("save after the crash");
    assert_eq!(config.load_member_settings(&secrets).expect("load"), new);
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn a_committed_write_replaces_the_file_and_leaves_no_temp_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("deeper").join("f.json");
    write_atomic(&path, b"one").expect("first");
    write_atomic(&path, b"two").expect("second");
    assert_eq!(std::fs::read(&path).expect("read"), b"two");
    let entries: Vec<_> = std::fs::read_dir(path.parent().expect("parent"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("f.json")]);
    #[cfg(unix)]
    {
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            mode(path.parent().expect("parent")),
            0o700,
            "created directories are private"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_file_that_was_world_readable_becomes_0600_on_save() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("settings.json");
    std::fs::write(&path, "{}").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    settings("https://x.example/v1")
        .save(&path, &MemorySecretStore::new())
        .expect("save");
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn a_failed_save_is_an_error_naming_the_path_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The "directory" is a regular file, so nothing can be created inside it.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "keep me").expect("write");
    let path = blocker.join("settings.json");
    let err = settings("https://x.example/v1")
        .save(&path, &MemorySecretStore::new())
        .expect_err("cannot save");
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert!(err.message().contains("not-a-dir"), "{}", err.message());
    assert!(err.hint().contains("permissions"), "{}", err.hint());
    assert_eq!(std::fs::read_to_string(&blocker).expect("read"), "keep me");
}

#[test]
fn missing_settings_load_as_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ConfigDir::new(dir.path().join("never-created"));
    assert_eq!(
        config
            .load_member_settings(&MemorySecretStore::new())
            .expect("defaults"),
        MemberSettings::default()
    );
}

#[test]
fn a_corrupt_settings_file_is_a_typed_error_and_stays_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ConfigDir::new(dir.path());
    let path = config.member_settings_path();
    let cases = [
        (r#"{"openAiBaseUrl": "https://x.example/v1", "#, "$"),
        (
            r#"{"openAiHeaders": {"X Team": "1"}}"#,
            "openAiHeaders.X Team",
        ),
        (r#"{"openAiBaseUrl": "nope"}"#, "openAiBaseUrl"),
        (r#"{"azureIdentity": "yes"}"#, "azureIdentity"),
        (r#"{"apiProvider": "skynet"}"#, "apiProvider"),
        (r#"{"reasoningEffort": "extreme"}"#, "reasoningEffort"),
        (
            r#"{"openAiModelInfo": {"contextWindow": "big"}}"#,
            "openAiModelInfo.contextWindow",
        ),
    ];
    for (text, field) in cases {
        std::fs::write(&path, text).expect("write");
        let err = config
            .load_member_settings(&MemorySecretStore::new())
            .expect_err("corrupt");
        assert_eq!(err.kind(), &ErrorKind::InvalidConfig, "{text}");
        assert_eq!(err.field(), Some(field), "{text}: {}", err.message());
        assert!(err.message().contains("settings.json"), "{}", err.message());
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            text,
            "left as it was"
        );
    }
}

#[test]
fn settings_round_trip_and_keep_unknown_keys() {
    let text = r#"{
      "apiProvider": "openai",
      "openAiBaseUrl": "https://llm.example.com/v1",
      "openAiHeaders": {"X-Team": "blue"},
      "azureApiVersion": "2024-10-21",
      "azureIdentity": true,
      "openAiModelId": "gpt-4o",
      "openAiModelInfo": {"contextWindow": 128000, "maxTokens": 4096, "supportsImages": true, "temperature": 0.2, "inputPrice": 2.5, "outputPrice": 10},
      "reasoningEffort": "low",
      "someFutureSetting": {"x": [1, 2]}
    }"#;
    let m = MemberSettings::from_json(text).expect("valid");
    assert_eq!(m.provider, Some(ProviderId::OpenAiCompatible));
    assert_eq!(m.model_info.as_ref().and_then(|i| i.temperature), Some(0.2));
    let saved = m.to_json();
    assert!(saved.contains("someFutureSetting"));
    assert!(saved.contains("\"temperature\": 0.2"), "{saved}");
    assert_eq!(MemberSettings::from_json(&saved).expect("round trip"), m);
}

#[test]
fn credential_like_member_headers_are_saved_to_the_secret_store_not_the_settings_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ConfigDir::new(dir.path());
    let store = config.file_secret_store();
    let mut eff = resolve(None, &settings("https://gw.example/v1"));
    eff.edit(Edit::SetHeader {
        name: "X-Gateway-Token".into(),
        value: "gw-secret-4242".into(),
    })
    .expect("edit");
    eff.edit(Edit::SetHeader {
        name: "X-Team".into(),
        value: "blue".into(),
    })
    .expect("edit");
    config
        .save_member_settings(eff.member(), &store)
        .expect("save");

    let file = std::fs::read_to_string(config.member_settings_path()).expect("read");
    assert!(!file.contains("gw-secret-4242"), "{file}");
    assert!(
        file.contains("X-Gateway-Token") && file.contains("blue"),
        "{file}"
    );
    let kept = store
        .get("openAiHeaders.X-Gateway-Token")
        .expect("get")
        .expect("in the store");
    assert_eq!(kept.expose_secret(), "gw-secret-4242");
    assert_eq!(
        &config.load_member_settings(&store).expect("load"),
        eff.member(),
        "the header comes back from the store"
    );
    // The file form needs the store: reading it without one says so instead of dropping it.
    let err = MemberSettings::from_json(&file).expect_err("needs the store");
    assert_eq!(err.field(), Some("openAiHeaders.X-Gateway-Token"));

    // A store that lost the value is an error naming the header, never a silent drop.
    store
        .delete("openAiHeaders.X-Gateway-Token")
        .expect("delete");
    let err = config.load_member_settings(&store).expect_err("lost");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(err.field(), Some("openAiHeaders.X-Gateway-Token"));

    // Removing the header removes its value from the store on the next save.
    config
        .save_member_settings(eff.member(), &store)
        .expect("save again");
    eff.edit(Edit::RemoveHeader("X-Gateway-Token".into()))
        .expect("remove");
    config
        .save_member_settings(eff.member(), &store)
        .expect("save without it");
    assert!(store
        .get("openAiHeaders.X-Gateway-Token")
        .expect("get")
        .is_none());
    assert_eq!(
        config.load_member_settings(&store).expect("load"),
        *eff.member()
    );
}

#[test]
fn a_settings_file_from_before_keeps_its_inline_credential_header_until_the_next_save() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ConfigDir::new(dir.path());
    let store = MemorySecretStore::new();
    std::fs::write(
        config.member_settings_path(),
        r#"{"openAiHeaders": {"X-Api-Key": "inline-secret-1"}}"#,
    )
    .expect("write");
    let m = config.load_member_settings(&store).expect("load");
    assert_eq!(m.headers.get("X-Api-Key"), Some("inline-secret-1"));
    config.save_member_settings(&m, &store).expect("save");
    let file = std::fs::read_to_string(config.member_settings_path()).expect("read");
    assert!(!file.contains("inline-secret-1"), "{file}");
    assert_eq!(config.load_member_settings(&store).expect("load"), m);
}

#[test]
fn sensitive_member_headers_are_masked_in_debug() {
    let m = MemberSettings::from_json(
        r#"{"openAiHeaders": {"X-Api-Key": "hdr-secret-999", "X-Team": "blue"}}"#,
    )
    .expect("valid");
    let dbg = format!("{m:?}");
    assert!(!dbg.contains("hdr-secret-999"), "{dbg}");
    assert!(dbg.contains("blue"));
    assert!(!format!("{:?}", resolve(None, &m)).contains("hdr-secret-999"));
    assert!(!resolve(None, &m)
        .report()
        .to_string()
        .contains("hdr-secret-999"));
}

#[test]
fn the_default_config_dir_comes_from_the_platform() {
    // Needs a home directory; CI and developer machines have one.
    if let Ok(dir) = ConfigDir::platform_default() {
        assert!(
            dir.root().to_string_lossy().contains("cline-provider"),
            "{:?}",
            dir.root()
        );
        assert!(dir.secrets_path().ends_with("secrets.json"));
        assert!(dir.policy_cache_dir().ends_with("cache"));
    } else {
        eprintln!("skipped: no home directory on this machine");
    }
}

#[test]
fn the_file_secret_store_keeps_keys_in_a_private_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = ConfigDir::new(dir.path());
    let store = config.file_secret_store();
    assert!(store.get(OPENAI_API_KEY).expect("get").is_none());
    store
        .set(OPENAI_API_KEY, SecretString::from("sk-file-secret-0001"))
        .expect("set");
    store.set("other", SecretString::from("x")).expect("set");
    #[cfg(unix)]
    assert_eq!(mode(store.path()), 0o600);

    // A second handle (another process, say) reads the same file.
    let again = FileSecretStore::new(config.secrets_path());
    let key = again.get(OPENAI_API_KEY).expect("get").expect("present");
    assert_eq!(key.expose_secret(), "sk-file-secret-0001");
    assert!(!format!("{store:?}{again:?}{key:?}").contains("sk-file-secret"));

    store.delete(OPENAI_API_KEY).expect("delete");
    store.delete(OPENAI_API_KEY).expect("delete again");
    assert!(again.get(OPENAI_API_KEY).expect("get").is_none());
    assert!(again.get("other").expect("get").is_some());

    // Secrets never go into the settings file.
    let eff = resolve(None, &MemberSettings::default());
    config
        .save_member_settings(eff.member(), &store)
        .expect("save");
    store
        .set(OPENAI_API_KEY, SecretString::from("sk-file-secret-0002"))
        .expect("set");
    let settings_text = std::fs::read_to_string(config.member_settings_path()).expect("read");
    assert!(!settings_text.contains("sk-file-secret"));
    assert_eq!(
        eff.api_key(&store)
            .expect("read")
            .map(|k| k.expose_secret().to_owned()),
        Some("sk-file-secret-0002".to_owned())
    );
}

#[test]
fn a_corrupt_secrets_file_is_a_typed_error_that_quotes_nothing_and_is_not_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("secrets.json");
    let damaged = r#"{"openAiApiKey": "sk-leaky-secret-77"#;
    std::fs::write(&path, damaged).expect("write");
    let store = FileSecretStore::new(&path);
    let err = store.get(OPENAI_API_KEY).expect_err("corrupt");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert!(err.message().contains("secrets.json"), "{}", err.message());
    assert!(!err.message().contains("sk-leaky"), "{}", err.message());
    assert!(!format!("{err:?}").contains("sk-leaky"));
    let err = store
        .set("k", SecretString::from("v"))
        .expect_err("refuses to overwrite");
    assert_eq!(err.kind(), &ErrorKind::InvalidConfig);
    assert_eq!(std::fs::read_to_string(&path).expect("read"), damaged);

    std::fs::write(&path, r#"{"openAiApiKey": 5}"#).expect("write");
    assert_eq!(
        store.get(OPENAI_API_KEY).expect_err("not a string").kind(),
        &ErrorKind::InvalidConfig
    );
}

#[test]
fn the_memory_store_is_shareable_as_a_trait_object() {
    let store: std::sync::Arc<dyn SecretStore> = std::sync::Arc::new(MemorySecretStore::new());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = store.clone();
            std::thread::spawn(move || s.set(&format!("k{i}"), SecretString::from(format!("v{i}"))))
        })
        .collect();
    for h in handles {
        h.join().expect("thread").expect("set");
    }
    for i in 0..4 {
        let v = store.get(&format!("k{i}")).expect("get").expect("present");
        assert_eq!(v.expose_secret(), format!("v{i}"));
    }
    assert!(!format!("{store:?}").contains("v1"));
}

#[cfg(feature = "keyring")]
#[test]
fn the_keyring_store_works_or_says_why_not() {
    use cline_provider_core::secrets::KeyringSecretStore;
    match KeyringSecretStore::new("cline-provider-test") {
        Ok(store) => {
            let key = format!("test-{}", std::process::id());
            match store.set(&key, SecretString::from("kr-secret")) {
                Ok(()) => {
                    let got = store.get(&key).expect("get").expect("present");
                    assert_eq!(got.expose_secret(), "kr-secret");
                    store.delete(&key).expect("delete");
                    assert!(store.get(&key).expect("get").is_none());
                }
                // A keyring service that exists but refuses (locked, no prompt possible).
                Err(e) => {
                    assert_eq!(e.kind(), &ErrorKind::Io);
                    eprintln!("keyring present but unusable here: {e}");
                }
            }
        }
        Err(e) => {
            assert_eq!(e.kind(), &ErrorKind::Io);
            assert!(e.message().contains("keyring"), "{}", e.message());
            eprintln!("skipped round trip: {e}");
        }
    }
}
