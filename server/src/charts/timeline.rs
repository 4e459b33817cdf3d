//! The rollout timeline as one SVG: exposure per environment (step lines,
//! %), guardrail values against their bounds (1 = the bound), and vertical
//! markers for starts, approvals, breaches, actions and rollbacks.
use plotters::prelude::*;

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub at_ms: i64,
    /// start, approval, breach, action, rollback.
    pub kind: &'static str,
    pub label: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Per environment: (at_ms, basis points) after each change, in order.
    pub exposures: BTreeMap<String, Vec<(i64, i64)>>,
    /// Per guardrail and environment: (at_ms, value ÷ bound), >1 outside.
    pub guardrails: BTreeMap<String, Vec<(i64, f64)>>,
    /// Guardrails left out of the chart (those furthest inside their bounds).
    pub hidden_guardrails: usize,
    pub markers: Vec<Marker>,
}

const WIDTH: u32 = 960;
const HEIGHT: u32 = 420;
const PALETTE: [RGBColor; 6] = [
    RGBColor(36, 86, 214),
    RGBColor(21, 115, 71),
    RGBColor(161, 92, 0),
    RGBColor(120, 60, 180),
    RGBColor(0, 130, 150),
    RGBColor(90, 90, 90),
];

pub fn timeline_svg(t: &Timeline) -> String {
    let mut svg = String::new();
    if let Err(e) = draw(&mut svg, t) {
        tracing::warn!(error = %e, "timeline chart failed");
        return String::new();
    }
    svg
}

fn marker_color(kind: &str) -> RGBColor {
    match kind {
        "breach" | "rollback" | "action" => RGBColor(180, 35, 24),
        "approval" => RGBColor(21, 115, 71),
        _ => RGBColor(120, 120, 120),
    }
}

fn draw(out: &mut String, t: &Timeline) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(HEIGHT / 2 + 10);
    let (from, to) = (t.from_ms, t.to_ms.max(t.from_ms + 1));
    let x = |ms: i64| ms.clamp(from, to);
    // "YYYY-MM-DD HH:MM:SS": seconds on a short range, the day on a long one.
    let span = to - from;
    let cut = if span < 2 * 3_600_000 {
        11..19
    } else if span < 2 * 86_400_000 {
        11..16
    } else {
        5..16
    };
    let time_label = move |ms: &i64| {
        app::format::utc_datetime(*ms)
            .get(cut.clone())
            .unwrap_or("")
            .to_string()
    };

    let mut exposure = ChartBuilder::on(&top)
        .caption("exposure per environment (%)", ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(22)
        .y_label_area_size(44)
        .build_cartesian_2d(from..to, 0f64..105f64)?;
    exposure
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&time_label)
        .light_line_style(WHITE)
        .draw()?;
    for (i, (env, steps)) in t.exposures.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut points = Vec::new();
        let mut level = 0.0;
        for (at, bp) in steps {
            if *at > to {
                break;
            }
            points.push((x(*at), level));
            level = *bp as f64 / 100.0;
            points.push((x(*at), level));
        }
        points.push((to, level));
        exposure
            .draw_series(LineSeries::new(points, color.stroke_width(2)))?
            .label(env.clone())
            .legend(move |(lx, ly)| {
                PathElement::new(vec![(lx, ly), (lx + 14, ly)], color.stroke_width(2))
            });
    }
    for m in &t.markers {
        let c = marker_color(m.kind);
        exposure.draw_series(LineSeries::new(
            [(x(m.at_ms), 0.0), (x(m.at_ms), 105.0)],
            c.mix(0.6),
        ))?;
    }
    exposure
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.2))
        .draw()?;

    let top_ratio = t
        .guardrails
        .values()
        .flatten()
        .map(|(_, r)| *r)
        .fold(2.0f64, f64::max)
        .min(10.0);
    let caption = match t.hidden_guardrails {
        0 => "guardrails: value ÷ bound (above 1 = outside)".to_string(),
        n => format!(
            "guardrails nearest their bounds: value ÷ bound (above 1 = outside); {n} more not drawn"
        ),
    };
    let mut guard = ChartBuilder::on(&bottom)
        .caption(caption, ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(22)
        .y_label_area_size(44)
        .build_cartesian_2d(from..to, 0f64..top_ratio * 1.05)?;
    guard
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&time_label)
        .light_line_style(WHITE)
        .draw()?;
    guard.draw_series(LineSeries::new([(from, 1.0), (to, 1.0)], RED.mix(0.5)))?;
    for (i, (name, points)) in t.guardrails.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<(i64, f64)> = points
            .iter()
            .map(|(at, r)| (x(*at), r.min(top_ratio)))
            .collect();
        guard
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(lx, ly)| {
                PathElement::new(vec![(lx, ly), (lx + 14, ly)], color.stroke_width(2))
            });
    }
    for m in &t.markers {
        let c = marker_color(m.kind);
        guard.draw_series(LineSeries::new(
            [(x(m.at_ms), 0.0), (x(m.at_ms), top_ratio * 1.05)],
            c.mix(0.6),
        ))?;
    }
    if !t.guardrails.is_empty() {
        guard
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.2))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_exposure_guardrails_and_markers() {
        let mut t = Timeline {
            from_ms: 1_764_000_000_000,
            to_ms: 1_764_000_600_000,
            ..Timeline::default()
        };
        t.exposures.insert(
            "production".into(),
            vec![(1_764_000_100_000, 500), (1_764_000_400_000, 0)],
        );
        t.guardrails.insert(
            "error_rate (production)".into(),
            vec![(1_764_000_200_000, 0.5), (1_764_000_300_000, 3.0)],
        );
        t.markers.push(Marker {
            at_ms: 1_764_000_400_000,
            kind: "rollback",
            label: "rollback".into(),
        });
        let svg = timeline_svg(&t);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("production") && svg.contains("error_rate (production)"));
        assert!(
            svg.matches("<polyline").count() >= 5,
            "exposure, bound, guardrail, two markers"
        );
        assert!(
            timeline_svg(&Timeline::default()).starts_with("<svg"),
            "empty still draws"
        );
    }
}
