//! grpc-web calls as a browser makes them: HTTP/1.1 POST of one length-prefixed message with
//! `content-type: application/grpc-web+proto`, the status in the headers (trailers-only
//! answers, every error) or in the trailer frame that ends the body; a server stream's messages
//! are the data frames of that body, read as they arrive ([`stream`]).

use std::net::SocketAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use tonic::Status;

/// Calls `path` (`/operant.work.v1.ProjectService/ListProjects`) at `addr` over grpc-web with
/// `metadata`, returning the decoded answer or the status the service sent.
pub async fn call<Req: prost::Message, Res: prost::Message + Default>(
    addr: SocketAddr,
    path: &str,
    message: &Req,
    metadata: &[(&str, &str)],
) -> Result<Res, Status> {
    let payload = message.encode_to_vec();
    let mut body = Vec::with_capacity(payload.len() + 5);
    body.push(0u8);
    body.extend_from_slice(&u32::try_from(payload.len()).expect("small message").to_be_bytes());
    body.extend_from_slice(&payload);
    let client = reqwest::Client::builder().http1_only().build().expect("client");
    let mut request = client
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1");
    for (name, value) in metadata {
        request = request.header(*name, *value);
    }
    let response = request.body(body).send().await.expect("grpc-web call");
    assert_eq!(response.status(), 200, "grpc-web answers HTTP 200 whatever the gRPC status");
    if response.headers().contains_key("grpc-status") {
        let status = Status::from_header_map(response.headers()).expect("a status");
        if status.code() != tonic::Code::Ok {
            return Err(status);
        }
    }
    let bytes = response.bytes().await.expect("body");
    let mut answer = None;
    let mut rest = &bytes[..];
    while rest.len() >= 5 {
        let flag = rest[0];
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let frame = &rest[5..5 + len];
        rest = &rest[5 + len..];
        if flag & 0x80 != 0 {
            let status = Status::from_header_map(&trailers(frame)).expect("a status in the trailers");
            if status.code() != tonic::Code::Ok {
                return Err(status);
            }
        } else {
            answer = Some(Res::decode(frame).expect("a well-formed answer"));
        }
    }
    Ok(answer.expect("an answer message"))
}

/// A server stream over grpc-web, as a browser reads it: the frames of one HTTP/1.1 response
/// body, decoded as they arrive.
pub struct WebStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    done: bool,
}

/// Calls the server-streaming method `path` at `addr` over grpc-web with `metadata`; the
/// status the service refused the call with, or the open stream.
pub async fn stream<Req: prost::Message>(
    addr: SocketAddr,
    path: &str,
    message: &Req,
    metadata: &[(&str, &str)],
) -> Result<WebStream, Status> {
    let payload = message.encode_to_vec();
    let mut body = Vec::with_capacity(payload.len() + 5);
    body.push(0u8);
    body.extend_from_slice(&u32::try_from(payload.len()).expect("small message").to_be_bytes());
    body.extend_from_slice(&payload);
    let client = reqwest::Client::builder().http1_only().build().expect("client");
    let mut request = client
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1");
    for (name, value) in metadata {
        request = request.header(*name, *value);
    }
    let response = request.body(body).send().await.expect("grpc-web call");
    assert_eq!(response.status(), 200, "grpc-web answers HTTP 200 whatever the gRPC status");
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    if response.headers().contains_key("grpc-status") {
        let status = Status::from_header_map(response.headers()).expect("a status");
        if status.code() != tonic::Code::Ok {
            return Err(status);
        }
    }
    Ok(WebStream { response, buffer: Vec::new(), done: false })
}

impl WebStream {
    /// The next message; `None` once the stream ended with OK, the status when it ended with an
    /// error.
    pub async fn next<Res: prost::Message + Default>(&mut self) -> Option<Result<Res, Status>> {
        loop {
            if self.done {
                return None;
            }
            if self.buffer.len() >= 5 {
                let len = u32::from_be_bytes([self.buffer[1], self.buffer[2], self.buffer[3], self.buffer[4]])
                    as usize;
                if self.buffer.len() >= 5 + len {
                    let flag = self.buffer[0];
                    let frame: Vec<u8> = self.buffer.drain(..5 + len).skip(5).collect();
                    if flag & 0x80 != 0 {
                        self.done = true;
                        let status =
                            Status::from_header_map(&trailers(&frame)).expect("a status in the trailers");
                        return (status.code() != tonic::Code::Ok).then_some(Err(status));
                    }
                    return Some(Ok(Res::decode(&frame[..]).expect("a well-formed message")));
                }
            }
            match self.response.chunk().await.expect("the body") {
                Some(chunk) => self.buffer.extend_from_slice(&chunk),
                None => {
                    self.done = true;
                    assert!(self.buffer.is_empty(), "the body ended inside a frame");
                    return None;
                }
            }
        }
    }
}

/// The `name:value\r\n` lines of a trailer frame.
fn trailers(frame: &[u8]) -> HeaderMap {
    let text = String::from_utf8_lossy(frame);
    let mut map = HeaderMap::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_str(value.trim()))
        {
            map.insert(name, value);
        }
    }
    map
}
