//! The picture of a run: one panel per configuration, with the dependency's
//! health and the breaker's state as bands, the calls by fate, the error rate
//! and the callers' latency over time. SVG or PNG, drawn with `plotters`.
//!
//! The PNG's text is drawn with a font shipped in the crate (DejaVu Sans, cut
//! to Basic Latin: `assets/`), so the same report gives the same bytes on any
//! machine.

use std::ops::Range;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::Health;
use crate::error::Error;
use crate::report::{Configuration, Report};
use crate::timeline::Row;

/// The picture's width, in pixels.
pub const WIDTH: u32 = 1000;
const TITLE: u32 = 34;
const BANDS: u32 = 46;
const CALLS: u32 = 150;
const SMALL: u32 = 110;
const GAP: u32 = 14;
/// The most columns drawn per chart: steps beyond are summed into columns.
const COLUMNS: usize = 600;
const LEFT: u32 = 110;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            unreachable!("the shipped font is valid");
        }
    });
}

/// The picture's height for `report`, in pixels.
pub fn height(report: &Report) -> u32 {
    TITLE + report.configurations.len() as u32 * panel_height()
}

fn panel_height() -> u32 {
    BANDS + CALLS + 2 * SMALL + GAP + 24
}

/// The picture as SVG.
pub fn svg(report: &Report) -> Result<String, Error> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, height(report))).into_drawing_area();
        draw(&root, report).map_err(drawing)?;
        root.present().map_err(drawing)?;
    }
    Ok(out)
}

/// The picture as PNG.
pub fn png(report: &Report) -> Result<Vec<u8>, Error> {
    register_font();
    let (w, h) = (WIDTH, height(report));
    let mut pixels = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        draw(&root, report).map_err(drawing)?;
        root.present().map_err(drawing)?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(drawing)?;
    writer.write_image_data(&pixels).map_err(drawing)?;
    writer.finish().map_err(drawing)?;
    Ok(out)
}

fn drawing(error: impl std::fmt::Display) -> Error {
    Error::Io {
        path: "picture".into(),
        message: error.to_string(),
    }
}

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, report: &Report) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let (title, mut rest) = root.split_vertically(TITLE);
    let caption = if report.description.is_empty() {
        "seawall simulate".to_string()
    } else {
        report.description.clone()
    };
    title.draw(&Text::new(
        caption,
        (10, 10),
        ("sans-serif", 16).into_font(),
    ))?;
    let end = report.duration_s.max(
        report
            .configurations
            .iter()
            .filter_map(|c| c.timeline.last())
            .map(|r| r.t_s + report.step_s)
            .fold(0.0, f64::max),
    );
    for configuration in &report.configurations {
        let (panel, below) = rest.split_vertically(panel_height());
        rest = below;
        draw_panel(&panel, configuration, report.step_s, 0.0..end)?;
    }
    Ok(())
}

/// Steps summed into at most [`COLUMNS`] columns.
struct Column {
    t: f64,
    width: f64,
    succeeded: f64,
    failed: f64,
    refused: f64,
    probes: u64,
    error_rate: Option<f64>,
    /// Whether any attempt ended in these steps.
    ended: bool,
    p50: f64,
    p99: f64,
    state: &'static str,
    dependency: Health,
}

fn columns(rows: &[Row], step: f64) -> Vec<Column> {
    let per = rows.len().div_ceil(COLUMNS).max(1);
    rows.chunks(per)
        .map(|chunk| {
            let width = step * chunk.len() as f64;
            let sum = |f: fn(&Row) -> u64| chunk.iter().map(f).sum::<u64>() as f64;
            let (succeeded, failed) = (sum(|r| r.succeeded), sum(|r| r.failed));
            let ended = succeeded + failed;
            let worst_state = chunk
                .iter()
                .map(|r| r.state)
                .max_by_key(|s| state_rank(s))
                .unwrap_or("");
            Column {
                t: chunk[0].t_s,
                width,
                succeeded: succeeded / width,
                failed: failed / width,
                refused: sum(|r| r.refused) / width,
                probes: chunk.iter().map(|r| r.probes).sum(),
                error_rate: (ended > 0.0).then(|| failed / ended * 100.0),
                ended: chunk.iter().any(|r| r.succeeded + r.failed + r.refused > 0),
                p50: chunk.iter().map(|r| r.p50_ms).fold(0.0, f64::max),
                p99: chunk.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
                state: worst_state,
                dependency: chunk
                    .iter()
                    .map(|r| r.dependency)
                    .max()
                    .unwrap_or(Health::Up),
            }
        })
        .collect()
}

fn state_rank(state: &str) -> u8 {
    match state {
        "open" | "forced_open" => 3,
        "half_open" => 2,
        "closed" | "disabled" => 1,
        _ => 0,
    }
}

fn state_color(state: &str) -> RGBColor {
    match state {
        "closed" => RGBColor(0x4c, 0xaf, 0x50),
        "open" | "forced_open" => RGBColor(0xe5, 0x39, 0x35),
        "half_open" => RGBColor(0xff, 0xb3, 0x00),
        _ => RGBColor(0x9e, 0x9e, 0x9e),
    }
}

fn health_color(health: Health) -> RGBColor {
    match health {
        Health::Up => RGBColor(0xc8, 0xe6, 0xc9),
        Health::Degraded => RGBColor(0xff, 0xe0, 0xb2),
        Health::Down => RGBColor(0xff, 0xcd, 0xd2),
    }
}

const SUCCEEDED: RGBColor = RGBColor(0x2e, 0x7d, 0x32);
const FAILED: RGBColor = RGBColor(0xc6, 0x28, 0x28);
const REFUSED: RGBColor = RGBColor(0x75, 0x75, 0x75);
const P99: RGBColor = RGBColor(0x6a, 0x1b, 0x9a);
const P50: RGBColor = RGBColor(0x15, 0x65, 0xc0);

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Configuration,
    step: f64,
    x: Range<f64>,
) -> Drawn<DB> {
    let columns = columns(&c.timeline, step);
    let (head, rest) = area.split_vertically(24);
    let s = &c.summary;
    head.draw(&Text::new(
        format!(
            "{}: {} calls, {} failed, {} rejected, {} spared, p99 {} ms",
            c.name, s.calls, s.failed, s.rejected, s.failures_spared, s.latency_ms.p99
        ),
        (10, 6),
        ("sans-serif", 14).into_font(),
    ))?;
    let (bands, rest) = rest.split_vertically(BANDS);
    let (calls, rest) = rest.split_vertically(CALLS);
    let (errors, rest) = rest.split_vertically(SMALL);
    let (latency, _) = rest.split_vertically(SMALL);
    draw_bands(&bands, &columns, x.clone())?;
    // Calls a second by fate, stacked: succeeded, failed, refused.
    let top = columns
        .iter()
        .map(|k| k.succeeded + k.failed + k.refused)
        .fold(1.0, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&calls)
        .margin_right(20)
        .y_label_area_size(LEFT - 10)
        .x_label_area_size(20)
        .build_cartesian_2d(x.clone(), 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .y_labels(4)
        .y_desc("attempts/s")
        .label_style(("sans-serif", 11))
        .draw()?;
    let fates = [
        ("succeeded", SUCCEEDED),
        ("failed", FAILED),
        ("refused", REFUSED),
    ];
    for (index, (label, color)) in fates.into_iter().enumerate() {
        chart
            .draw_series(columns.iter().map(|k| {
                let parts = [k.succeeded, k.failed, k.refused];
                let below: f64 = parts[..index].iter().sum();
                Rectangle::new(
                    [(k.t, below), (k.t + k.width, below + parts[index])],
                    color.filled(),
                )
            }))?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 11))
        .draw()?;
    // The error rate of the attempts that ended.
    let mut chart = ChartBuilder::on(&errors)
        .margin_right(20)
        .y_label_area_size(LEFT - 10)
        .x_label_area_size(20)
        .build_cartesian_2d(x.clone(), 0.0..105.0)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .y_labels(3)
        .y_desc("error %")
        .label_style(("sans-serif", 11))
        .draw()?;
    chart.draw_series(columns.iter().filter_map(|k| {
        let rate = k.error_rate?;
        Some(Rectangle::new(
            [(k.t, 0.0), (k.t + k.width, rate)],
            FAILED.mix(0.8).filled(),
        ))
    }))?;
    // The callers' latency.
    let top = columns.iter().map(|k| k.p99).fold(1.0, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&latency)
        .margin_right(20)
        .y_label_area_size(LEFT - 10)
        .x_label_area_size(20)
        .build_cartesian_2d(x, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|v| format!("{v:.0} s"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .y_labels(3)
        .y_desc("latency ms")
        .label_style(("sans-serif", 11))
        .draw()?;
    for (color, label, pick) in [
        (P99, "p99", (|k: &Column| k.p99) as fn(&Column) -> f64),
        (P50, "p50", |k: &Column| k.p50),
    ] {
        for run in runs(&columns) {
            chart.draw_series(LineSeries::new(
                run.iter().map(|k| (k.t + k.width / 2.0, pick(k))),
                color.stroke_width(2),
            ))?;
        }
        chart
            .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 11))
        .draw()?;
    Ok(())
}

/// Stretches of columns in which calls ended: latency lines break where none did.
fn runs(columns: &[Column]) -> impl Iterator<Item = &[Column]> {
    columns.split(|k| !k.ended).filter(|run| !run.is_empty())
}

/// Two bands: the dependency's health, and the breaker's state with its probes.
fn draw_bands<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    columns: &[Column],
    x: Range<f64>,
) -> Drawn<DB> {
    let mut chart = ChartBuilder::on(area)
        .margin_right(20)
        .y_label_area_size(LEFT - 10)
        .build_cartesian_2d(x, 0.0..2.0)?;
    chart.draw_series(columns.iter().map(|k| {
        Rectangle::new(
            [(k.t, 1.1), (k.t + k.width, 1.9)],
            health_color(k.dependency).filled(),
        )
    }))?;
    let breaker = columns.iter().any(|k| !k.state.is_empty());
    if breaker {
        chart.draw_series(columns.iter().map(|k| {
            Rectangle::new(
                [(k.t, 0.1), (k.t + k.width, 0.9)],
                state_color(k.state).filled(),
            )
        }))?;
        chart.draw_series(
            columns
                .iter()
                .filter(|k| k.probes > 0)
                .map(|k| Circle::new((k.t + k.width / 2.0, 0.5), 3, BLACK.filled())),
        )?;
    }
    let font = ("sans-serif", 11).into_font();
    area.draw(&Text::new("dependency", (8, 6), font.clone()))?;
    if breaker {
        area.draw(&Text::new("breaker", (8, 26), font))?;
    }
    Ok(())
}
