//! The fake HTTP server: routing, request recording, connection tracking.

use std::collections::VecDeque;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::reply::{json_response, Reply, ReplyBody};
use crate::tls::TestCertificates;

/// A real HTTP/1.1 server on `127.0.0.1`, scripted per test.
///
/// Cloning is cheap and shares the server; it stops (listener closed, open connections
/// dropped) when the last clone is dropped. Must be started inside a Tokio runtime.
///
/// ```
/// use cline_provider_testkit::{Reply, TestServer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let server = TestServer::start().await?;
/// server.route("GET", "/v1/models", Reply::json(200, serde_json::json!({"data": []})));
/// assert!(server.url().starts_with("http://127.0.0.1:"));
/// assert!(server.requests().is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TestServer {
    handle: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    scheme: &'static str,
    accept: JoinHandle<()>,
    // Dropping the sender is the stop signal for every connection task.
    _stop: watch::Sender<()>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

struct Shared {
    state: Mutex<State>,
    connections: watch::Sender<usize>,
}

#[derive(Default)]
struct State {
    routes: Vec<Route>,
    requests: Vec<RecordedRequest>,
}

struct Route {
    method: String,
    path: String,
    responder: Responder,
}

type ReplyFn = Arc<dyn Fn(&RecordedRequest) -> Reply + Send + Sync>;

enum Responder {
    Queue(VecDeque<Reply>),
    Func(ReplyFn),
}

enum Selected {
    Reply(Box<Reply>),
    Func(ReplyFn),
    NotFound,
}

impl Shared {
    // A test that panicked while holding the lock must not turn every later request
    // into a second panic: the state is plain data and stays usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record_and_select(&self, request: &RecordedRequest) -> Selected {
        let mut state = self.lock();
        state.requests.push(request.clone());
        let route = state
            .routes
            .iter_mut()
            .find(|r| r.method == request.method && r.path == request.path);
        match route.map(|r| &mut r.responder) {
            Some(Responder::Queue(queue)) => {
                let next = if queue.len() > 1 {
                    queue.pop_front()
                } else {
                    queue.front().cloned()
                };
                next.map_or(Selected::NotFound, |r| Selected::Reply(Box::new(r)))
            }
            Some(Responder::Func(f)) => Selected::Func(Arc::clone(f)),
            None => Selected::NotFound,
        }
    }
}

impl TestServer {
    /// Binds `127.0.0.1` on a free port and starts serving plain HTTP.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub async fn start() -> std::io::Result<TestServer> {
        TestServer::start_with(None).await
    }

    /// Like [`TestServer::start`], but every connection speaks HTTPS with the server
    /// certificate of `certs` (see [`TestCertificates`]); [`url`](TestServer::url) starts with
    /// `https://127.0.0.1:`. A client that does not trust [`TestCertificates::ca_pem`] fails
    /// the handshake; the server records no request then.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub async fn start_tls(certs: &TestCertificates) -> std::io::Result<TestServer> {
        TestServer::start_with(Some(certs.acceptor()?)).await
    }

    async fn start_with(tls: Option<TlsAcceptor>) -> std::io::Result<TestServer> {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (connections, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            connections,
        });
        let (stop, stop_rx) = watch::channel(());
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stop_rx, tls));
        tracing::debug!(%addr, scheme, "testkit server started");
        Ok(TestServer {
            handle: Arc::new(Handle {
                shared,
                addr,
                scheme,
                accept,
                _stop: stop,
            }),
        })
    }

    /// `http://127.0.0.1:PORT` (`https://` for [`TestServer::start_tls`]), without a
    /// trailing slash.
    pub fn url(&self) -> String {
        format!("{}://{}", self.handle.scheme, self.handle.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.handle.addr
    }

    /// Scripts a route. Each request matching (`method`, `path`) takes the next queued
    /// reply; once the queue has one reply left, that reply repeats for all later
    /// requests. Calling `route` again for the same pair appends to its queue.
    ///
    /// The method is compared case-insensitively, the path exactly (the query string is
    /// ignored). Unmatched requests get `404` with the JSON body
    /// `{"error":{"message":"no route for METHOD PATH","type":"not_found"}}`.
    ///
    /// ```
    /// use cline_provider_testkit::{Reply, TestServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let server = TestServer::start().await?;
    /// // First request: 503; every later one: 200.
    /// server.route("POST", "/v1/chat/completions", Reply::status(503));
    /// server.route("POST", "/v1/chat/completions", Reply::text(200, "ok"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn route(&self, method: &str, path: &str, reply: Reply) {
        let method = method.to_ascii_uppercase();
        let mut state = self.handle.shared.lock();
        match state
            .routes
            .iter_mut()
            .find(|r| r.method == method && r.path == path)
        {
            Some(route) => match &mut route.responder {
                Responder::Queue(queue) => queue.push_back(reply),
                responder @ Responder::Func(_) => {
                    *responder = Responder::Queue(VecDeque::from([reply]));
                }
            },
            None => state.routes.push(Route {
                method,
                path: path.to_owned(),
                responder: Responder::Queue(VecDeque::from([reply])),
            }),
        }
    }

    /// Like [`TestServer::route`] but computes each reply from the request; replaces any
    /// replies queued for the same route.
    ///
    /// `f` runs on the server's task and must not block. Do not capture the
    /// `TestServer` itself in `f`: the server would keep itself alive.
    ///
    /// ```
    /// use cline_provider_testkit::{Reply, TestServer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let server = TestServer::start().await?;
    /// server.route_fn("POST", "/echo", |req| Reply::text(200, req.body_text()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn route_fn(
        &self,
        method: &str,
        path: &str,
        f: impl Fn(&RecordedRequest) -> Reply + Send + Sync + 'static,
    ) {
        let method = method.to_ascii_uppercase();
        let responder = Responder::Func(Arc::new(f));
        let mut state = self.handle.shared.lock();
        match state
            .routes
            .iter_mut()
            .find(|r| r.method == method && r.path == path)
        {
            Some(route) => route.responder = responder,
            None => state.routes.push(Route {
                method,
                path: path.to_owned(),
                responder,
            }),
        }
    }

    /// Every request received so far, in arrival order (matched or not).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.handle.shared.lock().requests.clone()
    }

    /// Forgets the requests recorded so far (routes stay).
    pub fn clear_requests(&self) {
        self.handle.shared.lock().requests.clear();
    }

    /// TCP connections currently open.
    pub fn open_connections(&self) -> usize {
        *self.handle.shared.connections.borrow()
    }

    /// Resolves once no connection is open, or fails after `timeout`: lets a test prove
    /// that dropping a client stream closed the connection.
    pub async fn wait_until_no_connections(
        &self,
        timeout: Duration,
    ) -> Result<(), ConnectionsStillOpen> {
        let mut rx = self.handle.shared.connections.subscribe();
        let waited = tokio::time::timeout(timeout, async {
            // The sender lives as long as `self`, so this cannot report a closed channel.
            let _ = rx.wait_for(|open| *open == 0).await;
        })
        .await;
        match waited {
            Ok(()) => Ok(()),
            Err(_) => Err(ConnectionsStillOpen {
                open: self.open_connections(),
                waited: timeout,
            }),
        }
    }
}

impl fmt::Debug for TestServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.handle.addr)
            .field("open_connections", &self.open_connections())
            .finish_non_exhaustive()
    }
}

/// [`TestServer::wait_until_no_connections`] gave up: connections were still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionsStillOpen {
    /// Connections open when the wait ended.
    pub open: usize,
    /// How long the wait lasted.
    pub waited: Duration,
}

impl fmt::Display for ConnectionsStillOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} connection(s) still open after waiting {:?}; the client did not close them",
            self.open, self.waited
        )
    }
}

impl std::error::Error for ConnectionsStillOpen {}

/// One request as the server received it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, as sent (`"POST"`).
    pub method: String,
    /// The path, without the query string (`"/v1/chat/completions"`).
    pub path: String,
    /// The raw query string without `?`, if the target had one.
    pub query: Option<String>,
    /// Header names lower-cased, in the order received (repeats of a name follow its
    /// first occurrence). Values that are not UTF-8 are converted lossily.
    pub headers: Vec<(String, String)>,
    /// The request body, byte for byte.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The first value of header `name` (any case).
    ///
    /// ```
    /// use cline_provider_testkit::RecordedRequest;
    /// let req = RecordedRequest {
    ///     method: "GET".into(),
    ///     path: "/".into(),
    ///     query: None,
    ///     headers: vec![("x-a".into(), "1".into())],
    ///     body: Default::default(),
    /// };
    /// assert_eq!(req.header("X-A"), Some("1"));
    /// assert_eq!(req.header("x-b"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name` (any case), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body parsed as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (invalid UTF-8 replaced by `U+FFFD`).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Headers whose values are credentials; `Debug` shows `<redacted>` instead.
const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "cookie",
    "chatgpt-account-id",
];

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Headers<'a>(&'a [(String, String)]);
        impl fmt::Debug for Headers<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.iter().map(|(name, value)| {
                        let shown = if SENSITIVE_HEADERS.contains(&name.as_str()) {
                            "<redacted>"
                        } else {
                            value.as_str()
                        };
                        (name.as_str(), shown)
                    }))
                    .finish()
            }
        }
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &Headers(&self.headers))
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

/// Counts a connection as open from accept until its task ends, however it ends.
struct ConnectionGuard {
    shared: Arc<Shared>,
}

impl ConnectionGuard {
    fn new(shared: Arc<Shared>) -> ConnectionGuard {
        shared.connections.send_modify(|open| *open += 1);
        ConnectionGuard { shared }
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared
            .connections
            .send_modify(|open| *open = open.saturating_sub(1));
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    stop: watch::Receiver<()>,
    tls: Option<TlsAcceptor>,
) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(%error, "testkit: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let guard = ConnectionGuard::new(Arc::clone(&shared));
        // Small SSE writes must leave at once, not wait for Nagle's algorithm.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "testkit: could not set TCP_NODELAY");
        }
        let (stream, reset) = match Resetter::attach(stream) {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "testkit: could not prepare the connection");
                continue;
            }
        };
        let stop = stop.clone();
        match &tls {
            None => {
                tokio::spawn(serve_connection(stream, guard, stop, reset));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                // The handshake runs on the connection's task, so a client that never
                // finishes it cannot hold up the accept loop.
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(stream) => serve_connection(stream, guard, stop, reset).await,
                        Err(error) => {
                            tracing::debug!(%error, "testkit: TLS handshake failed");
                        }
                    }
                });
            }
        }
    }
}

/// A second handle on a connection's socket, so that a scripted fault can end it with a TCP
/// reset (`RST`) instead of an orderly close: the last handle to close sends it once
/// [`arm`](Resetter::arm)ed.
#[derive(Clone)]
pub(crate) struct Resetter(Arc<std::net::TcpStream>);

impl Resetter {
    fn attach(stream: tokio::net::TcpStream) -> std::io::Result<(tokio::net::TcpStream, Resetter)> {
        let std_stream = stream.into_std()?;
        let duplicate = std_stream.try_clone()?;
        Ok((
            tokio::net::TcpStream::from_std(std_stream)?,
            Resetter(Arc::new(duplicate)),
        ))
    }

    /// Makes the close of this connection a reset: `SO_LINGER` with a zero timeout (which
    /// never blocks: nothing is waited for, unsent data is dropped).
    pub(crate) fn arm(&self) {
        if let Err(error) = socket2::SockRef::from(&*self.0).set_linger(Some(Duration::ZERO)) {
            tracing::warn!(%error, "testkit: could not arm a connection reset");
        }
    }
}

async fn serve_connection<S>(
    stream: S,
    guard: ConnectionGuard,
    mut stop: watch::Receiver<()>,
    reset: Resetter,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::clone(&guard.shared);
    let service = service_fn(move |request| handle(Arc::clone(&shared), request, reset.clone()));
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "testkit: connection ended with an error");
            }
        }
        _ = stop.changed() => {}
    }
    drop(guard);
}

/// The error a service returns to make hyper drop the connection without answering.
#[derive(Debug)]
struct ScriptedReset;

impl fmt::Display for ScriptedReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("testkit: connection reset before the headers, as scripted")
    }
}

impl std::error::Error for ScriptedReset {}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
    reset: Resetter,
) -> Result<Response<ReplyBody>, ScriptedReset> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            tracing::debug!(%error, "testkit: could not read the request body");
            let body = serde_json::json!({
                "error": {"message": "testkit: could not read the request body", "type": "invalid_request_error"}
            });
            return Ok(json_response(StatusCode::BAD_REQUEST, &body));
        }
    };
    let recorded = RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
    };
    tracing::debug!(method = %recorded.method, path = %recorded.path, "testkit: request");
    let reply = match shared.record_and_select(&recorded) {
        Selected::Reply(reply) => *reply,
        Selected::Func(f) => match catch_unwind(AssertUnwindSafe(|| f(&recorded))) {
            Ok(reply) => reply,
            Err(_) => {
                let body = serde_json::json!({
                    "error": {
                        "message": format!("testkit: the route_fn for {} {} panicked", recorded.method, recorded.path),
                        "type": "testkit_route_panicked"
                    }
                });
                return Ok(json_response(StatusCode::INTERNAL_SERVER_ERROR, &body));
            }
        },
        Selected::NotFound => {
            let body = serde_json::json!({
                "error": {
                    "message": format!("no route for {} {}", recorded.method, recorded.path),
                    "type": "not_found"
                }
            });
            return Ok(json_response(StatusCode::NOT_FOUND, &body));
        }
    };
    if reply.resets_before_headers() {
        reply.wait_before_headers().await;
        reset.arm();
        return Err(ScriptedReset);
    }
    Ok(reply.respond(&recorded.method, &recorded.path, reset).await)
}
