//! The loopback server that receives the browser's redirect after sign-in.
//!
//! It binds `127.0.0.1` only (never a public interface) on port 1455, or 1457 when 1455 stays
//! busy, the two ports on OpenAI's redirect allow-list. When the port is held, it first
//! sends `GET /cancel` to it once, the way the Codex CLI asks a stale sign-in server (its own,
//! or ours) to let go, then tries again up to 10 times, 200 ms apart.
//!
//! Routes:
//!
//! - `GET /auth/callback`: reads the answer with
//!   [`CallbackQuery`](super::callback_query::CallbackQuery): a repeated parameter, then
//!   `state` (compared in constant time; a mismatch is a stale tab or a forged request), then
//!   the issuer's `error` (`access_denied`, with the "Codex not enabled for your workspace"
//!   variant), then `code`, which the flow exchanges before the page is sent. A refusal is a
//!   400 or 403 page and ends the flow with an error;
//! - `GET /cancel`: ends this flow (another sign-in wants the port);
//! - anything else: 404.
//!
//! Pages are self-contained HTML (see `pages.rs`) sent with `Cache-Control: no-store`, a
//! strict `Content-Security-Policy` and `Connection: close`.
//!
//! The server lives inside the future that waits for it: no task outlives it, and dropping
//! the future (or the [`BrowserLogin`](super::BrowserLogin) holding the server), or
//! cancelling it, closes the listening socket at once, so the port is free again immediately.

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use cline_provider_core::{CancellationToken, Error, ErrorKind, Result, TimeoutPhase};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::callback_query::{issuer_refusal, CallbackQuery, Refusal};
use super::pages;

const BIND_TRIES: u32 = 10;
const BIND_RETRY_DELAY: Duration = Duration::from_millis(200);
/// How long the last page may take to reach the browser before the flow returns anyway.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                   form-action 'none'; frame-ancestors 'none'";

/// A bound callback server, not serving yet.
#[derive(Debug)]
pub(crate) struct CallbackServer {
    listener: TcpListener,
    port: u16,
}

/// What the flow does with a valid callback's code: exchange it, and say what to show.
pub(crate) type CodeHandler<T> =
    Arc<dyn Fn(SecretString) -> Pin<Box<dyn Future<Output = Result<T>> + Send>> + Send + Sync>;

/// Renders the success page for the flow's result.
pub(crate) type SuccessPage<T> = Arc<dyn Fn(&T) -> String + Send + Sync>;

impl CallbackServer {
    /// Binds `127.0.0.1:preferred`, asking a stale sign-in server there to cancel first, then
    /// `fallback`.
    pub(crate) async fn bind(preferred: u16, fallback: Option<u16>) -> Result<CallbackServer> {
        let mut cancel_sent = false;
        let ports = std::iter::once(preferred).chain(fallback.filter(|f| *f != preferred));
        let mut last_err = None;
        for (index, port) in ports.enumerate() {
            for _ in 0..BIND_TRIES {
                match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                    Ok(listener) => {
                        let port = listener.local_addr()?.port();
                        return Ok(CallbackServer { listener, port });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && port != 0 => {
                        if index == 0 && !cancel_sent {
                            cancel_sent = true;
                            send_cancel(port).await;
                        }
                        last_err = Some(e);
                        tokio::time::sleep(BIND_RETRY_DELAY).await;
                    }
                    Err(e) => {
                        return Err(Error::new(
                            ErrorKind::Io,
                            format!(
                            "could not listen on 127.0.0.1:{port} for the sign-in callback: {e}"
                        ),
                        )
                        .with_source(e))
                    }
                }
            }
        }
        let tried: Vec<String> = std::iter::once(preferred)
            .chain(fallback)
            .map(|p| p.to_string())
            .collect();
        let mut err = Error::new(
            ErrorKind::Io,
            format!(
                "the sign-in callback ports are in use (127.0.0.1 port {})",
                tried.join(" and ")
            ),
        )
        .with_field("callback_port")
        .with_hint(
            "Another program holds the sign-in ports. Finish or close any other OpenAI sign-in \
             (another app, or `codex login`), or sign in with `login --device` instead.",
        );
        if let Some(e) = last_err {
            err = err.with_source(e);
        }
        Err(err)
    }

    /// The bound port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Serves until a callback settles the flow, `/cancel` arrives, or `timeout` passes.
    pub(crate) async fn serve<T: Send + 'static>(
        self,
        expected_state: String,
        on_code: CodeHandler<T>,
        success_page: SuccessPage<T>,
        timeout: Duration,
        cancel: CancellationToken,
    ) -> Result<T> {
        let (done_tx, mut done_rx) = mpsc::channel::<Result<T>>(1);
        let shared = Arc::new(Shared {
            state: expected_state,
            on_code,
            success_page,
            done: done_tx,
            settled: Mutex::new(false),
        });
        let mut connections = JoinSet::new();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let result = loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                Some(result) = done_rx.recv() => break result,
                () = cancel.cancelled() => {
                    break Err(Error::new(ErrorKind::Cancelled, "the browser sign-in was cancelled")
                        .with_hint("The sign-in was cancelled by the application. Start it again to sign in."));
                }
                () = &mut deadline => {
                    break Err(Error::new(
                        ErrorKind::Timeout(TimeoutPhase::Total),
                        format!("the browser sign-in was not finished within {}", minutes(timeout)),
                    )
                    .with_hint(
                        "The sign-in waited for the browser too long. Start it again and finish it \
                         in the tab it opens; on a machine without a browser use \
                         `login --device`.",
                    ));
                }
            }
        };
        // Stop listening at once; let the last page reach the browser.
        drop(self.listener);
        let _ = tokio::time::timeout(FLUSH_WAIT, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        result
    }
}

struct Shared<T> {
    state: String,
    on_code: CodeHandler<T>,
    success_page: SuccessPage<T>,
    done: mpsc::Sender<Result<T>>,
    // Only the first settling callback counts.
    settled: Mutex<bool>,
}

impl<T> Shared<T> {
    fn settle(&self) -> bool {
        let mut settled = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        !std::mem::replace(&mut *settled, true)
    }
}

async fn serve_connection<T: Send + 'static>(stream: TcpStream, shared: Arc<Shared<T>>) {
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(route(request, &shared).await) }
    });
    let connection = http1::Builder::new()
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(error) = connection.await {
        tracing::debug!(%error, "sign-in callback connection ended with an error");
    }
}

async fn route<T: Send + 'static>(
    request: Request<Incoming>,
    shared: &Shared<T>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    if request.method() != http::Method::GET {
        return html(StatusCode::METHOD_NOT_ALLOWED, pages::not_found());
    }
    match path.as_str() {
        "/auth/callback" => callback(request.uri().query().unwrap_or(""), shared).await,
        "/cancel" => {
            if shared.settle() {
                let _ = shared
                    .done
                    .send(Err(Error::new(
                        ErrorKind::Cancelled,
                        "the browser sign-in was cancelled: another sign-in took over its port",
                    )
                    .with_hint(
                        "Another sign-in started and asked this one to stop. Finish that one, \
                         or start again.",
                    )))
                    .await;
            }
            let mut response = Response::new(Full::new(Bytes::from_static(b"Login cancelled")));
            response.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            response
        }
        _ => html(StatusCode::NOT_FOUND, pages::not_found()),
    }
}

async fn callback<T: Send + 'static>(raw_query: &str, shared: &Shared<T>) -> Response<Full<Bytes>> {
    let query = match CallbackQuery::parse(raw_query) {
        Ok(query) => query,
        Err(err) => {
            return finish(
                shared,
                StatusCode::BAD_REQUEST,
                pages::failure("Sign-in could not be completed", err.message()),
                Err(err),
            )
            .await
        }
    };
    // Logged as facts only: the query carries the code and state.
    tracing::debug!(?query, "sign-in callback received");
    let code = match query.verify(&shared.state) {
        Ok(code) => code,
        Err((why, err)) => {
            let (status, page) = match why {
                Refusal::StateMismatch => (
                    StatusCode::BAD_REQUEST,
                    pages::failure(
                        "State mismatch",
                        "This answer does not belong to the sign-in in progress. Start the \
                         sign-in again.",
                    ),
                ),
                Refusal::Issuer => {
                    let (_, title, detail) = issuer_refusal(
                        query.issuer_error().unwrap_or_default(),
                        query.issuer_error_description(),
                    );
                    (StatusCode::FORBIDDEN, pages::failure(title, &detail))
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    pages::failure(
                        "Sign-in could not be completed",
                        "The answer carries no authorization code.",
                    ),
                ),
            };
            return finish(shared, status, page, Err(err)).await;
        }
    };
    if !shared.settle() {
        return html(
            StatusCode::CONFLICT,
            pages::failure(
                "Sign-in already finished",
                "This sign-in has already been completed or cancelled.",
            ),
        );
    }
    let result = (shared.on_code)(code).await;
    let response = match &result {
        Ok(value) => html(StatusCode::OK, (shared.success_page)(value)),
        Err(e) => html(
            StatusCode::BAD_GATEWAY,
            pages::failure("Sign-in could not be completed", e.message()),
        ),
    };
    let _ = shared.done.send(result).await;
    response
}

async fn finish<T>(
    shared: &Shared<T>,
    status: StatusCode,
    page: String,
    result: Result<T>,
) -> Response<Full<Bytes>> {
    if shared.settle() {
        let _ = shared.done.send(result).await;
    }
    html(status, page)
}

fn html(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let h = response.headers_mut();
    let set = |h: &mut http::HeaderMap, k: http::header::HeaderName, v: &'static str| {
        h.insert(k, http::HeaderValue::from_static(v));
    };
    set(h, http::header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(h, http::header::CACHE_CONTROL, "no-store");
    set(h, http::header::CONTENT_SECURITY_POLICY, CSP);
    set(h, http::header::REFERRER_POLICY, "no-referrer");
    set(h, http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, http::header::CONNECTION, "close");
    response
}

/// Asks whatever listens on `port` (a stale sign-in server) to cancel; best effort.
async fn send_cancel(port: u16) {
    let attempt = async {
        let mut stream = TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        stream
            .write_all(
                format!(
                    "GET /cancel HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .await?;
        let mut buf = [0u8; 64];
        let _ = stream.read(&mut buf).await;
        Ok::<(), std::io::Error>(())
    };
    match tokio::time::timeout(Duration::from_secs(2), attempt).await {
        Ok(Ok(())) => tracing::debug!(port, "asked a stale sign-in server to cancel"),
        Ok(Err(e)) => {
            tracing::debug!(port, error = %e, "could not ask the port's holder to cancel")
        }
        Err(_) => tracing::debug!(port, "the port's holder did not answer /cancel"),
    }
}

fn minutes(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} minutes", secs / 60)
    } else {
        format!("{secs} s")
    }
}
