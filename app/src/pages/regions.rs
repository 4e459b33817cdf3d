//! Regions of a server-rendered page, each drawn once per what it shows.
//!
//! A region is a layout-transparent element (`div.live`) with an `id`,
//! `data-live-part` and `data-live-sum`: a digest of everything its HTML
//! is drawn from (the data it shows, the reader's roles and name, the
//! region's id). The server keeps each drawn region by its sum, so a page
//! whose regions have not changed is put together from HTML drawn before,
//! for whoever reads it with the same view; and a browser redrawing after a
//! change asks only for the regions whose sum differs from the one it holds
//! (`api::plan_parts::plan_regions`, `browser::live`).
//!
//! What a region shows must come only from its inputs: a drawing that reads
//! anything else (a context, the clock) would be kept after it changed.
//! Working out a sum means writing the inputs out, which costs about as
//! much as a page's queries; a page whose data carries a tag (what it was
//! drawn from: `PlanPage::tag`) names each region's sum by its id and that
//! tag, and writes the inputs out only the first time.
use std::sync::Arc;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A region as the page or a redraw gets it: `html` is `None` when the
/// browser already holds this sum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drawn {
    pub id: String,
    pub sum: String,
    #[serde(serialize_with = "as_str", deserialize_with = "from_string")]
    pub html: Option<Arc<str>>,
}

fn as_str<S: serde::Serializer>(html: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
    html.as_deref().serialize(s)
}

fn from_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Arc::from))
}

impl Drawn {
    /// The region's element on the page.
    pub fn into_view(self) -> impl IntoView {
        view! {
            <div class="live" id=self.id data-live-part data-live-sum=self.sum inner_html=self.html.unwrap_or_default()></div>
        }
    }
}

/// What a redraw sends: the regions the browser does not hold, or `reload`
/// when its page has other regions than the page has now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redraw {
    pub reload: bool,
    pub regions: Vec<Drawn>,
}

/// The regions of one page or one redraw, in page order.
#[derive(Debug, Default)]
pub struct Regions {
    /// What the browser holds (id → sum); `None`: draw every region.
    have: Option<std::collections::HashMap<String, String>>,
    /// Names every region's inputs (see the module's note).
    tag: Option<String>,
    pub drawn: Vec<Drawn>,
}

impl Regions {
    /// For a whole page.
    pub fn all() -> Regions {
        Regions::default()
    }

    /// For a redraw: `have` lists `id:sum` pairs separated by commas.
    pub fn changed_since(have: &str) -> Regions {
        let have = have
            .split(',')
            .filter_map(|pair| pair.split_once(':'))
            .map(|(id, sum)| (id.to_string(), sum.to_string()))
            .collect();
        Regions {
            have: Some(have),
            ..Regions::default()
        }
    }

    /// `tag` determines the inputs of every region added from now on: two
    /// regions with the same id and tag have the same inputs (it names the
    /// data they are drawn from and everything else they are drawn for,
    /// the reader included).
    pub fn tagged(mut self, tag: String) -> Regions {
        self.tag = Some(tag);
        self
    }

    /// Adds the region `id` drawn by `draw` from `inputs` (or found drawn).
    pub fn add<V: RenderHtml>(
        &mut self,
        id: impl Into<String>,
        inputs: &impl Serialize,
        draw: impl FnOnce() -> V,
    ) {
        let id = id.into();
        let sum = match &self.tag {
            Some(tag) => sum_by_tag(&id, tag, inputs),
            None => sum_of(&id, inputs),
        };
        let held = self
            .have
            .as_ref()
            .is_some_and(|have| have.get(&id) == Some(&sum));
        let html = (!held).then(|| drawn(&sum, draw));
        self.drawn.push(Drawn { id, sum, html });
    }

    /// Whether the browser holds exactly these regions (else a redraw
    /// reloads the page: a phase was added or removed).
    pub fn same_layout(&self) -> bool {
        self.have.as_ref().is_some_and(|have| {
            have.len() == self.drawn.len() && self.drawn.iter().all(|d| have.contains_key(&d.id))
        })
    }

    /// What a redraw sends of these regions and `more` (the rest of the page).
    pub fn into_redraw(mut self, more: impl IntoIterator<Item = Regions>) -> Redraw {
        for regions in more {
            self.drawn.extend(regions.drawn);
        }
        let reload = !self.same_layout();
        let regions = if reload {
            Vec::new()
        } else {
            self.drawn
                .into_iter()
                .filter(|d| d.html.is_some())
                .collect()
        };
        Redraw { reload, regions }
    }

    pub fn into_views(self) -> impl IntoView {
        self.drawn.into_iter().map(Drawn::into_view).collect_view()
    }
}

/// HTML drawn by `draw` from `inputs` alone, kept by their sum like a
/// region's (for a part of a page that is not redrawn live: a list's rows).
pub fn drawn_once<V: RenderHtml>(
    id: &str,
    inputs: &impl Serialize,
    draw: impl FnOnce() -> V,
) -> Arc<str> {
    drawn(&sum_of(id, inputs), draw)
}

#[cfg(feature = "ssr")]
fn sum_of(id: &str, inputs: &impl Serialize) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(id.as_bytes());
    hasher.update([0]);
    // Writing into a digest cannot fail; a value serde cannot write (none of
    // the views) would only make every sum of it the same as its prefix's.
    let _ = serde_json::to_writer(&mut hasher, inputs);
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(not(feature = "ssr"))]
fn sum_of(_id: &str, _inputs: &impl Serialize) -> String {
    String::new()
}

/// The sum of region `id`'s inputs, found by its tag after the first time.
#[cfg(feature = "ssr")]
fn sum_by_tag(id: &str, tag: &str, inputs: &impl Serialize) -> String {
    let named = sum_of(id, &tag);
    kept::sum(&named).unwrap_or_else(|| {
        let sum = sum_of(id, inputs);
        kept::keep_sum(named, sum.clone());
        sum
    })
}

#[cfg(not(feature = "ssr"))]
fn sum_by_tag(id: &str, _tag: &str, inputs: &impl Serialize) -> String {
    sum_of(id, inputs)
}

#[cfg(feature = "ssr")]
fn drawn<V: RenderHtml>(sum: &str, draw: impl FnOnce() -> V) -> Arc<str> {
    kept::get(sum).unwrap_or_else(|| {
        let html: Arc<str> = draw().to_html().into();
        kept::keep(sum, html.clone());
        html
    })
}

#[cfg(not(feature = "ssr"))]
fn drawn<V: RenderHtml>(_sum: &str, draw: impl FnOnce() -> V) -> Arc<str> {
    draw().to_html().into()
}

/// Drawn regions by sum, up to a budget of bytes, and sums by tag, up to a
/// number (past either, all are forgotten and worked out again as asked).
#[cfg(feature = "ssr")]
mod kept {
    use std::collections::HashMap;
    use std::sync::{Arc, LazyLock, Mutex};

    const BUDGET_BYTES: usize = 32 << 20;
    const SUMS: usize = 16_384;

    #[derive(Default)]
    struct Kept {
        html: HashMap<String, Arc<str>>,
        bytes: usize,
        sums: HashMap<String, String>,
    }

    static KEPT: LazyLock<Mutex<Kept>> = LazyLock::new(Mutex::default);

    pub(super) fn sum(named: &str) -> Option<String> {
        let kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        kept.sums.get(named).cloned()
    }

    pub(super) fn keep_sum(named: String, sum: String) {
        let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        if kept.sums.len() >= SUMS {
            kept.sums.clear();
        }
        kept.sums.insert(named, sum);
    }

    pub(super) fn get(sum: &str) -> Option<Arc<str>> {
        let kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        kept.html.get(sum).cloned()
    }

    pub(super) fn keep(sum: &str, html: Arc<str>) {
        let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        if kept.bytes + html.len() > BUDGET_BYTES {
            kept.html.clear();
            kept.bytes = 0;
        }
        kept.bytes += html.len();
        if let Some(old) = kept.html.insert(sum.to_string(), html) {
            kept.bytes -= old.len();
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    fn html(text: &'static str) -> Option<Arc<str>> {
        Some(view! { <p>{text}</p> }.to_html().into())
    }

    #[test]
    fn a_region_is_drawn_once_per_sum_and_skipped_when_held() {
        let mut page = Regions::all();
        let mut draws = 0;
        page.add("r", &("shown", 1), || {
            draws += 1;
            view! { <p>{"one"}</p> }
        });
        let first = page.drawn[0].clone();
        assert_eq!(first.html, html("one"));
        // The same inputs again: kept, not drawn.
        let mut again = Regions::all();
        again.add("r", &("shown", 1), || -> &'static str {
            unreachable!("drawn twice")
        });
        assert_eq!(again.drawn[0], first);
        // Other inputs or another region: another sum.
        let mut other = Regions::all();
        other.add("r", &("shown", 2), || view! { <p>{"two"}</p> });
        other.add("s", &("shown", 1), || view! { <p>{"one"}</p> });
        assert_ne!(other.drawn[0].sum, first.sum);
        assert_ne!(other.drawn[1].sum, first.sum);
        assert_eq!(draws, 1);
        // A redraw: what the browser holds is not sent again.
        let have = format!("r:{},s:stale", first.sum);
        let mut redraw = Regions::changed_since(&have);
        redraw.add("r", &("shown", 1), || view! { <p>{"one"}</p> });
        redraw.add("s", &("shown", 1), || view! { <p>{"one"}</p> });
        assert_eq!(redraw.drawn[0].html, None);
        assert_eq!(redraw.drawn[1].html, html("one"));
        assert!(redraw.same_layout());
        let mut grown = Regions::changed_since(&have);
        grown.add("r", &("shown", 1), || view! { <p>{"one"}</p> });
        assert!(!grown.same_layout(), "a region the browser holds is gone");
    }

    #[test]
    fn a_tag_names_the_inputs_after_the_first_time() {
        let mut first = Regions::all().tagged("t1".into());
        first.add("r", &("tagged", 1), || view! { <p>{"one"}</p> });
        let mut plain = Regions::all();
        plain.add("r", &("tagged", 1), || view! { <p>{"one"}</p> });
        assert_eq!(
            first.drawn[0].sum, plain.drawn[0].sum,
            "the same sum as the inputs'"
        );
        // The tag stands for the inputs: they are not written out again.
        let mut again = Regions::all().tagged("t1".into());
        again.add("r", &("tagged", 2), || view! { <p>{"two"}</p> });
        assert_eq!(again.drawn[0], first.drawn[0]);
        let mut next = Regions::all().tagged("t2".into());
        next.add("r", &("tagged", 2), || view! { <p>{"two"}</p> });
        assert_eq!(next.drawn[0].html, html("two"));
    }
}
