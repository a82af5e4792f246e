//! Token counts come from the server: any number, any type, in any field, decodes without a
//! panic, and sums saturate instead of overflowing.

use cline_provider_core::{Collector, ModelInfo, StreamEvent};
use cline_provider_openai::ChatCompletionsDecoder;
use proptest::prelude::*;
use serde_json::{json, Value};

fn count() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1e308)),
        Just(json!(-1.5)),
        Just(json!("18446744073709551615")),
        Just(json!("lots")),
        Just(Value::Null),
        Just(json!(true)),
        Just(json!({"nested": 1})),
        any::<u64>().prop_map(|n| json!(n)),
    ]
}

fn price() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        Just(Some(f64::MAX)),
        Just(Some(0.0)),
        (0.0f64..100.0).prop_map(Some)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_usage_chunk_decodes_and_adds_up_without_panicking(
        prompt in count(), completion in count(), cached in count(), hit in count(),
        miss in count(), write in count(), reasoning in count(),
        input_price in price(), output_price in price(), cached_price in price(),
    ) {
        let chunk = json!({
            "choices": [],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "prompt_tokens_details": {"cached_tokens": cached, "cache_write_tokens": write},
                "completion_tokens_details": {"reasoning_tokens": reasoning},
                "prompt_cache_hit_tokens": hit,
                "prompt_cache_miss_tokens": miss,
                "cache_creation_input_tokens": write,
            }
        });
        let mut decoder = ChatCompletionsDecoder::new();
        let mut out = Vec::new();
        // A count of the wrong type may fail the chunk as a protocol error; it must not panic.
        if decoder.decode_data(&chunk.to_string(), &mut out).is_ok() {
            let mut prices = ModelInfo::new("m");
            prices.input_price = input_price;
            prices.output_price = output_price;
            prices.cached_input_price = cached_price;
            let mut collector = Collector::priced(Some(prices.clone()));
            for e in &out {
                collector.push(e);
                if let StreamEvent::Usage(u) = e {
                    prop_assert_eq!(u.total_tokens(), u.input_tokens.saturating_add(u.output_tokens));
                    let _ = u.cost(&prices);
                }
            }
            let _ = collector.finish();
        }
    }
}
