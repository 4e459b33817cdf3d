//! The built-in plan templates, from the seed playbooks (see
//! `docs/templates-from-seeds.md`), embedded in the binary.
pub struct Template {
    pub slug: &'static str,
    pub toml: &'static str,
}

pub const TEMPLATES: [Template; 2] = [
    Template {
        slug: "sti-backfill",
        toml: include_str!("../../templates/sti-backfill.toml"),
    },
    Template {
        slug: "partitioned-tables",
        toml: include_str!("../../templates/partitioned-tables.toml"),
    },
];

#[cfg(test)]
mod tests {
    use super::TEMPLATES;
    use crate::plans::spec::{parse_duration_ms, validate};

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

    #[test]
    fn sti_template_follows_seeds_000_to_003() {
        let p = phases("sti-backfill");
        let names: Vec<&str> = p.iter().map(|x| x.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "dev",
                "staging",
                "production 5%",
                "production 100%",
                "drop legacy columns"
            ]
        );
        assert_eq!(p[2].1, 500);
        assert_eq!(p[3].1, 10_000);
    }

    #[test]
    fn partitioned_template_follows_seed_004() {
        let p = phases("partitioned-tables");
        let exposure: Vec<i64> = p.iter().map(|x| x.1).collect();
        assert_eq!(
            exposure,
            [10_000, 10_000, 100, 500, 1_000, 2_500, 5_000, 10_000]
        );
        const H: i64 = 3_600_000;
        assert_eq!(p[2].2, 72 * H, "pilot: 72 hours minimum");
        for step in &p[3..7] {
            assert!(
                step.2 >= 24 * H,
                "{}: at least 24 h between increments",
                step.0
            );
        }
    }
}
