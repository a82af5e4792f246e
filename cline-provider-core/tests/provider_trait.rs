//! The Provider trait is object-safe and its provided `complete` collects the stream.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use cline_provider_core::{
    ChatRequest, Error, ErrorKind, EventStream, FinishReason, Message, ModelInfo, Provider,
    ProviderInfo, ProviderKind, Result, StreamEvent,
};
use futures_util::stream;

struct Scripted {
    events: Vec<Result<StreamEvent>>,
}

#[async_trait]
impl Provider for Scripted {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            kind: ProviderKind::OpenAiCompatible,
            base_url: None,
            default_model: None,
        }
    }
    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        Ok(vec![ModelInfo::new("scripted")])
    }
    async fn stream(&self, request: ChatRequest) -> Result<EventStream> {
        request.validate()?;
        let events: Vec<Result<StreamEvent>> = self
            .events
            .iter()
            .map(|e| match e {
                Ok(ev) => Ok(ev.clone()),
                Err(err) => Err(Error::new(err.kind().clone(), err.message())),
            })
            .collect();
        Ok(Box::pin(stream::iter(events)))
    }
}

#[tokio::test]
async fn complete_collects_through_a_trait_object() {
    let p: Arc<dyn Provider> = Arc::new(Scripted {
        events: vec![
            Ok(StreamEvent::TextDelta { text: "Hi".into() }),
            Ok(StreamEvent::Finish {
                reason: FinishReason::Stop,
            }),
        ],
    });
    let req = ChatRequest::new("scripted").message(Message::user("hello"));
    let r = p.complete(req).await.unwrap();
    assert_eq!(r.text, "Hi");
    assert_eq!(r.finish_reason, Some(FinishReason::Stop));
    assert_eq!(p.list_models().await.unwrap()[0].id, "scripted");
    assert_eq!(p.info().kind.id(), "openai");
}

#[tokio::test]
async fn complete_surfaces_a_mid_stream_error() {
    let p: Box<dyn Provider> = Box::new(Scripted {
        events: vec![
            Ok(StreamEvent::TextDelta { text: "Hi".into() }),
            Err(Error::new(ErrorKind::Truncated, "cut")),
        ],
    });
    let err = p
        .complete(ChatRequest::new("m").message(Message::user("x")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Truncated);
}

/// A wrapper that implements only the required methods, as a policy or logging layer would.
struct Counting {
    inner: Scripted,
    streams: Arc<AtomicUsize>,
}

#[async_trait]
impl Provider for Counting {
    fn info(&self) -> ProviderInfo {
        self.inner.info()
    }
    async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.inner.list_models().await
    }
    async fn stream(&self, request: ChatRequest) -> Result<EventStream> {
        self.streams.fetch_add(1, Ordering::SeqCst);
        self.inner.stream(request).await
    }
}

#[tokio::test]
async fn the_provided_methods_go_through_the_wrappers_own_stream() {
    let streams = Arc::new(AtomicUsize::new(0));
    let p: Box<dyn Provider> = Box::new(Counting {
        inner: Scripted {
            events: vec![Ok(StreamEvent::TextDelta { text: "Hi".into() })],
        },
        streams: Arc::clone(&streams),
    });
    let req = || ChatRequest::new("m").message(Message::user("x"));
    assert_eq!(p.complete(req()).await.unwrap().text, "Hi");
    let mut events = 0;
    let r = p.stream_collect(req(), &mut |_| events += 1).await.unwrap();
    assert_eq!((r.text.as_str(), events), ("Hi", 1));
    assert_eq!(
        p.model_info("m"),
        None,
        "no prices unless the provider knows them"
    );
    assert_eq!(streams.load(Ordering::SeqCst), 2);
}
