//! `bench --plot FILE.svg`: the timeline drawn so a failover is seen at a glance.
//!
//! Two panels sharing the time axis: successful and failed operations per second in each
//! 250 ms bucket, and the slowest operation of each bucket (log scale); every shard event is
//! a vertical line across both, labelled `shard down` / `shard up`. A redis-ring run adds one
//! thin line per shard (its commands per second, from the client's per-shard counters), so
//! a failover shows the down shard's share moving to the others. plotters with its SVG
//! backend only: text is left to the SVG viewer's fonts, so nothing depends on system fonts.

use std::path::Path;

use plotters::prelude::*;

use super::per_shard::ShardLines;
use super::recorder::{Bucket, ShardEvent, BUCKET};

const WIDTH: u32 = 1000;
const HEIGHT: u32 = 640;
const OK_COLOR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const ERR_COLOR: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const DOWN_COLOR: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const UP_COLOR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const LATENCY_COLOR: RGBColor = RGBColor(0x94, 0x67, 0xbd);
/// The per-shard lines' colours, in shard order (cycled).
const SHARD_COLORS: [RGBColor; 6] = [
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
];

/// Draws `timeline` and `events` with `title` into the SVG file `path`.
pub(crate) fn draw(
    path: &Path,
    title: &str,
    elapsed: f64,
    timeline: &[Bucket],
    events: &[ShardEvent],
    shards: &ShardLines,
) -> Result<(), String> {
    let svg = render(title, elapsed, timeline, events, shards)?;
    std::fs::write(path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The SVG text of the plot of a run that lasted `elapsed` seconds.
pub(crate) fn render(
    title: &str,
    elapsed: f64,
    timeline: &[Bucket],
    events: &[ShardEvent],
    shards: &ShardLines,
) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw_on(&root, title, elapsed, timeline, events, shards)
            .map_err(|e| format!("drawing the plot: {e}"))?;
        root.present()
            .map_err(|e| format!("drawing the plot: {e}"))?;
    }
    Ok(svg)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw_on(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    elapsed: f64,
    timeline: &[Bucket],
    events: &[ShardEvent],
    shards: &ShardLines,
) -> DrawResult {
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (upper, lower) = root.split_vertically(HEIGHT * 58 / 100);
    let bucket_s = BUCKET.as_secs_f64();
    let t_end = elapsed.max(bucket_s);
    // The last bucket is usually cut short by the end of the run: its rate is over the part
    // that was measured, not over 250 ms (else every run would seem to end with a drop).
    let width = |i: usize| (t_end - i as f64 * bucket_s).clamp(bucket_s / 25.0, bucket_s);
    let rate = |i: usize, n: u64| n as f64 / width(i);
    // A sliver of a bucket after the deadline (commands that were in flight) has no
    // meaningful rate: not drawn.
    let timeline = match timeline.split_last() {
        Some((_, rest)) if width(timeline.len() - 1) < bucket_s / 5.0 => rest,
        _ => timeline,
    };
    let max_of = |f: &dyn Fn(&Bucket) -> u64| {
        timeline
            .iter()
            .enumerate()
            .map(|(i, b)| rate(i, f(b)))
            .fold(0.0, f64::max)
            .max(1.0)
            * 1.15
    };
    let max_rate = max_of(&|b| b.ok);
    // Errors get their own scale (right axis): a failover's few hundred errors per second
    // would be invisible next to a hundred thousand successes.
    let max_err = max_of(&|b| b.err).max(10.0);
    // Upper panel: ok and error rates. Each bucket is drawn as a step so a short outage is
    // not smoothed away.
    let mut rates = ChartBuilder::on(&upper)
        .margin_left(10)
        .margin_right(20)
        .margin_top(10)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0f64..t_end, 0f64..max_rate)?
        .set_secondary_coord(0f64..t_end, 0f64..max_err);
    rates
        .configure_mesh()
        .y_desc("ok operations / s")
        .y_label_formatter(&|v| si(*v))
        .light_line_style(WHITE.mix(0.0))
        .label_style(("sans-serif", 13))
        .draw()?;
    rates
        .configure_secondary_axes()
        .y_desc("errors / s")
        .y_label_formatter(&|v| si(*v))
        .label_style(("sans-serif", 13).into_font().color(&ERR_COLOR))
        .draw()?;
    rates
        .draw_series(LineSeries::new(
            steps(timeline, t_end, |i, b| rate(i, b.ok)),
            OK_COLOR.stroke_width(2),
        ))?
        .label("ok / s")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], OK_COLOR.stroke_width(2)));
    rates
        .draw_secondary_series(LineSeries::new(
            steps(timeline, t_end, |i, b| rate(i, b.err)),
            ERR_COLOR.stroke_width(2),
        ))?
        .label("errors / s (right axis)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], ERR_COLOR.stroke_width(2)));
    for (k, (name, ops)) in shards.iter().enumerate() {
        let color = SHARD_COLORS[k % SHARD_COLORS.len()];
        let line: Vec<Bucket> = ops
            .iter()
            .take(timeline.len())
            .map(|&ok| Bucket {
                ok,
                ..Bucket::default()
            })
            .collect();
        rates
            .draw_series(LineSeries::new(
                steps(&line, t_end, |i, b| rate(i, b.ok)),
                color.stroke_width(1),
            ))?
            .label(format!("{name} commands / s"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(1)));
    }
    for e in events {
        let t = e.t_ms as f64 / 1e3;
        let color = if e.up { UP_COLOR } else { DOWN_COLOR };
        rates.draw_series(LineSeries::new(
            [(t, 0.0), (t, max_rate)],
            color.stroke_width(1),
        ))?;
        let label = format!("{} {}", e.shard, if e.up { "up" } else { "down" });
        rates.draw_series([Text::new(
            label,
            (t, max_rate * 0.97),
            ("sans-serif", 13).into_font().color(&color),
        )])?;
    }
    rates
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;

    // Lower panel: the slowest operation per bucket, log scale (from microseconds to
    // seconds on one axis).
    let max_ms = timeline
        .iter()
        .map(|b| b.max_us as f64 / 1e3)
        .fold(1.0, f64::max)
        * 2.0;
    let mut latency = ChartBuilder::on(&lower)
        .margin_left(10)
        .margin_right(20)
        .margin_top(5)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0f64..t_end, (0.01f64..max_ms).log_scale())?;
    latency
        .configure_mesh()
        .y_desc("max latency (ms)")
        .x_desc("time (s)")
        .light_line_style(WHITE.mix(0.0))
        .label_style(("sans-serif", 13))
        .draw()?;
    latency
        .draw_series(LineSeries::new(
            steps(timeline, t_end, |_, b| (b.max_us as f64 / 1e3).max(0.01)),
            LATENCY_COLOR.stroke_width(2),
        ))?
        .label("slowest op in 250 ms")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], LATENCY_COLOR.stroke_width(2)));
    for e in events {
        let t = e.t_ms as f64 / 1e3;
        let color = if e.up { UP_COLOR } else { DOWN_COLOR };
        latency.draw_series(LineSeries::new(
            [(t, 0.01), (t, max_ms)],
            color.stroke_width(1),
        ))?;
    }
    latency
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

/// Points drawing each bucket as a flat step over its 250 ms (the last one up to `end`).
fn steps(timeline: &[Bucket], end: f64, value: impl Fn(usize, &Bucket) -> f64) -> Vec<(f64, f64)> {
    let w = BUCKET.as_secs_f64();
    timeline
        .iter()
        .enumerate()
        .flat_map(|(i, b)| {
            let v = value(i, b);
            let from = i as f64 * w;
            [(from, v), (((i + 1) as f64 * w).min(end.max(from)), v)]
        })
        .collect()
}

/// `12k`, `1.5M`: axis labels that stay short.
fn si(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.0}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_readable_svg_with_events() {
        let timeline: Vec<Bucket> = (0..20)
            .map(|i| Bucket {
                ok: if (8..11).contains(&i) { 100 } else { 10_000 },
                err: if (8..10).contains(&i) { 50 } else { 0 },
                max_us: if i == 8 { 900_000 } else { 300 },
            })
            .collect();
        let events = [
            ShardEvent {
                t_ms: 2100,
                shard: "shard2".into(),
                up: false,
            },
            ShardEvent {
                t_ms: 3900,
                shard: "shard2".into(),
                up: true,
            },
        ];
        let shards = vec![
            ("shard1".to_string(), vec![5_000; 20]),
            ("shard2".to_string(), vec![5_000; 20]),
        ];
        let svg = render("bench: conc, 50 callers", 5.0, &timeline, &events, &shards).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..100]);
        for text in [
            "shard2 down",
            "shard2 up",
            "ok / s",
            "errors / s",
            "max latency (ms)",
            "40k",
            "shard1 commands / s",
        ] {
            assert!(svg.contains(text), "missing {text:?}");
        }
        // An empty run still draws axes instead of failing.
        assert!(render("empty", 0.0, &[], &[], &Vec::new())
            .unwrap()
            .contains("<svg"));
    }

    #[test]
    fn steps_and_labels() {
        let t = [
            Bucket {
                ok: 1,
                err: 0,
                max_us: 0,
            },
            Bucket {
                ok: 2,
                err: 0,
                max_us: 0,
            },
        ];
        assert_eq!(
            steps(&t, 0.4, |_, b| b.ok as f64),
            [(0.0, 1.0), (0.25, 1.0), (0.25, 2.0), (0.4, 2.0)]
        );
        assert_eq!(si(950.0), "950");
        assert_eq!(si(12_300.0), "12k");
        assert_eq!(si(1_500_000.0), "1.5M");
    }
}
