//! A backfill run's progress: keys processed over time (with the estimate as
//! a ceiling) and the rate between samples, as one SVG. Colours are the
//! Okabe–Ito palette (told apart with any colour vision), counts are whole
//! numbers, and the rate's scale ignores a lone spike (a first chunk that
//! came back at once), so a throttled run does not read as zero.
use plotters::prelude::*;

/// One sample: (at_ms, processed, created, errors).
pub type Sample = (i64, i64, i64, i64);

const WIDTH: u32 = 720;
const HEIGHT: u32 = 380;
const PROCESSED: RGBColor = RGBColor(0, 114, 178);
const CREATED: RGBColor = RGBColor(0, 158, 115);
const RATE: RGBColor = RGBColor(213, 94, 0);

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

/// The top of the rate axis: the largest rate, unless it stands alone far
/// above the rest (then 1.5 × the 90th percentile; that one spike is
/// clipped). Two or more high rates are a real change of pace: all fit.
fn rate_ceiling(rate: &[(f64, f64)]) -> f64 {
    let mut values: Vec<f64> = rate.iter().map(|r| r.1).filter(|v| v.is_finite()).collect();
    values.sort_by(f64::total_cmp);
    let max = values.last().copied().unwrap_or(1.0).max(1.0);
    if values.len() < 5 {
        return max * 1.1;
    }
    let p90 = values[(values.len() * 9) / 10 - 1].max(1.0);
    let second = values[values.len() - 2];
    if max > 3.0 * p90 && second <= 3.0 * p90 {
        p90 * 1.5
    } else {
        max * 1.1
    }
}

/// A whole number with thousands separators: 50000.0 → "50,000".
fn count(v: &f64) -> String {
    app::format::grouped(v.round() as i64)
}

fn draw(
    out: &mut String,
    samples: &[Sample],
    total: Option<i64>,
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(out, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(HEIGHT / 2 + 10);
    let t0 = samples.first().map_or(0, |s| s.0);
    let secs = |ms: i64| (ms - t0) as f64 / 1000.0;
    let span = samples.last().map_or(1.0, |s| secs(s.0)).max(1.0);
    let max_rows = samples
        .iter()
        .map(|s| s.1)
        .chain(total)
        .max()
        .unwrap_or(0)
        .max(10) as f64;

    let mut rows = ChartBuilder::on(&top)
        .caption(
            "keys processed (blue) and created (green)",
            ("sans-serif", 14),
        )
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..span, 0f64..max_rows * 1.05)?;
    rows.configure_mesh()
        .x_desc("seconds since the run started")
        .y_label_formatter(&count)
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
        PROCESSED.stroke_width(2),
    ))?;
    rows.draw_series(LineSeries::new(
        samples.iter().map(|s| (secs(s.0), s.2 as f64)),
        CREATED.stroke_width(1),
    ))?;

    let rate = rates(samples);
    // At least 10 keys/s tall: whole-number ticks stay distinct.
    let ceiling = rate_ceiling(&rate).max(10.0);
    let mut speed = ChartBuilder::on(&bottom)
        .caption("rate (keys/s)", ("sans-serif", 14))
        .margin(8)
        .x_label_area_size(34)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..span, 0f64..ceiling)?;
    speed
        .configure_mesh()
        .x_desc("seconds since the run started")
        .y_label_formatter(&count)
        .light_line_style(WHITE)
        .draw()?;
    let clipped = rate.into_iter().map(|(t, r)| (t, r.min(ceiling)));
    speed.draw_series(LineSeries::new(clipped, RATE.stroke_width(2)))?;
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
            svg.contains("12,000") || svg.contains("10,000"),
            "whole counts with separators"
        );
        assert!(!svg.contains(".0<"), "no 50000.0 labels");
        assert!(
            progress_svg(&[], None).starts_with("<svg"),
            "an empty run still draws axes"
        );
    }

    #[test]
    fn a_lone_first_chunk_spike_does_not_flatten_a_throttled_run() {
        let mut rate: Vec<(f64, f64)> = vec![(0.1, 50_000.0)];
        rate.extend((1..40).map(|i| (i as f64, 300.0)));
        // At least 10 keys/s tall: whole-number ticks stay distinct.
        let ceiling = rate_ceiling(&rate).max(10.0);
        assert!(
            ceiling < 1_000.0,
            "scaled to the run, not the spike: {ceiling}"
        );
        assert!(ceiling >= 300.0);
        let steady: Vec<(f64, f64)> = (1..40).map(|i| (i as f64, 300.0 + i as f64)).collect();
        assert!(
            rate_ceiling(&steady) > 338.0,
            "no spike: the largest rate fits"
        );
        let mut retuned: Vec<(f64, f64)> = (1..36).map(|i| (i as f64, 300.0)).collect();
        retuned.extend((36..40).map(|i| (i as f64, 5_000.0)));
        assert!(
            rate_ceiling(&retuned) >= 5_000.0,
            "a faster last stretch fits"
        );
        assert_eq!(count(&50_000.0), "50,000");
        assert_eq!(count(&999.4), "999");
    }
}
