//! `watch`: follows `GET /v1/watch` (a WebSocket of JSON text messages), one line per
//! message, until the server closes it (or Ctrl-C ends the program).

use crate::cli::{Endpoint, Token};
use crate::http::{REQUEST_TIMEOUT, chain, query};
use crate::{Exit, complain, json, say, show};
use futures_util::StreamExt;
use hyper::header::AUTHORIZATION;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// The open watch.
type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Watches from `from` (or from a snapshot), printing each message.
pub async fn run(
    endpoint: &Endpoint,
    token: Option<&Token>,
    from: Option<u64>,
    json: bool,
) -> Exit {
    let from = from.map(|f| f.to_string());
    let url = endpoint.ws(&format!("/v1/watch{}", query(&[("from", from.as_deref())])));
    let request = match request(&url, token) {
        Ok(request) => request,
        Err(e) => return unreachable(endpoint, &e),
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, connect_async(request)).await {
        Ok(Ok((socket, _))) => follow(socket, endpoint, json).await,
        Ok(Err(Error::Http(response))) => {
            let body = response.body().as_deref().unwrap_or_default();
            complain(&show::refusal(response.status(), body));
            Exit::Refused
        }
        Ok(Err(e)) => unreachable(endpoint, &e),
        Err(_) => {
            let secs = REQUEST_TIMEOUT.as_secs();
            complain(&format!("no answer from {endpoint} within {secs}s"));
            Exit::Unreachable
        }
    }
}

/// The upgrade request, with the token.
fn request(url: &str, token: Option<&Token>) -> Result<Request, Error> {
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        request.headers_mut().insert(AUTHORIZATION, token.header());
    }
    Ok(request)
}

/// Says the endpoint could not be reached, and why.
fn unreachable(endpoint: &Endpoint, error: &Error) -> Exit {
    complain(&format!("could not reach {endpoint}: {}", chain(error)));
    Exit::Unreachable
}

/// Prints each text message until the stream ends, stdout closes or the connection
/// fails.
async fn follow(mut socket: Socket, endpoint: &Endpoint, json: bool) -> Exit {
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => {
                if !say(&line(text.as_str(), json)) {
                    return Exit::Ok;
                }
            }
            Ok(Message::Close(frame)) => return closed(frame.as_ref()),
            Ok(_) => {}
            Err(e) => {
                complain(&format!("the watch on {endpoint} broke: {}", chain(&e)));
                return Exit::Unreachable;
            }
        }
    }
    Exit::Ok
}

/// The line for a message: the JSON on one line, or [`show::watched`]'s summary.
fn line(text: &str, json: bool) -> String {
    if json {
        return json::compact(text.as_bytes()).unwrap_or_else(|| text.to_string());
    }
    match serde_json::from_str::<Value>(text) {
        Ok(message) => show::watched(&message),
        Err(_) => text.to_string(),
    }
}

/// The end of the watch: fine when the server closed normally or went away, a refusal
/// (with its reason) otherwise.
fn closed(frame: Option<&CloseFrame>) -> Exit {
    let Some(frame) = frame else {
        return Exit::Ok;
    };
    if matches!(frame.code, CloseCode::Normal | CloseCode::Away) {
        return Exit::Ok;
    }
    complain(&format!(
        "the server closed the watch ({}): {}",
        frame.code, frame.reason
    ));
    Exit::Refused
}
