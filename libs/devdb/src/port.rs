//! The port choice: a free port on 127.0.0.1 below the Linux ephemeral range (32768–60999), so
//! outgoing connections cannot steal it, scanned from a hash of the data directory path so that
//! the same directory tends to get the same port.

use std::path::Path;

use anyhow::bail;
use sha2::{Digest as _, Sha256};

/// Ports are picked in `PORT_RANGE_START..PORT_RANGE_END`, below the ephemeral range.
const PORT_RANGE_START: u16 = 20000;
const PORT_RANGE_END: u16 = 32000;
/// How many candidate ports are probed before giving up.
const PORT_PROBES: u16 = 500;

/// A free port below the ephemeral range, probed by binding 127.0.0.1, scanning from a port
/// derived from the data directory path; ports in `avoid` are skipped.
pub(crate) fn pick_port(data_dir: &Path, avoid: &[u16]) -> anyhow::Result<u16> {
    let digest = Sha256::digest(data_dir.as_os_str().as_encoded_bytes());
    let span = PORT_RANGE_END - PORT_RANGE_START;
    let offset = u16::from_be_bytes([digest[0], digest[1]]) % span;
    for i in 0..PORT_PROBES {
        let port = PORT_RANGE_START + (offset + i) % span;
        if avoid.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!(
        "no free port found on 127.0.0.1 in {PORT_RANGE_START}..{PORT_RANGE_END} after {PORT_PROBES} probes"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_a_port_below_the_ephemeral_range() {
        let port = pick_port(Path::new("/tmp/some/dir"), &[]).expect("a free port");
        assert!((PORT_RANGE_START..PORT_RANGE_END).contains(&port));
    }

    #[test]
    fn skips_ports_to_avoid() {
        let first = pick_port(Path::new("/tmp/some/dir"), &[]).expect("a free port");
        let second = pick_port(Path::new("/tmp/some/dir"), &[first]).expect("a free port");
        assert_ne!(first, second);
    }
}
