//! The chat-completions stream as Azure sends it: the OpenAI crate's decoder, plus Azure's
//! content filter. A first chunk with empty `choices` and `prompt_filter_results`, and
//! `content_filter_results` on chunks, decode as nothing; a blocked prompt or reply ends the
//! stream with a [`ContentFiltered`](cline_provider_core::ErrorKind::ContentFiltered) error.

use cline_provider_core::http::sse::{SseDecoder, SseEvent};
use cline_provider_core::{FinishReason, Result, StreamEvent};
use cline_provider_openai::ChatCompletionsDecoder;

use crate::content_filter::{mentions_filtered_true, report_in_chunk};

/// The OpenAI decoder plus Azure's content filter: a blocked prompt or reply becomes a
/// [`ContentFiltered`](ErrorKind::ContentFiltered) error. The chunk is parsed a second time
/// only when it says something was filtered, which a substring scan decides.
pub(crate) struct AzureDecoder {
    inner: ChatCompletionsDecoder,
}

impl AzureDecoder {
    pub(crate) fn new() -> Self {
        AzureDecoder {
            inner: ChatCompletionsDecoder::new(),
        }
    }
}

impl SseDecoder for AzureDecoder {
    fn decode(&mut self, event: &SseEvent, out: &mut Vec<StreamEvent>) -> Result<bool> {
        let start = out.len();
        let done = self.inner.decode(event, out)?;
        let finished_by_filter = out[start..].iter().any(|e| {
            matches!(
                e,
                StreamEvent::Finish {
                    reason: FinishReason::ContentFilter
                }
            )
        });
        if finished_by_filter || mentions_filtered_true(&event.data) {
            if let Some(report) = report_in_chunk(&event.data, finished_by_filter) {
                out.truncate(start);
                return Err(report.into_error());
            }
        }
        Ok(done)
    }
}
