//! Where webhooks may be sent (server-side request forgery). Unless private targets are
//! allowed (`OPERANT_WEBHOOK_ALLOW_PRIVATE`, off in production), an endpoint URL must be
//! `https` and must not reach loopback, private (RFC 1918), link-local (and so the cloud
//! metadata address 169.254.169.254), CGNAT, unique-local (and so `fd00:ec2::254`), multicast,
//! unspecified or other reserved addresses:
//!
//! - at create and update, [`check_url`] refuses the scheme and IP literals;
//! - at send time, every delivery checks the URL again, and host names are resolved by
//!   [`CheckedResolver`], which refuses a name with any such address. The HTTP client connects
//!   to exactly the addresses the resolver returned, so a name cannot resolve to a public
//!   address for the check and a private one for the connection (DNS rebinding).
//!
//! Redirects are never followed (a 3xx is a failed attempt), so a public endpoint cannot bounce
//! a delivery to a private address either.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest endpoint URL.
pub const MAX_URL_LEN: usize = 2048;

/// Whether `ip` is an address a webhook must not reach unless private targets are allowed.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return forbidden_v4(Ipv4Addr::new(a, b, c, d));
            }
            if s[0] == 0x2002 {
                let [a, b] = s[1].to_be_bytes();
                let [c, d] = s[2].to_be_bytes();
                return forbidden_v4(Ipv4Addr::new(a, b, c, d));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (fd00:ec2::254 included)
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::a.b.c.d
                || s[0] == 0x100 && s[1..4] == [0, 0, 0] // discard-only 100::/64
                || s[0] == 0x2001 && s[1] == 0x0db8 // documentation
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, the metadata address included
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (b & 0xc0) == 64) // CGNAT 100.64.0.0/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 198 && (b & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || a >= 240 // reserved
}

/// Checks an endpoint URL as given (create, update, and again before each send); the reason
/// when it is refused. Host names are only checked once resolved ([`CheckedResolver`]).
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("must be an absolute http(s) URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err("must be an https:// URL".into()),
        _ => return Err("must be an https:// URL".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment (#...)".into());
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err("must name a host".into());
    };
    if !allow_private {
        let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok();
        if literal.is_some_and(is_forbidden) {
            return Err("must not point to a loopback, private, link-local or metadata address".into());
        }
    }
    Ok(url)
}

/// The HTTP client's resolver: the system resolver, then the check of every address.
#[derive(Debug, Clone, Copy)]
pub struct CheckedResolver {
    pub allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if !allow_private && let Some(bad) = addrs.iter().find(|a| is_forbidden(a.ip())) {
                return Err(
                    format!("{host} resolves to {}, an address webhooks may not reach", bad.ip()).into()
                );
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn private_and_special_addresses_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(is_forbidden(ip(bad)), "{bad}");
        }
        for good in ["1.1.1.1", "93.184.216.34", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_forbidden(ip(good)), "{good}");
        }
    }

    #[test]
    fn urls_are_checked_as_given() {
        let refused = |u: &str| check_url(u, false).expect_err(u);
        refused("http://example.com/hook");
        refused("https://127.0.0.1/hook");
        refused("https://10.0.0.7:8443/hook");
        refused("https://169.254.169.254/latest/meta-data");
        refused("https://[::1]/hook");
        refused("https://[fd00:ec2::254]/");
        refused("https://user:pw@example.com/");
        refused("ftp://example.com/");
        refused("not a url");
        assert!(check_url("https://example.com/hook?x=1", false).is_ok());
        assert!(check_url("https://localhost/hook", false).is_ok(), "names are checked once resolved");
        assert!(check_url("http://127.0.0.1:9999/hook", true).is_ok());
    }
}
