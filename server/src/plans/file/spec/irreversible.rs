//! A phase whose work cannot be undone by turning the flag down (seed
//! 000's "drop legacy columns": once the columns are gone, turning STI off
//! breaks every read of them) says so in the plan file, with why:
//! `irreversible = "…"`. What that means for rollbacks is
//! `plans::irreversible`.
use toml::Spanned;

use super::PlanFile;
use crate::problems::Report;

/// At most this many characters say why a phase cannot be undone.
pub const MAX_WHY: usize = 500;

pub fn check(r: &mut Report<'_>, why: Option<&Spanned<String>>, path: &str) {
    let Some(why) = why else { return };
    let text = why.get_ref().trim();
    if text.is_empty() {
        r.at(
            why.span(),
            format!("{path}.irreversible"),
            "say why this phase cannot be undone (what breaks if the flag is turned down after it), or remove the line",
        );
    } else if text.chars().count() > MAX_WHY {
        r.at(
            why.span(),
            format!("{path}.irreversible"),
            format!("at most {MAX_WHY} characters"),
        );
    }
}

/// The phases of `source` marked irreversible, by name, with why.
pub fn marked(source: &str) -> Vec<(String, String)> {
    super::validate(source)
        .map(|f| of_file(&f))
        .unwrap_or_default()
}

pub fn of_file(file: &PlanFile) -> Vec<(String, String)> {
    file.phases
        .iter()
        .map(|p| p.get_ref())
        .filter_map(|p| {
            let why = p.irreversible.as_ref()?.get_ref().trim().to_string();
            Some((p.name.get_ref().trim().to_string(), why))
        })
        .collect()
}
