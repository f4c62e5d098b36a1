//! grpc-web calls as a browser makes them: HTTP/1.1 POST of one length-prefixed message with
//! `content-type: application/grpc-web+proto`, the status in the headers (trailers-only
//! answers, every error) or in the trailer frame that ends the body.

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
