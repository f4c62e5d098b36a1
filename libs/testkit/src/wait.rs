//! Waiting for an observable event instead of sleeping a fixed time: [`eventually`] polls a
//! condition until it holds or a deadline passes.

use std::time::Duration;

/// Polls `check` until it is true or `within` has passed; returns whether it became true.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
