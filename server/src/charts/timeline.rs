//! The rollout timeline as one SVG: exposure per environment (step lines,
//! %), guardrail values against their bounds (1 = the bound), and vertical
//! markers for starts, approvals, breaches, actions and rollbacks.
use plotters::prelude::*;

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub at_ms: i64,
    /// start, approval, breach, action, rollback, decision.
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

type Area<'b> = DrawingArea<SVGBackend<'b>, plotters::coord::Shift>;

/// What both halves of the chart share: the time axis and the markers.
struct Panel<'t> {
    markers: &'t [Marker],
    from: i64,
    to: i64,
    time_label: &'t dyn Fn(&i64) -> String,
}

impl Panel<'_> {
    /// One half: the named lines (in the palette's order, with a legend),
    /// a red line at `bound` if any, and a vertical line per marker.
    fn draw(
        &self,
        area: &Area<'_>,
        caption: &str,
        top: f64,
        bound: Option<f64>,
        lines: Vec<(String, Vec<(i64, f64)>)>,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let (from, to) = (self.from, self.to);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(22)
            .y_label_area_size(44)
            .build_cartesian_2d(from..to, 0f64..top)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(self.time_label)
            .light_line_style(WHITE)
            .draw()?;
        if let Some(b) = bound {
            chart.draw_series(LineSeries::new([(from, b), (to, b)], RED.mix(0.5)))?;
        }
        let labelled = !lines.is_empty();
        for (i, (name, points)) in lines.into_iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))?
                .label(name)
                .legend(move |(lx, ly)| {
                    PathElement::new(vec![(lx, ly), (lx + 14, ly)], color.stroke_width(2))
                });
        }
        for m in self.markers {
            let at = m.at_ms.clamp(from, to);
            let line = [(at, 0.0), (at, top)];
            chart.draw_series(LineSeries::new(line, marker_color(m.kind).mix(0.6)))?;
            // The upper half names each marker, written down its line.
            if bound.is_none() {
                let style = ("sans-serif", 10)
                    .into_font()
                    .transform(FontTransform::Rotate90)
                    .color(&marker_color(m.kind));
                chart.draw_series([Text::new(m.label.clone(), (at, top * 0.97), style)])?;
            }
        }
        if labelled {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.2))
                .draw()?;
        }
        Ok(())
    }
}

/// An exposure's steps as a line: flat at each level until the next change.
fn step_line(steps: &[(i64, i64)], from: i64, to: i64) -> Vec<(i64, f64)> {
    let mut points = Vec::new();
    let mut level = 0.0;
    for (at, bp) in steps {
        if *at > to {
            break;
        }
        let at = (*at).clamp(from, to);
        points.push((at, level));
        level = *bp as f64 / 100.0;
        points.push((at, level));
    }
    points.push((to, level));
    points
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

    let exposures = t
        .exposures
        .iter()
        .map(|(env, steps)| (env.clone(), step_line(steps, from, to)))
        .collect();
    let panel = Panel {
        markers: &t.markers,
        from,
        to,
        time_label: &time_label,
    };
    panel.draw(&top, "exposure per environment (%)", 105.0, None, exposures)?;

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
    let ratios = t
        .guardrails
        .iter()
        .map(|(name, points)| {
            let pts = points.iter().map(|(at, r)| (x(*at), r.min(top_ratio)));
            (name.clone(), pts.collect())
        })
        .collect();
    panel.draw(&bottom, &caption, top_ratio * 1.05, Some(1.0), ratios)?;
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
            label: "rollback by <olga>".into(),
        });
        let svg = timeline_svg(&t);
        assert!(
            svg.contains("rollback by &lt;olga&gt;"),
            "the marker is named, as text"
        );
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
