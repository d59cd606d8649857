//! `encodeBatch` and `decodeBatch`: the log format from JavaScript.

use crate::js;
use crate::shapes::{self, BatchShape};
use js_sys::Error;
use leasehold::Batch;
use wasm_bindgen::prelude::*;

/// Encodes a batch (`{seq, ops}`) in the log format. An operation's `untilMs` is log
/// time here. A malformed batch throws an `Error` naming the field.
#[wasm_bindgen(js_name = encodeBatch, unchecked_return_type = "Uint8Array")]
pub fn encode_batch(
    #[wasm_bindgen(unchecked_param_type = "Batch")] batch: JsValue,
) -> Result<Vec<u8>, Error> {
    const CONTEXT: &str = "encodeBatch";
    shapes::read_batch(&batch, CONTEXT)?
        .encode()
        .map_err(|e| js::js_error(CONTEXT, e))
}

/// Decodes a batch from the log format. Garbage, truncated or oversized bytes throw an
/// `Error` saying what is wrong.
#[wasm_bindgen(js_name = decodeBatch, unchecked_return_type = "Batch")]
pub fn decode_batch(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
) -> Result<JsValue, Error> {
    const CONTEXT: &str = "decodeBatch";
    let bytes = js::bytes(&bytes, CONTEXT, "bytes")?;
    let batch = Batch::decode(&bytes).map_err(|e| js::js_error("decodeBatch: bad batch", e))?;
    let shape = BatchShape {
        seq: batch.seq,
        ops: &batch.ops,
    };
    js::to_js(&shape, CONTEXT)
}
