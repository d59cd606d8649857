//! What the dashboard asks of the page: the wall clock, the URL's query and fragment,
//! whether a lease service served it, downloads.
//! (Browser only; natively these do nothing useful and are never called.)

use wasm_bindgen::JsCast;

/// Wall-clock milliseconds (`performance.now()`), for the page's own cost.
#[must_use]
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

/// Makes the browser compute style and layout now (reading a layout property does).
pub fn settle_layout() {
    if let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    {
        let _ = body.offset_height();
    }
}

/// The URL's query string, with its `?`.
#[must_use]
pub fn query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

/// The link a page served by a lease service attaches with: `?attach=ORIGIN` when the
/// page carries the service's `<meta name="leasehold-attach">` and its own query names
/// neither a cluster nor a scenario; otherwise the page's query.
#[must_use]
pub fn opening_query() -> String {
    let query = query();
    let served = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("meta[name=\"leasehold-attach\"]")
                .ok()
                .flatten()
        })
        .is_some();
    let named = query.contains("attach=") || query.contains("scenario=");
    match web_sys::window().and_then(|w| w.location().origin().ok()) {
        Some(origin) if served && !named => crate::model::link::attach_query(&origin),
        _ => query,
    }
}

/// Replaces the URL's query, keeping its fragment (no reload, no new history entry).
pub fn set_query(query: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(history) = window.history() else {
        return;
    };
    let location = window.location();
    let path = location.pathname().unwrap_or_default();
    let hash = location.hash().unwrap_or_default();
    let _ = history.replace_state_with_url(
        &wasm_bindgen::JsValue::NULL,
        "",
        Some(&format!("{path}{query}{hash}")),
    );
}

/// The URL's fragment, with its `#` (empty without one).
#[must_use]
pub fn hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Goes to the URL's fragment `hash` (`#/learn/2`, or `""` for none) as a new history
/// entry, keeping the query. The page already shows it: no `hashchange` is fired.
pub fn set_hash(hash: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(history) = window.history() else {
        return;
    };
    let location = window.location();
    let path = location.pathname().unwrap_or_default();
    let query = location.search().unwrap_or_default();
    if location.hash().unwrap_or_default() != hash {
        let _ = history.push_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}{query}{hash}")),
        );
    }
}

/// Offers `bytes` as a download named `name`.
pub fn download(name: &str, bytes: &[u8]) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(a) = document
        .create_element("a")
        .ok()
        .and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    // Revoke later: the download has started by then.
    gloo::timers::callback::Timeout::new(10_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
}
