//! Plan files parsed once: a process-wide cache of validated files keyed by
//! their text. A stored plan file was validated when it was imported or
//! edited; afterwards a page view, an evidence hash, a guardrail pass or a
//! metrics refresh reads its typed form from here instead of parsing the
//! TOML and every SQL field in it again. A file's text is its identity (a
//! new revision is a new text, an old one simply ages out); the cache keeps
//! the `CAPACITY` texts used last.
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::spec::{validate, PlanFile};

/// Texts kept: every plan a console serves at once, with room to spare.
const CAPACITY: usize = 256;

#[derive(Default)]
struct Cache {
    /// Text → (when it was last used, the file; `None` when it is invalid).
    files: HashMap<Arc<str>, (u64, Option<Arc<PlanFile>>)>,
    tick: u64,
}

fn cache() -> &'static Mutex<Cache> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The plan file `source` parsed and validated, or `None` when it does not
/// validate (`spec::validate` says why). Parses at most once per text while
/// the text stays among the last `CAPACITY` used.
pub fn parsed(source: &str) -> Option<Arc<PlanFile>> {
    {
        let mut c = cache().lock().unwrap_or_else(|p| p.into_inner());
        c.tick += 1;
        let tick = c.tick;
        if let Some((used, file)) = c.files.get_mut(source) {
            *used = tick;
            return file.clone();
        }
    }
    // Parsed outside the lock: two first readers of one text may both parse.
    let file = validate(source).ok().map(Arc::new);
    let mut c = cache().lock().unwrap_or_else(|p| p.into_inner());
    if c.files.len() >= CAPACITY {
        if let Some(oldest) = c
            .files
            .iter()
            .min_by_key(|(_, (used, _))| *used)
            .map(|(text, _)| text.clone())
        {
            c.files.remove(&oldest);
        }
    }
    let tick = c.tick;
    c.files.insert(Arc::from(source), (tick, file.clone()));
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "[plan]\nname = \"Cached\"\nflag = \"cached\"\n\n[[phases]]\nname = \"dev\"\nenvironment = \"dev\"\nexposure_bp = 10000\n";

    #[test]
    fn one_text_is_parsed_once_and_an_invalid_one_is_none() {
        let a = parsed(PLAN).unwrap();
        let b = parsed(PLAN).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the second read is the cached file");
        assert_eq!(a.plan.name.get_ref(), "Cached");
        assert!(parsed(&PLAN.replace("exposure_bp = 10000", "exposure_bp = 10001")).is_none());
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity() {
        for i in 0..CAPACITY + 10 {
            parsed(&PLAN.replace("Cached", &format!("Cached {i}")));
        }
        assert!(cache().lock().unwrap().files.len() <= CAPACITY);
    }
}
