//! A backfill run's progress: keys processed over time (with the estimate as
//! a ceiling) and the rate between samples, as one SVG.
use plotters::prelude::*;

/// One sample: (at_ms, processed, created, errors).
pub type Sample = (i64, i64, i64, i64);

const WIDTH: u32 = 720;
const HEIGHT: u32 = 360;

/// The SVG document; a short text note instead when there is nothing to draw.
pub fn progress_svg(samples: &[Sample], total: Option<i64>) -> String {
    let mut svg = String::new();
    if let Err(e) = draw(&mut svg, samples, total) {
        tracing::warn!(error = %e, "progress chart failed");
        return String::new();
    }
    svg
}

fn rates(samples: &[Sample]) -> Vec<(f64, f64)> {
    let t0 = samples.first().map_or(0, |s| s.0);
    samples
        .windows(2)
        .filter_map(|w| {
            let dt = (w[1].0 - w[0].0) as f64 / 1000.0;
            (dt > 0.0).then(|| ((w[1].0 - t0) as f64 / 1000.0, (w[1].1 - w[0].1) as f64 / dt))
        })
        .collect()
}

fn draw(
    out: &mut String,
    samples: &[Sample],
    total: Option<i64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(HEIGHT / 2 + 20);
    let t0 = samples.first().map_or(0, |s| s.0);
    let secs = |ms: i64| (ms - t0) as f64 / 1000.0;
    let span = samples.last().map_or(1.0, |s| secs(s.0)).max(1.0);
    let max_rows = samples
        .iter()
        .map(|s| s.1)
        .chain(total)
        .max()
        .unwrap_or(1)
        .max(1) as f64;

    let mut rows = ChartBuilder::on(&top)
        .caption("keys processed", ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(20)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..span, 0f64..max_rows * 1.05)?;
    rows.configure_mesh()
        .x_desc("s")
        .light_line_style(WHITE)
        .draw()?;
    if let Some(t) = total {
        rows.draw_series(LineSeries::new(
            [(0.0, t as f64), (span, t as f64)],
            BLACK.mix(0.3),
        ))?;
    }
    rows.draw_series(LineSeries::new(
        samples.iter().map(|s| (secs(s.0), s.1 as f64)),
        BLUE.stroke_width(2),
    ))?;
    rows.draw_series(LineSeries::new(
        samples.iter().map(|s| (secs(s.0), s.2 as f64)),
        GREEN.stroke_width(1),
    ))?;

    let rate = rates(samples);
    let max_rate = rate.iter().map(|r| r.1).fold(1.0, f64::max);
    let mut speed = ChartBuilder::on(&bottom)
        .caption("rate (keys/s)", ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(20)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..span, 0f64..max_rate * 1.1)?;
    speed
        .configure_mesh()
        .x_desc("s")
        .light_line_style(WHITE)
        .draw()?;
    speed.draw_series(LineSeries::new(rate, RED.stroke_width(2)))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_both_panels_as_svg() {
        let samples: Vec<Sample> = (0..10).map(|i| (i * 500, i * 1000, i * 990, i)).collect();
        let svg = progress_svg(&samples, Some(12_000));
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.contains("keys processed") && svg.contains("rate (keys/s)"));
        assert!(
            svg.matches("<polyline").count() >= 4,
            "rows, created, total, rate"
        );
        assert_eq!(rates(&samples)[0], (0.5, 2000.0));
        assert!(
            progress_svg(&[], None).starts_with("<svg"),
            "an empty run still draws axes"
        );
    }
}
