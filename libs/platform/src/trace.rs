//! W3C trace context (`traceparent`) and the request id, carried across every gRPC hop.
//!
//! The gateway starts (or continues) a trace for each REST request and sends `traceparent` and
//! `x-request-id` with its gRPC calls. Each server's [`CallContextLayer`] reads them, records the
//! trace id in the request's log span and makes them the *current* context of the handler
//! (a tokio task-local), so a service calling another one (work → tenancy, tenancy → auth)
//! forwards both without any plumbing: [`ServiceCredentials`] adds them to every outgoing call.
//!
//! Each hop is one span: a server continuing an incoming `traceparent` gets a new span id whose
//! parent is the caller's span ([`TraceContext::parent_span_id`]), and what it sends on is its
//! *own* span id, so the spans of one request form a tree: client → gateway → work → tenancy.
//! When `OPERANT_OTLP_ENDPOINT` is set, every server span of a sampled trace is exported by
//! [`crate::otlp`].
//!
//! [`CallContextLayer`]: crate::call_context::CallContextLayer
//! [`ServiceCredentials`]: crate::clients::ServiceCredentials

use std::fmt;

use rand::Rng;

/// One hop (span) of a trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    /// This span; what is sent on as the parent id of `traceparent`.
    pub span_id: [u8; 8],
    /// The caller's span, when this one continues an incoming trace (`None` for a root).
    pub parent_span_id: Option<[u8; 8]>,
    /// The W3C `sampled` flag: only sampled traces are exported.
    pub sampled: bool,
}

/// Lower-case hex in one allocation (this runs several times per request on every hop).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

impl TraceContext {
    /// A new trace.
    pub fn new_root() -> Self {
        let mut rng = rand::thread_rng();
        let mut trace_id = [0u8; 16];
        rng.fill(&mut trace_id);
        trace_id[0] |= 1; // never all zeros
        Self { trace_id, span_id: new_span_id(), parent_span_id: None, sampled: true }
    }

    /// Parses `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`: the caller's span (its
    /// `parent_span_id` is unknown, `None`); anything else (or an all-zero id, which the spec
    /// forbids) is `None`.
    pub fn parse(header: &str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
            return None;
        }
        let trace_id = unhex::<16>(trace)?;
        let span_id = unhex::<8>(parent)?;
        let flags = unhex::<1>(flags)?;
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(Self { trace_id, span_id, parent_span_id: None, sampled: flags[0] & 1 == 1 })
    }

    /// The incoming context continued by a new span of ours (whose parent is the caller's span),
    /// or a new trace.
    pub fn continue_or_start(header: Option<&str>) -> Self {
        match header.and_then(Self::parse) {
            Some(parent) => parent.child(),
            None => Self::new_root(),
        }
    }

    /// The same trace, a new span whose parent is this one.
    pub fn child(&self) -> Self {
        Self { span_id: new_span_id(), parent_span_id: Some(self.span_id), ..*self }
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }
}

fn new_span_id() -> [u8; 8] {
    let mut id = [0u8; 8];
    rand::thread_rng().fill(&mut id);
    id[0] |= 1;
    id
}

impl fmt::Display for TraceContext {
    /// The `traceparent` header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{}-{}-{:02x}", hex(&self.trace_id), hex(&self.span_id), u8::from(self.sampled))
    }
}

/// The context of the request being handled.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub trace: TraceContext,
}

tokio::task_local! {
    static CURRENT: RequestContext;
}

/// Runs `future` with `context` as the current request context.
pub async fn scope<F: std::future::Future>(context: RequestContext, future: F) -> F::Output {
    CURRENT.scope(context, future).await
}

/// The current request context, if the caller runs inside a request.
pub fn current() -> Option<RequestContext> {
    CURRENT.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_traceparent() {
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let parsed = TraceContext::parse(header).expect("valid");
        assert_eq!(parsed.to_string(), header);
        assert_eq!(parsed.parent_span_id, None);
        let child = TraceContext::continue_or_start(Some(header));
        assert_eq!(child.trace_id, parsed.trace_id);
        assert_ne!(child.span_id, parsed.span_id);
        assert_eq!(child.parent_span_id, Some(parsed.span_id), "the caller's span is the parent");
        assert!(child.sampled);
        // What a hop sends on is its own span, so the next hop's parent is this one.
        let next = TraceContext::continue_or_start(Some(&child.to_string()));
        assert_eq!(next.parent_span_id, Some(child.span_id));
        assert_eq!(next.trace_id, parsed.trace_id);
    }

    #[test]
    fn roots_have_no_parent_and_unsampled_stays_unsampled() {
        let root = TraceContext::continue_or_start(None);
        assert_eq!(root.parent_span_id, None);
        assert!(root.sampled);
        let unsampled =
            TraceContext::continue_or_start(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
        assert!(!unsampled.sampled);
        assert!(unsampled.to_string().ends_with("-00"));
    }

    #[test]
    fn rejects_malformed_traceparent() {
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-xyz-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad}");
        }
        let fresh = TraceContext::continue_or_start(Some("garbage"));
        assert_ne!(fresh.trace_id, [0; 16]);
    }
}
