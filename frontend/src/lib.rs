//! The wasm entry point. Pages are rendered on the server; `hydrate` sets up
//! the islands (Leptos hydrates each `<leptos-island>` right after it) and
//! the browser code of the server-rendered pages (`app::browser`).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    app::browser::start();
}
