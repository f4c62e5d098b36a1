//! Stopping: a cloneable [`Shutdown`] signal fired by its [`ShutdownTrigger`], the process's
//! termination signals, and [`bounded_drain`], which gives a draining server a deadline.
//!
//! The bottom layer of the crate: every long-running task (servers, sync loops, the metrics
//! endpoint) waits on a [`Shutdown`], so this module depends on nothing else here.

use std::time::Duration;

/// A cloneable "stop now" signal.
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: tokio::sync::watch::Receiver<bool>,
}

/// Fires a [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: tokio::sync::watch::Sender<bool>,
}

impl Shutdown {
    /// A new signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (ShutdownTrigger { tx }, Shutdown { rx })
    }

    /// Resolves once the trigger fired (or was dropped).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }
}

impl Drop for ShutdownTrigger {
    fn drop(&mut self) {
        let _ = self.tx.send(true);
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn termination_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Runs `server` to its end, or until `grace` has passed since `shutdown` fired: then it is
/// dropped, which closes the connections still open (long-lived streams, stuck calls).
pub async fn bounded_drain<E>(
    name: &str,
    server: impl std::future::Future<Output = Result<(), E>>,
    shutdown: &Shutdown,
    grace: Duration,
) -> Result<(), E> {
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        _ = async { shutdown.wait().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(service = name, ?grace, "calls still open after the shutdown grace period; closing them");
            Ok(())
        }
    }
}
