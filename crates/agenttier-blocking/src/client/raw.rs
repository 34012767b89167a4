//! The escape hatch ([`Client::request`]) for routes without a typed call yet, the raw and
//! streamed responses it gives, and the unauthenticated endpoints outside `/api/v1`:
//! `/healthz`, `/readyz` and `/metrics` (wire spec §11.4).

use std::time::Duration;

use agenttier_core::models::Health;
use agenttier_core::request::{Accept, Request, check_raw_path};
use agenttier_core::{Error, Result, api, response};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Client, FileReader, exchange};
use crate::maybe;

/// A complete answer to a [`RawRequest`]: any success status, its headers and body.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status (2xx: error statuses are returned as [`Error`]).
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body (bounded by `ClientBuilder::max_response_bytes`).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Decodes the body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        response::decode("decode the response", &self.body)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A success answer whose body is read as it arrives (`std::io::Read` in the blocking client,
/// `tokio::io::AsyncRead` in the async one), with the stream idle timeout between reads.
#[derive(Debug)]
#[non_exhaustive]
pub struct StreamedResponse {
    /// The status (2xx).
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, not read yet; dropping it closes the connection.
    pub body: FileReader,
}

/// A request for any path of the Router, sent with the client's credentials, retry policy,
/// timeouts and error mapping; built by [`Client::request`].
///
/// Input errors (a bad path, a header that cannot be sent, a body that cannot be encoded) are
/// kept and returned by `send`, so the builder chain stays plain.
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct RawRequest {
    client: Client,
    req: Result<Request>,
}

impl Client {
    /// A request for `path`, the whole path from the Router's root as the wire spec writes it
    /// (`/api/v1/sandboxes/demo`, `/healthz`), with segments already percent-encoded.
    ///
    /// This is the documented escape hatch for routes the SDK has no typed call for yet. The
    /// answer comes back raw ([`HttpResponse`]), but everything else is what typed calls get:
    /// credentials, retries (idempotent methods only, unless the policy says otherwise),
    /// timeouts, and error statuses mapped to [`Error`].
    ///
    /// ```text
    /// let resp = client.request(Method::GET, "/api/v1/warmpool/status").send()?;  // + .await in async
    /// let status: serde_json::Value = resp.json()?;
    /// ```
    pub fn request(&self, method: Method, path: &str) -> RawRequest {
        let req = check_raw_path(path).map(|()| Request::new(method, path).prefix(""));
        RawRequest::new(self.clone(), req)
    }
}

impl RawRequest {
    /// A request of `client`; an `Err` is returned by `send`.
    pub(crate) fn new(client: Client, req: Result<Request>) -> Self {
        RawRequest { client, req }
    }

    fn map(mut self, f: impl FnOnce(Request) -> Result<Request>) -> Self {
        self.req = self.req.and_then(f);
        self
    }

    /// Adds a query parameter (encoded when sent).
    pub fn query(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        self.map(|r| Ok(r.query(key, value)))
    }

    /// Adds a header. Credentials are the client's: do not set `Authorization` or `X-API-Key`.
    /// The value is marked sensitive, so it never shows in `Debug` output.
    pub fn header(self, name: &str, value: &str) -> Self {
        let header = HeaderName::try_from(name)
            .map_err(|_| Error::invalid_input(format!("invalid header name {name:?}")))
            .and_then(|n| {
                let mut v = HeaderValue::try_from(value)
                    .map_err(|_| Error::invalid_input(format!("invalid value for header {name}")))?;
                v.set_sensitive(true);
                Ok((n, v))
            });
        self.map(|r| header.map(|(n, v)| r.header(n, v)))
    }

    /// Sends `value` as a JSON body (`Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::invalid_input(format!("cannot encode the request body as JSON: {e}")));
        self.map(|r| body.map(|b| r.bytes(b, "application/json")))
    }

    /// Sends raw bytes with their content type.
    pub fn body(self, data: impl Into<Vec<u8>>, content_type: &str) -> Self {
        let (data, content_type) = (data.into(), content_type.to_owned());
        self.map(|r| Ok(r.bytes(data, content_type)))
    }

    /// A timeout for this call instead of the client's.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|r| Ok(r.timeout(timeout)))
    }
}

#[maybe]
impl RawRequest {
    /// Sends the request and reads the whole answer.
    pub async fn send(self) -> Result<HttpResponse> {
        let req = self.req?;
        let resp = exchange::send(&self.client.transport, &req).await?;
        Ok(HttpResponse {
            status: resp.status,
            headers: resp.headers,
            body: resp.body,
        })
    }

    /// Sends the request (which must have no body) and returns the answer before reading its
    /// body, for large or long answers.
    pub async fn send_streamed(self) -> Result<StreamedResponse> {
        let req = self.req?.accept(Accept::Bytes);
        if !matches!(req.body, agenttier_core::request::Body::Empty) {
            return Err(Error::invalid_input(
                "a streamed answer is for requests without a body; use send() for this one",
            ));
        }
        let download = exchange::download(&self.client.transport, &req).await?;
        Ok(StreamedResponse {
            status: download.status(),
            headers: download.headers().clone(),
            body: FileReader { inner: download },
        })
    }
}

#[maybe]
impl Client {
    /// Whether the Router is up (`/healthz`; an error when it does not answer `200`) and ready
    /// to serve (`/readyz`; not being ready is reported in the result, not as an error).
    pub async fn health(&self) -> Result<Health> {
        exchange::send(&self.transport, &api::health::healthz()).await?;
        match exchange::send(&self.transport, &api::health::readyz()).await {
            Ok(resp) => Ok(Health::from_readyz(resp.status, &resp.body)),
            Err(e) if e.status() == Some(503) => {
                let body = e.api().map(|a| a.body.clone()).unwrap_or_default();
                Ok(Health::from_readyz(503, body.as_bytes()))
            }
            Err(e) => Err(e),
        }
    }

    /// The Router's Prometheus metrics, as exposition text (`/metrics`).
    pub async fn metrics(&self) -> Result<String> {
        let resp = exchange::send(&self.transport, &api::health::metrics()).await?;
        String::from_utf8(resp.body).map_err(|e| response::decode_error("read metrics", "not UTF-8 text", e.as_bytes()))
    }
}
