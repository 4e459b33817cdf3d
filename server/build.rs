// The store's migrations are embedded by `sqlx::migrate!`; rebuild when they
// change, or a binary could carry stale SQL.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
