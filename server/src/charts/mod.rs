//! Charts rendered on the server as SVG (plotters), so they show before
//! hydration and update by reloading the fragment.
pub mod progress;
pub mod timeline;
