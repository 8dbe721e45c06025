//! The chart of `racelab seeds`: one horizontal bar per variant, its time over its
//! experiment's baseline on a log scale, as SVG (plotters' drawing primitives).

use super::{SeedsReport, fmt_seconds};
use std::path::Path;

/// Writes the chart of `report` to `path`.
///
/// # Errors
/// One line: nothing to draw, or the file cannot be written.
pub fn write_svg(path: &Path, report: &SeedsReport) -> Result<(), String> {
    use plotters::prelude::*;
    let rows: Vec<_> = report.rows.iter().filter(|r| r.ratio.is_some()).collect();
    if rows.is_empty() {
        return Err(format!("no measured rows to chart in {}", path.display()));
    }
    let err = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    const BAR_H: i32 = 22;
    const LEFT: i32 = 430;
    const WIDTH: i32 = 1200;
    let height = 80 + BAR_H * rows.len() as i32 + 40;
    let root = SVGBackend::new(path, (WIDTH as u32, height as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let font = ("sans-serif", 14).into_font();
    let title = ("sans-serif", 18).into_font();
    root.draw(&Text::new(
        format!(
            "racelab seeds on {} cores: each variant's time over its experiment's baseline (log scale; left of the line = faster)",
            report.cores
        ),
        (10, 10),
        title,
    ))
    .map_err(|e| err(&e))?;
    // Log scale from 1/1000 to 100 over the bar area.
    let (lo, hi) = (-3.0f64, 2.0f64);
    let span = (WIDTH - LEFT - 150) as f64;
    let x_of = |ratio: f64| LEFT + ((ratio.log10().clamp(lo, hi) - lo) / (hi - lo) * span) as i32;
    let one = x_of(1.0);
    let top = 50;
    for (i, r) in rows.iter().enumerate() {
        let y = top + BAR_H * i as i32;
        let ratio = r.ratio.unwrap_or(1.0);
        let colour = if r.baseline {
            RGBColor(127, 127, 127)
        } else if ratio < 1.0 {
            RGBColor(44, 160, 44)
        } else {
            RGBColor(214, 39, 40)
        };
        let (a, b) = (one.min(x_of(ratio)), one.max(x_of(ratio)));
        root.draw(&Rectangle::new(
            [(a, y + 3), (b.max(a + 2), y + BAR_H - 3)],
            colour.filled(),
        ))
        .map_err(|e| err(&e))?;
        root.draw(&Text::new(
            format!("{} · {}", r.experiment, r.variant),
            (10, y + 4),
            font.clone(),
        ))
        .map_err(|e| err(&e))?;
        root.draw(&Text::new(
            format!(
                "{:.2}× ({})",
                ratio,
                r.seconds.map_or_else(|| "-".into(), fmt_seconds)
            ),
            (b + 6, y + 4),
            font.clone(),
        ))
        .map_err(|e| err(&e))?;
    }
    let bottom = top + BAR_H * rows.len() as i32;
    root.draw(&PathElement::new(
        vec![(one, top - 4), (one, bottom)],
        BLACK,
    ))
    .map_err(|e| err(&e))?;
    for (r, label) in [
        (0.001, "1/1000"),
        (0.01, "1/100"),
        (0.1, "1/10"),
        (1.0, "1"),
        (10.0, "10"),
        (100.0, "100"),
    ] {
        root.draw(&Text::new(label, (x_of(r) - 10, bottom + 8), font.clone()))
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
