//! Reading a whole response body when the body is not a stream (a model list), with a cap.

use crate::error::{Error, ErrorKind, Result};

/// Reads a whole (non-streamed) response body, refusing more than `cap` bytes: a
/// [`Truncated`](ErrorKind::Truncated) error when the connection breaks, a
/// [`Protocol`](ErrorKind::Protocol) error naming `what` past the cap.
///
/// # Cancellation
///
/// Dropping the future drops the response, which closes the connection.
pub async fn read_body_capped(
    mut response: reqwest::Response,
    cap: usize,
    what: &str,
) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        Error::new(
            ErrorKind::Truncated,
            format!(
                "the {what} was cut off while reading it: {}",
                e.without_url()
            ),
        )
    })? {
        if body.len() + chunk.len() > cap {
            return Err(Error::new(
                ErrorKind::Protocol,
                format!("the {what} is larger than {} MiB", cap / (1024 * 1024)),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
