//! A real SMTP server on loopback for the mail tests: aiosmtpd (`support/smtp_sink.py`) in a
//! child process, which a test can stop (an outage) and restart on the same port; received
//! messages are read back as JSON. Recipients starting with `rejected-` get a permanent 550.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use operant_platform::config::{MailConfig, MailMode, Settings};
use tokio::process::{Child, Command};

use crate::{free_port, random_id};

/// The sender the tests' mail comes from.
pub const FROM: &str = "Operant Test <mail@operant.test>";

fn has_aiosmtpd(python: &Path) -> bool {
    std::process::Command::new(python)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Python with aiosmtpd: `OPERANT_TEST_PYTHON`, the venv in `target/tools/mail/venv`, or
/// `python3`. Without one the venv is made here (aiosmtpd from PyPI), under a file lock so that
/// parallel test processes install it once: `cargo nextest run` needs nothing installed first
/// but `python3` with its `venv` module (`.ci/run` prepares the same venv up front).
fn python() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let venv_python = target.join("tools/mail/venv/bin/python");
    let candidates = [
        std::env::var_os("OPERANT_TEST_PYTHON").map(PathBuf::from),
        Some(venv_python.clone()),
        Some(PathBuf::from("python3")),
    ];
    if let Some(python) = candidates.iter().flatten().find(|p| has_aiosmtpd(p)) {
        return python.clone();
    }
    let tools = target.join("tools/mail");
    std::fs::create_dir_all(&tools).expect("create target/tools/mail");
    let lock = std::fs::File::create(tools.join("install.lock")).expect("create the install lock");
    lock.lock().expect("lock the aiosmtpd install");
    if !has_aiosmtpd(&venv_python) {
        let run = |program: &Path, args: &[&str]| {
            let status = std::process::Command::new(program).args(args).status();
            assert!(
                status.as_ref().is_ok_and(|s| s.success()),
                "the mail tests need Python with aiosmtpd; `{} {}` failed ({status:?}): install \
                 python3 with its venv module (Debian: python3-venv), or point \
                 OPERANT_TEST_PYTHON at a python3 that has aiosmtpd",
                program.display(),
                args.join(" ")
            );
        };
        let venv = tools.join("venv");
        run(Path::new("python3"), &["-m", "venv", venv.to_str().expect("utf-8 path")]);
        run(&venv.join("bin/pip"), &["install", "--quiet", "--disable-pip-version-check", "aiosmtpd==1.4.6"]);
    }
    assert!(has_aiosmtpd(&venv_python), "aiosmtpd did not install into {}", venv_python.display());
    venv_python
}

/// The SMTP server: received messages land in `dir` as JSON.
pub struct Smtp {
    pub addr: SocketAddr,
    dir: PathBuf,
    child: Option<Child>,
}

impl Smtp {
    /// Starts a server on a free loopback port.
    pub async fn start() -> Smtp {
        let dir = std::env::temp_dir().join(format!("operant-mail-{}", random_id()));
        let mut smtp = Smtp { addr: free_port().await, dir, child: None };
        smtp.restart().await;
        smtp
    }

    /// (Re)starts the server on the same port and directory.
    pub async fn restart(&mut self) {
        use tokio::io::AsyncBufReadExt;
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("support/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .arg(self.addr.ip().to_string())
            .arg(self.addr.port().to_string())
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP server");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("the SMTP server")).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        assert!(
            matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"),
            "the SMTP server did not start: {ready:?}"
        );
        self.child = Some(child);
    }

    /// Kills the server (as an outage would).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("the SMTP server");
        }
    }

    /// The received messages as JSON (`mail_from`, `rcpt_tos`, `from`, `to`, `subject`,
    /// `message_id`, `content_type`, `text`, `html`), in order.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for n in 1.. {
            match std::fs::read(self.dir.join(format!("{n}.json"))) {
                Ok(bytes) => out.push(serde_json::from_slice(&bytes).expect("the SMTP server")),
                Err(_) => break,
            }
        }
        out
    }

    /// Waits (≤ `within`) for the `n`-th message (1-based).
    pub async fn wait_for(&self, n: usize, within: Duration) -> serde_json::Value {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(m) = self.messages().get(n - 1) {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no message number {n} arrived within {within:?}");
    }

    /// Points the settings' mail at this server (`smtp://…?tls=none`, sender [`FROM`]).
    pub fn configure(&self, settings: &mut Settings) {
        settings.mail = MailConfig {
            mode: MailMode::Smtp,
            smtp_url: Some(format!("smtp://{}?tls=none", self.addr)),
            from: FROM.into(),
        };
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
