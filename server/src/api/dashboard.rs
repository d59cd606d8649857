//! The built dashboard, served by the node itself (`leaseholdd --dashboard`): the static
//! files Trunk writes to `www/dist` (`./scripts/web.sh`), read into memory when the node
//! starts ([`Dashboard::load`]).
//!
//! - `GET /` and `GET /index.html` answer `index.html`, with
//!   `<meta name="leasehold-attach" content="self">` inserted right before `</head>` (the
//!   page then attaches to the origin it came from) and `Cache-Control: no-cache`;
//! - `GET /NAME` answers the file `NAME` of the directory (files in subdirectories as
//!   `DIR/NAME`), its content type from its extension ([`content_type`]);
//! - any other path is 404. Only names read at start are served: nothing is looked up on
//!   the disk per request, so no path can reach outside the directory.
//!
//! These files are public build artefacts: they are served without the bearer token
//! even when the node has one (the API the page then calls still needs it).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path as FsPath;
use std::sync::Arc;

/// What is inserted right before `</head>` of the served `index.html`.
pub const ATTACH_META: &str = r#"<meta name="leasehold-attach" content="self">"#;

/// How deep subdirectories are read (a guard against symbolic link loops).
const MAX_DEPTH: usize = 8;

/// One file to serve.
#[derive(Debug)]
struct File {
    content_type: &'static str,
    bytes: axum::body::Bytes,
}

/// The dashboard's files, read into memory: relative path (`/`-separated) → contents.
#[derive(Debug)]
pub struct Dashboard {
    files: BTreeMap<String, File>,
}

impl Dashboard {
    /// Reads every file of `dir` (and of its subdirectories) into memory, with
    /// [`ATTACH_META`] inserted into `index.html`.
    ///
    /// # Errors
    ///
    /// `NotFound` naming the directory and saying how to build it when the directory or
    /// its `index.html` is missing; the file system's error reading a file otherwise.
    pub fn load(dir: impl AsRef<FsPath>) -> io::Result<Dashboard> {
        let dir = dir.as_ref();
        let missing = |what: &str| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "the dashboard directory {} {what}: build the dashboard with ./scripts/web.sh (or name another directory with --dashboard-dir)",
                    dir.display()
                ),
            )
        };
        if !dir.is_dir() {
            return Err(missing("does not exist"));
        }
        if !dir.join("index.html").is_file() {
            return Err(missing("has no index.html"));
        }
        let mut files = BTreeMap::new();
        read_dir(dir, "", 0, &mut files)
            .map_err(|e| io::Error::new(e.kind(), format!("reading the dashboard: {e}")))?;
        if let Some(index) = files.get_mut("index.html") {
            let text = String::from_utf8_lossy(&index.bytes).into_owned();
            index.bytes = with_attach_meta(&text).into_bytes().into();
        }
        Ok(Dashboard { files })
    }

    /// The names served (relative paths, `/`-separated), in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The response for the file `name`, or 404.
    fn serve(&self, name: &str) -> Response {
        let Some(file) = self.files.get(name) else {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        };
        let mut response = (
            [(header::CONTENT_TYPE, file.content_type)],
            file.bytes.clone(),
        )
            .into_response();
        if name == "index.html" {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        response
    }
}

/// Reads the files of `dir` into `files` under `prefix`.
fn read_dir(
    dir: &FsPath,
    prefix: &str,
    depth: usize,
    files: &mut BTreeMap<String, File>,
) -> io::Result<()> {
    let entries = fs::read_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            // Not UTF-8: no URL names it.
            continue;
        };
        let meta = fs::metadata(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let key = format!("{prefix}{name}");
        if meta.is_dir() {
            if depth < MAX_DEPTH {
                read_dir(&path, &format!("{key}/"), depth + 1, files)?;
            }
        } else if meta.is_file() {
            let bytes = fs::read(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            files.insert(
                key,
                File {
                    content_type: content_type(&name),
                    bytes: bytes.into(),
                },
            );
        }
    }
    Ok(())
}

/// `html` with [`ATTACH_META`] right before its (last) `</head>`, or at its start when it
/// has none.
#[must_use]
pub fn with_attach_meta(html: &str) -> String {
    let at = html.to_ascii_lowercase().rfind("</head>").unwrap_or(0);
    let mut out = String::with_capacity(html.len() + ATTACH_META.len());
    out.push_str(&html[..at]);
    out.push_str(ATTACH_META);
    out.push_str(&html[at..]);
    out
}

/// The content type of a file named `name`, by its extension.
#[must_use]
pub fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// The dashboard's routes: `GET /` and `GET /{*name}` (the API's own routes, matched
/// first, are not affected).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(dashboard: Arc<Dashboard>) -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/{*name}", get(file))
        .with_state(dashboard)
}

/// `GET /`.
async fn index(State(dashboard): State<Arc<Dashboard>>) -> Response {
    dashboard.serve("index.html")
}

/// `GET /{*name}`.
async fn file(State(dashboard): State<Arc<Dashboard>>, Path(name): Path<String>) -> Response {
    dashboard.serve(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meta_goes_right_before_the_head_ends() {
        assert_eq!(
            with_attach_meta("<html><head><title>x</title></head><body></body></html>"),
            format!("<html><head><title>x</title>{ATTACH_META}</head><body></body></html>")
        );
        assert_eq!(
            with_attach_meta("<HEAD></HEAD>"),
            format!("<HEAD>{ATTACH_META}</HEAD>")
        );
        assert_eq!(with_attach_meta("<p>"), format!("{ATTACH_META}<p>"));
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("a-12ab.js"), "text/javascript");
        assert_eq!(content_type("a-12ab_bg.wasm"), "application/wasm");
        assert_eq!(content_type("style.CSS"), "text/css");
        assert_eq!(content_type("logo.svg"), "image/svg+xml");
        assert_eq!(content_type("logo.png"), "image/png");
        assert_eq!(content_type("scenario.json"), "application/json");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }
}
