//! The built-in plan templates, from the seed playbooks (see
//! `docs/templates-from-seeds.md`), embedded in the binary.
pub struct Template {
    pub slug: &'static str,
    pub toml: &'static str,
}

pub const TEMPLATES: [Template; 2] = [
    Template {
        slug: "sti-backfill",
        toml: include_str!("../../../templates/sti-backfill.toml"),
    },
    Template {
        slug: "partitioned-tables",
        toml: include_str!("../../../templates/partitioned-tables.toml"),
    },
];

#[cfg(test)]
mod tests {
    use super::TEMPLATES;
    use crate::plans::file::spec::{parse_duration_ms, validate};

    fn phases(slug: &str) -> Vec<(String, i64, i64)> {
        let t = TEMPLATES.iter().find(|t| t.slug == slug).unwrap();
        let plan = validate(t.toml).unwrap_or_else(|p| panic!("{slug}: {p:?}"));
        plan.phases
            .iter()
            .map(|p| {
                let p = p.get_ref();
                let soak = p
                    .gate
                    .as_ref()
                    .and_then(|g| g.get_ref().soak.as_ref())
                    .map_or(0, |s| parse_duration_ms(s.get_ref()).unwrap());
                (p.name.get_ref().clone(), *p.exposure_bp.get_ref(), soak)
            })
            .collect()
    }

    const H: i64 = 3_600_000;

    /// The template's phases, after checking their names and exposures.
    fn phases_named(slug: &str, names: &[&str], exposure: &[i64]) -> Vec<(String, i64, i64)> {
        let p = phases(slug);
        let got: Vec<(&str, i64)> = p.iter().map(|x| (x.0.as_str(), x.1)).collect();
        let want: Vec<(&str, i64)> = names
            .iter()
            .copied()
            .zip(exposure.iter().copied())
            .collect();
        assert_eq!(got, want, "{slug}: phase names and exposures");
        p
    }

    #[test]
    fn sti_template_follows_seeds_000_to_003() {
        let p = phases_named(
            "sti-backfill",
            &[
                "dev",
                "staging",
                "production 5%",
                "production 25%",
                "production 50%",
                "production 100%",
                "drop legacy columns",
            ],
            &[10_000, 10_000, 500, 2_500, 5_000, 10_000, 10_000],
        );
        // D+0 at 5 %, "gradually" through D+1, 100 % at D+2.
        let to_full: i64 = p[2..5].iter().map(|x| x.2).sum();
        assert_eq!(to_full, 48 * H, "5 % to 100 % takes the seeds' two days");
        let source = TEMPLATES[0].toml;
        assert!(source.contains("projects_schoolproject") && source.contains("is_draft = FALSE"));
        assert!(
            !source.contains("below 1%"),
            "the success line, not the alert line"
        );
    }

    #[test]
    fn partitioned_template_follows_seed_004() {
        let p = phases_named(
            "partitioned-tables",
            &[
                "dev", "staging", "pilot", "1%", "5%", "10%", "25%", "50%", "100%",
            ],
            &[10_000, 10_000, 0, 100, 500, 1_000, 2_500, 5_000, 10_000],
        );
        // Days 4-7 pilot, then day 8 / 10 / 12 / 14 / 17 / 21 and a day at 100 %.
        let soaks: Vec<i64> = p.iter().map(|x| x.2 / H).collect();
        assert_eq!(soaks, [24, 24, 72, 48, 48, 48, 72, 96, 24]);
        let source = TEMPLATES[1].toml;
        assert!(source.contains("allow_query"), "a targeted pilot");
        assert!(
            source.contains("check = \"soak_elapsed\""),
            "100 % does not complete at once"
        );
    }

    #[test]
    fn every_guardrail_item_of_both_templates_names_a_declared_guardrail() {
        for t in TEMPLATES {
            let plan = validate(t.toml).unwrap();
            let declared: Vec<String> = plan
                .guardrails
                .iter()
                .map(|g| format!("guardrail_{}", g.get_ref().name.get_ref()))
                .collect();
            let mut items = 0;
            for p in &plan.phases {
                for (path, item) in p.get_ref().items("") {
                    let check = item.get_ref().check.as_ref().map(|c| c.get_ref().clone());
                    if let Some(c) = check.filter(|c| c.starts_with("guardrail_")) {
                        assert!(
                            declared.contains(&c),
                            "{}: {path}: {c} is not declared",
                            t.slug
                        );
                        items += 1;
                    }
                }
            }
            assert!(items > 3, "{}: the seeds' metrics are checked", t.slug);
            assert!(
                plan.guardrails.iter().any(|g| g
                    .get_ref()
                    .action
                    .as_ref()
                    .is_some_and(|a| a.get_ref() != "record")),
                "{}: an alert line acts",
                t.slug
            );
        }
    }
}
