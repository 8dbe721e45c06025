//! The chart: ns per increment against threads, a line per variant, as SVG (plotters).

use super::criterion::Bench;
use super::runs::Parallelism;
use super::tables::fmt_ns;
use super::walk::{Data, order_key};
use std::path::Path;

/// A line per variant: `(family, variant, racy, [(threads, ns/op, parallel)])`.
type Series = (String, String, bool, Vec<(usize, f64, bool)>);

fn series(data: &Data) -> Vec<Series> {
    let mut benches: Vec<&Bench> = data
        .shown()
        .filter(|b| super::walk::is_increments(b))
        .collect();
    benches.sort_by_key(|b| (order_key(b), b.threads));
    let mut out: Vec<Series> = Vec::new();
    for b in benches {
        let parallel = data
            .stats(b)
            .is_none_or(|s| s.parallelism() != Parallelism::No);
        let point = (b.threads, b.ns_per_op().point_estimate, parallel);
        match out.last_mut() {
            Some(s) if s.0 == b.family && s.1 == b.variant => s.3.push(point),
            _ => out.push((
                b.family.clone(),
                b.variant.clone(),
                data.racy(b).unwrap_or(false),
                vec![point],
            )),
        }
    }
    out
}

const COLOURS: [(u8, u8, u8); 14] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (0, 0, 128),
    (128, 0, 0),
    (0, 128, 128),
    (90, 90, 0),
];

pub(super) fn write_svg(path: &Path, data: &Data) -> Result<(), String> {
    use plotters::element::DashedPathElement;
    use plotters::prelude::*;
    let all = series(data);
    if all.is_empty() {
        return Err("no counter or lock benchmarks to chart".into());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let err = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    let ys = all.iter().flat_map(|s| s.3.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, 0.0f64), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    let max_threads = all
        .iter()
        .flat_map(|s| s.3.iter().map(|p| p.0))
        .max()
        .unwrap_or(1);
    let (lo, hi) = (lo * 0.7, hi * 1.6);
    {
        let root = SVGBackend::new(path, (1200, 700)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root
            .titled(
                "racelab: ns per increment (wall time / all threads' increments) vs threads",
                ("sans-serif", 22),
            )
            .map_err(|e| err(&e))?;
        let (left, right) = root.split_horizontally(860);
        let mut chart = ChartBuilder::on(&left)
            .margin(18)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(0.5f64..max_threads as f64 + 0.5, (lo..hi).log_scale())
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("threads")
            .y_desc("ns / increment (log scale)")
            .x_labels(2 * max_threads + 2)
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-6 && *v >= 1.0 {
                    format!("{}", v.round())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| fmt_ns(*v))
            .draw()
            .map_err(|e| err(&e))?;
        let font = ("sans-serif", 14).into_font();
        let mut y = 30;
        for (i, (family, variant, racy, points)) in all.iter().enumerate() {
            let (r, g, b) = COLOURS[i % COLOURS.len()];
            let colour = RGBColor(r, g, b);
            let style = colour.stroke_width(2);
            let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.0 as f64, p.1)).collect();
            if *racy {
                chart
                    .draw_series(DashedLineSeries::new(xy, 7, 5, style))
                    .map_err(|e| err(&e))?;
                right
                    .draw(&DashedPathElement::new(vec![(10, y), (50, y)], 7, 5, style))
                    .map_err(|e| err(&e))?;
            } else {
                chart
                    .draw_series(LineSeries::new(xy, style))
                    .map_err(|e| err(&e))?;
                right
                    .draw(&PathElement::new(vec![(10, y), (50, y)], style))
                    .map_err(|e| err(&e))?;
            }
            chart
                .draw_series(points.iter().map(|p| {
                    if p.2 {
                        Circle::new((p.0 as f64, p.1), 4, colour.filled())
                    } else {
                        Circle::new((p.0 as f64, p.1), 6, colour.stroke_width(2))
                    }
                }))
                .map_err(|e| err(&e))?;
            right
                .draw(&Circle::new((30, y), 4, colour.filled()))
                .map_err(|e| err(&e))?;
            let label = format!("{family}/{variant}{}", if *racy { " (racy)" } else { "" });
            right
                .draw(&Text::new(label, (60, y - 8), font.clone()))
                .map_err(|e| err(&e))?;
            y += 24;
        }
        y += 16;
        let grey = RGBColor(90, 90, 90);
        right
            .draw(&Circle::new((30, y), 4, grey.filled()))
            .map_err(|e| err(&e))?;
        right
            .draw(&Text::new(
                "threads ran in parallel",
                (60, y - 8),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
        y += 24;
        right
            .draw(&Circle::new((30, y), 6, grey.stroke_width(2)))
            .map_err(|e| err(&e))?;
        right
            .draw(&Text::new(
                "threads did NOT run in parallel",
                (60, y - 8),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
        y += 24;
        right
            .draw(&Text::new(
                "dashed: intentionally racy",
                (60, y - 8),
                font.clone(),
            ))
            .map_err(|e| err(&e))?;
        right
            .draw(&DashedPathElement::new(
                vec![(10, y), (50, y)],
                7,
                5,
                grey.stroke_width(2),
            ))
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(())
}
