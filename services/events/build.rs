// The migrations are embedded at compile time (`MIGRATIONS`): rebuild when one is added,
// changed or removed, not only when an embedded file changes.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/events");
}
