//! Dependency-free report output: an SVG line chart (`svg`) and a markdown table
//! (`markdown_table`), for the reports `cargo xtask simulate` writes.
//!
//! The chart is a standalone SVG 1.1 document of a fixed size. Points that cannot be drawn
//! (non-finite, beyond ±1e300, or not positive on a log axis) are skipped, so the output never
//! contains `NaN` or `inf`. Every piece of text is XML-escaped.

use std::fmt::Write as _;

/// One line on a chart: `points` are `(x, y)` in data units, drawn in order of `x`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// Data points; need not be sorted.
    pub points: Vec<(f64, f64)>,
}

/// How an axis maps data to pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Equal distances for equal differences; ticks at 1/2/5×10^k steps.
    Linear,
    /// Equal distances for equal ratios; ticks at 1, 2 and 5×10^k (only 10^k on wide ranges).
    /// Values ≤ 0 are skipped.
    Log,
}

/// What `svg` draws.
#[derive(Debug, Clone, Copy)]
pub struct Chart<'a> {
    /// Shown above the plot and as the document's `<title>`.
    pub title: &'a str,
    /// Below the x axis.
    pub x_label: &'a str,
    /// Beside the y axis, rotated.
    pub y_label: &'a str,
    pub x_scale: Scale,
    pub y_scale: Scale,
    /// One line each, styled by position (colour, dash pattern and marker shape all differ,
    /// so lines stay apart in greyscale).
    pub series: &'a [Series],
}

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 500.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 180.0; // room for the legend
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
/// Larger magnitudes are skipped: it keeps every range and step finite.
const LIMIT: f64 = 1e300;

/// Okabe–Ito colours (colour-blind safe), then the dash patterns and markers, by series index.
const COLOURS: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];
const DASHES: [&str; 5] = ["", "8 4", "2 3", "10 3 2 3", "4 4"];

#[derive(Debug, Clone, Copy)]
enum Marker {
    Circle,
    Square,
    Triangle,
    Diamond,
}
const MARKERS: [Marker; 4] = [
    Marker::Circle,
    Marker::Square,
    Marker::Triangle,
    Marker::Diamond,
];

/// Renders `chart` as a standalone SVG document (800×500).
pub fn svg(chart: &Chart<'_>) -> String {
    let plotted: Vec<Vec<(f64, f64)>> = chart
        .series
        .iter()
        .map(|s| plottable(&s.points, chart.x_scale, chart.y_scale))
        .collect();
    let xs: Vec<f64> = plotted.iter().flatten().map(|p| p.0).collect();
    let ys: Vec<f64> = plotted.iter().flatten().map(|p| p.1).collect();
    let x_axis = Axis::new(&xs, chart.x_scale);
    let y_axis = Axis::new(&ys, chart.y_scale);
    let px = |x: f64| LEFT + x_axis.fraction(x) * PLOT_W;
    let py = |y: f64| TOP + (1.0 - y_axis.fraction(y)) * PLOT_H;

    let mut out = String::new();
    let title = escape(chart.title);
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, "<title>{title}</title>");
    let _ = writeln!(
        out,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="28" text-anchor="middle" font-size="16" font-weight="bold">{title}</text>"#,
        LEFT + PLOT_W / 2.0
    );

    // Grid lines and tick marks.
    let (bottom, right) = (TOP + PLOT_H, LEFT + PLOT_W);
    let _ = writeln!(
        out,
        r##"<g class="grid" stroke="#dddddd" stroke-width="1">"##
    );
    for t in &x_axis.ticks {
        let x = px(t.value);
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{bottom}"/>"#
        );
    }
    for t in &y_axis.ticks {
        let y = py(t.value);
        let _ = writeln!(
            out,
            r#"<line x1="{LEFT}" y1="{y:.1}" x2="{right}" y2="{y:.1}"/>"#
        );
    }
    let _ = writeln!(out, "</g>");
    let _ = writeln!(out, r#"<g class="axes" stroke="black" stroke-width="1">"#);
    let _ = writeln!(
        out,
        r#"<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>"#
    );
    let _ = writeln!(
        out,
        r#"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}"/>"#
    );
    for t in &x_axis.ticks {
        let (x, len) = (px(t.value), tick_length(t));
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{:.1}"/>"#,
            bottom + len
        );
    }
    for t in &y_axis.ticks {
        let (y, len) = (py(t.value), tick_length(t));
        let _ = writeln!(
            out,
            r#"<line x1="{:.1}" y1="{y:.1}" x2="{LEFT}" y2="{y:.1}"/>"#,
            LEFT - len
        );
    }
    let _ = writeln!(out, "</g>");

    // Tick labels and axis titles.
    for t in &x_axis.ticks {
        if let Some(label) = &t.label {
            let _ = writeln!(
                out,
                r#"<text class="x-tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                px(t.value),
                bottom + 20.0,
                escape(label)
            );
        }
    }
    for t in &y_axis.ticks {
        if let Some(label) = &t.label {
            let _ = writeln!(
                out,
                r#"<text class="y-tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 9.0,
                py(t.value) + 4.0,
                escape(label)
            );
        }
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="13">{}</text>"#,
        LEFT + PLOT_W / 2.0,
        HEIGHT - 15.0,
        escape(chart.x_label)
    );
    let (yx, yy) = (20.0, TOP + PLOT_H / 2.0);
    let _ = writeln!(
        out,
        r#"<text x="{yx}" y="{yy}" text-anchor="middle" font-size="13" transform="rotate(-90 {yx} {yy})">{}</text>"#,
        escape(chart.y_label)
    );
    if xs.is_empty() {
        let _ = writeln!(
            out,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#888888">no data</text>"##,
            LEFT + PLOT_W / 2.0,
            TOP + PLOT_H / 2.0
        );
    }

    // The series, then the legend.
    for (i, (series, points)) in chart.series.iter().zip(&plotted).enumerate() {
        if points.is_empty() {
            continue;
        }
        let style = Style::of(i);
        let name = escape(&series.name);
        let _ = writeln!(out, r#"<g class="series">"#);
        let coords: Vec<String> = points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>"#,
            coords.join(" "),
            style.colour,
            style.dash_attr()
        );
        for &(x, y) in points {
            let tip = format!("{name}: ({}, {})", format_value(x), format_value(y));
            style.write_marker(&mut out, px(x), py(y), Some(&tip));
        }
        let _ = writeln!(out, "</g>");
    }
    let _ = writeln!(out, r#"<g class="legend">"#);
    for (i, series) in chart.series.iter().enumerate() {
        let style = Style::of(i);
        let x = right + 20.0;
        let y = TOP + 10.0 + 22.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="2"{}/>"#,
            x + 30.0,
            style.colour,
            style.dash_attr()
        );
        style.write_marker(&mut out, x + 15.0, y, None);
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            x + 38.0,
            y + 4.0,
            escape(&series.name)
        );
    }
    let _ = writeln!(out, "</g>");
    let _ = writeln!(out, "</svg>");
    out
}

/// A GitHub-flavoured markdown table. Every line gets as many columns as the widest of the
/// header and the rows (short ones are padded with empty cells); `|` in a cell is escaped and
/// line breaks become spaces. Columns whose non-empty cells are all numbers are right-aligned.
/// No columns at all give an empty string.
pub fn markdown_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = rows
        .iter()
        .map(Vec::len)
        .chain([headers.len()])
        .max()
        .unwrap_or(0);
    if columns == 0 {
        return String::new();
    }
    let cell = |c: &str| c.replace('|', "\\|").replace(['\r', '\n'], " ");
    let pad = |cells: Vec<String>| -> Vec<String> {
        let mut cells = cells;
        cells.resize(columns, String::new());
        cells
    };
    let header = pad(headers.iter().map(|h| cell(h)).collect());
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| pad(r.iter().map(|c| cell(c)).collect()))
        .collect();
    let numeric: Vec<bool> = (0..columns)
        .map(|c| {
            let mut values = body.iter().map(|r| r[c].trim()).filter(|v| !v.is_empty());
            let mut any = false;
            let all = values.all(|v| {
                any = true;
                v.parse::<f64>().is_ok()
            });
            any && all
        })
        .collect();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            body.iter()
                .chain([&header])
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
                .max(3)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut s = String::from("|");
        for (c, text) in cells.iter().enumerate() {
            let (w, n) = (widths[c], text.chars().count());
            let fill = " ".repeat(w.saturating_sub(n));
            if numeric[c] {
                let _ = write!(s, " {fill}{text} |");
            } else {
                let _ = write!(s, " {text}{fill} |");
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&header);
    out.push('|');
    for (c, w) in widths.iter().enumerate() {
        if numeric[c] {
            let _ = write!(out, " {}: |", "-".repeat(w - 1));
        } else {
            let _ = write!(out, " {} |", "-".repeat(*w));
        }
    }
    out.push('\n');
    for r in &body {
        out.push_str(&line(r));
    }
    out
}

/// The points of one series that can be drawn on these scales, sorted by x.
fn plottable(points: &[(f64, f64)], x_scale: Scale, y_scale: Scale) -> Vec<(f64, f64)> {
    let fits = |v: f64, scale: Scale| match scale {
        Scale::Linear => v.is_finite() && v.abs() <= LIMIT,
        Scale::Log => v.is_finite() && (1.0 / LIMIT..=LIMIT).contains(&v),
    };
    let mut kept: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|&(x, y)| fits(x, x_scale) && fits(y, y_scale))
        .collect();
    kept.sort_by(|a, b| a.0.total_cmp(&b.0));
    kept
}

#[derive(Debug, Clone)]
struct Tick {
    value: f64,
    /// `None` for a minor tick.
    label: Option<String>,
}

fn tick_length(t: &Tick) -> f64 {
    if t.label.is_some() { 6.0 } else { 3.0 }
}

/// One axis: its range (`lo < hi`, both positive on a log axis) and ticks.
#[derive(Debug)]
struct Axis {
    scale: Scale,
    lo: f64,
    hi: f64,
    ticks: Vec<Tick>,
}

impl Axis {
    /// An axis covering `values` (already filtered by `plottable`) with round ends.
    fn new(values: &[f64], scale: Scale) -> Axis {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        match scale {
            Scale::Linear if values.is_empty() => Axis::linear(0.0, 1.0),
            Scale::Linear => Axis::linear(min, max),
            Scale::Log if values.is_empty() => Axis::log(1.0, 10.0),
            Scale::Log => Axis::log(min, max),
        }
    }

    fn linear(min: f64, max: f64) -> Axis {
        // A span too narrow for distinct ticks (equal values, or differences at the edge of
        // f64's precision) is widened around its middle.
        let span = max - min;
        let (min, max) = if span > 1e-250 && span >= 1e-12 * min.abs().max(max.abs()) {
            (min, max)
        } else {
            let middle = min / 2.0 + max / 2.0;
            let pad = (middle.abs() * 0.1).max(1e-250);
            let pad = if middle == 0.0 { 1.0 } else { pad };
            (middle - pad, middle + pad)
        };
        let step = nice_step((max - min) / 5.0);
        let first = (min / step + 1e-9).floor();
        let last = (max / step - 1e-9).ceil().max(first + 1.0);
        let decimals = decimals_for(step);
        let ticks = (0..=((last - first) as i64).min(50))
            .map(|i| {
                let value = (first + i as f64) * step;
                Tick {
                    value,
                    label: Some(format_number(value, decimals)),
                }
            })
            .collect();
        Axis {
            scale: Scale::Linear,
            lo: first * step,
            hi: last * step,
            ticks,
        }
    }

    fn log(min: f64, max: f64) -> Axis {
        let k_lo = (min.log10().floor() as i32 - 1).max(-301);
        let k_hi = (max.log10().ceil() as i32 + 1).min(301);
        // Every 1/2/5×10^k around the data, ascending.
        let candidates: Vec<(f64, u8, i32)> = (k_lo..=k_hi)
            .flat_map(|k| [1u8, 2, 5].map(|m| (f64::from(m) * pow10(k), m, k)))
            .collect();
        let below = |v: f64| {
            candidates
                .iter()
                .rposition(|c| c.0 <= v * (1.0 + 1e-9))
                .unwrap_or(0)
        };
        let above = |v: f64| {
            candidates
                .iter()
                .position(|c| c.0 >= v * (1.0 - 1e-9))
                .unwrap_or(candidates.len() - 1)
        };
        let (mut i_lo, mut i_hi) = (below(min), above(max));
        if i_lo >= i_hi {
            i_lo = i_lo.saturating_sub(1);
            i_hi = (i_lo + 2).min(candidates.len() - 1);
        }
        if i_hi - i_lo <= 9 {
            let ticks = candidates[i_lo..=i_hi]
                .iter()
                .map(|&(value, m, k)| Tick {
                    value,
                    label: Some(log_label(m, k)),
                })
                .collect();
            return Axis {
                scale: Scale::Log,
                lo: candidates[i_lo].0,
                hi: candidates[i_hi].0,
                ticks,
            };
        }
        // Wide range: whole decades, at most ten labelled, 2 and 5 as minor ticks while they
        // fit.
        let d_lo = candidates[i_lo].2;
        let d_hi = if candidates[i_hi].1 == 1 {
            candidates[i_hi].2
        } else {
            candidates[i_hi].2 + 1
        };
        let decades = d_hi - d_lo;
        let stride = (decades + 9) / 10;
        let mut ticks = Vec::new();
        for k in d_lo..=d_hi {
            let labelled = (k - d_lo) % stride == 0;
            ticks.push(Tick {
                value: pow10(k),
                label: labelled.then(|| log_label(1, k)),
            });
            if decades <= 6 && k < d_hi {
                for m in [2u8, 5] {
                    ticks.push(Tick {
                        value: f64::from(m) * pow10(k),
                        label: None,
                    });
                }
            }
        }
        Axis {
            scale: Scale::Log,
            lo: pow10(d_lo),
            hi: pow10(d_hi),
            ticks,
        }
    }

    /// Where `v` falls between the ends: 0 at `lo`, 1 at `hi`.
    fn fraction(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => (v - self.lo) / (self.hi - self.lo),
            Scale::Log => (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10()),
        }
    }
}

/// The 1/2/5×10^k step nearest above `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = pow10(raw.log10().floor() as i32);
    let norm = raw / magnitude;
    let m = if norm <= 1.0 + 1e-9 {
        1.0
    } else if norm <= 2.0 + 1e-9 {
        2.0
    } else if norm <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    m * magnitude
}

/// 10^k, exact for |k| ≤ 22; `k` is clamped to ±307 (the callers stay within ±301).
fn pow10(k: i32) -> f64 {
    let k = k.clamp(-307, 307);
    if k >= 0 {
        10f64.powi(k)
    } else {
        1.0 / 10f64.powi(-k)
    }
}

/// Digits after the point that show a multiple of `step` exactly.
fn decimals_for(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        ((-step.log10() - 1e-9).ceil() as usize).min(12)
    }
}

/// A tick value: plain with `decimals` digits, or `1e7`-style when very large or small.
fn format_number(v: f64, decimals: usize) -> String {
    let v = v + 0.0; // no "-0"
    let a = v.abs();
    if a >= 1e7 || (a != 0.0 && a < 1e-4) {
        format!("{v:e}")
    } else {
        format!("{v:.decimals$}")
    }
}

/// `m`×10^`k` as a label: plain in 0.0001..10^7, else `2e9`.
fn log_label(m: u8, k: i32) -> String {
    if (-4..7).contains(&k) {
        let decimals = usize::try_from(-k).unwrap_or(0);
        format!("{:.decimals$}", f64::from(m) * pow10(k))
    } else {
        format!("{m}e{k}")
    }
}

/// A data value in a marker's tooltip: short, no trailing zeros.
fn format_value(v: f64) -> String {
    let a = v.abs();
    if a >= 1e7 || (a != 0.0 && a < 1e-4) {
        format!("{v:.3e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// XML-escapes text for element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The look of the series at one index.
#[derive(Debug, Clone, Copy)]
struct Style {
    colour: &'static str,
    dash: &'static str,
    marker: Marker,
}

impl Style {
    fn of(i: usize) -> Style {
        Style {
            colour: COLOURS[i % COLOURS.len()],
            dash: DASHES[i % DASHES.len()],
            marker: MARKERS[i % MARKERS.len()],
        }
    }

    fn dash_attr(self) -> String {
        if self.dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{}""#, self.dash)
        }
    }

    /// Writes this style's marker centred on (x, y); `tip` (already escaped) as its `<title>`.
    fn write_marker(self, out: &mut String, x: f64, y: f64, tip: Option<&str>) {
        let paint = format!(
            r#"class="marker" fill="{}" stroke="white" stroke-width="1""#,
            self.colour
        );
        let shape = match self.marker {
            Marker::Circle => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="4" {paint}"#),
            Marker::Square => {
                format!(
                    r#"<rect x="{:.1}" y="{:.1}" width="8" height="8" {paint}"#,
                    x - 4.0,
                    y - 4.0
                )
            }
            Marker::Triangle => format!(
                r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" {paint}"#,
                x,
                y - 5.0,
                x + 5.0,
                y + 4.0,
                x - 5.0,
                y + 4.0
            ),
            Marker::Diamond => format!(
                r#"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" {paint}"#,
                x,
                y - 5.0,
                x + 5.0,
                y,
                x,
                y + 5.0,
                x - 5.0,
                y
            ),
        };
        let tag = match self.marker {
            Marker::Circle => "circle",
            Marker::Square => "rect",
            Marker::Triangle | Marker::Diamond => "polygon",
        };
        match tip {
            Some(tip) => {
                let _ = writeln!(out, "{shape}><title>{tip}</title></{tag}>");
            }
            None => {
                let _ = writeln!(out, "{shape}/>");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, points: &[(f64, f64)]) -> Series {
        Series {
            name: name.to_owned(),
            points: points.to_vec(),
        }
    }

    fn chart<'a>(series: &'a [Series], x_scale: Scale, y_scale: Scale) -> Chart<'a> {
        Chart {
            title: "Makespan vs hosts",
            x_label: "hosts",
            y_label: "makespan (lab s)",
            x_scale,
            y_scale,
            series,
        }
    }

    /// The `points` of every `<polyline>`, parsed.
    fn polylines(svg: &str) -> Vec<Vec<(f64, f64)>> {
        svg.match_indices("<polyline ")
            .map(|(at, _)| {
                let rest = &svg[at..];
                let start = rest.find("points=\"").map(|i| i + 8).unwrap_or_default();
                let end = start + rest[start..].find('"').unwrap_or_default();
                rest[start..end]
                    .split_whitespace()
                    .map(|pair| {
                        let (x, y) = pair.split_once(',').expect("x,y");
                        (x.parse().expect("x"), y.parse().expect("y"))
                    })
                    .collect()
            })
            .collect()
    }

    /// The text of every `<text class="{class}" ...>`.
    fn texts_of_class(svg: &str, class: &str) -> Vec<String> {
        let open = format!("<text class=\"{class}\"");
        svg.match_indices(&open)
            .map(|(at, _)| {
                let rest = &svg[at..];
                let start = rest.find('>').expect("tag end") + 1;
                let end = rest.find("</text>").expect("close");
                rest[start..end].to_owned()
            })
            .collect()
    }

    /// A small well-formedness check: one root element, balanced and properly nested tags,
    /// quoted attributes, and no `&` that does not start an entity.
    fn assert_well_formed(doc: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut roots = 0;
        let mut rest = doc;
        while let Some(lt) = rest.find('<') {
            check_text(&rest[..lt]);
            rest = &rest[lt..];
            if let Some(after) = rest.strip_prefix("<?") {
                let end = after.find("?>").expect("unterminated <?");
                rest = &after[end + 2..];
                continue;
            }
            if let Some(after) = rest.strip_prefix("<!--") {
                let end = after.find("-->").expect("unterminated comment");
                rest = &after[end + 3..];
                continue;
            }
            // Find the '>' that ends this tag, outside quotes.
            let mut quote = None;
            let mut end = None;
            for (i, c) in rest.char_indices().skip(1) {
                match (quote, c) {
                    (None, '"' | '\'') => quote = Some(c),
                    (Some(q), c) if c == q => quote = None,
                    (None, '<') => panic!("'<' inside a tag: {}", &rest[..i]),
                    (None, '>') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.expect("unterminated tag");
            let tag = &rest[1..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().expect("close without open");
                assert_eq!(open, name.trim(), "mismatched close tag");
                continue;
            }
            let self_closing = tag.ends_with('/');
            let body = tag.trim_end_matches('/');
            let name: String = body
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, ':' | '-' | '_'))
                .collect();
            assert!(
                name.chars().next().is_some_and(char::is_alphabetic),
                "bad tag name in <{tag}>"
            );
            check_text(&body[name.len()..].replace(['"', '\''], ""));
            assert_eq!(
                body[name.len()..].matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed tags: {stack:?}");
        assert_eq!(roots, 1, "exactly one root element");
    }

    fn check_text(text: &str) {
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"]
                    .iter()
                    .any(|e| entity.starts_with(e)),
                "bare '&' in {text:?}"
            );
        }
    }

    fn assert_finite(doc: &str) {
        assert!(!doc.contains("NaN"), "NaN in output");
        assert!(!doc.contains("inf"), "inf in output");
    }

    #[test]
    fn one_polyline_per_nonempty_series_with_all_points() {
        let s = [
            series(
                "ours",
                &[(10.0, 30.0), (50.0, 40.0), (100.0, 55.0), (300.0, 90.0)],
            ),
            series("empty", &[]),
            series("QUADS 2019", &[(10.0, 60.0), (50.0, 200.0), (100.0, 390.0)]),
        ];
        for (xs, ys) in [(Scale::Log, Scale::Log), (Scale::Linear, Scale::Linear)] {
            let doc = svg(&chart(&s, xs, ys));
            let lines = polylines(&doc);
            assert_eq!(lines.iter().map(Vec::len).collect::<Vec<_>>(), [4, 3]);
            assert_eq!(
                doc.matches("class=\"marker\"").count(),
                4 + 3 + s.len(),
                "markers + legend"
            );
            assert_well_formed(&doc);
            assert_finite(&doc);
        }
    }

    #[test]
    fn points_map_monotonically() {
        // Sorted in x; y goes up and down.
        let data = [
            (10.0, 5.0),
            (20.0, 80.0),
            (100.0, 40.0),
            (700.0, 2000.0),
            (2000.0, 900.0),
        ];
        for (xs, ys) in [
            (Scale::Log, Scale::Log),
            (Scale::Linear, Scale::Linear),
            (Scale::Log, Scale::Linear),
        ] {
            let s = [series("ours", &data)];
            let doc = svg(&chart(&s, xs, ys));
            let line = &polylines(&doc)[0];
            for i in 0..data.len() {
                for j in 0..data.len() {
                    let ((dx_i, dy_i), (dx_j, dy_j)) = (data[i], data[j]);
                    let ((px_i, py_i), (px_j, py_j)) = (line[i], line[j]);
                    if dx_i < dx_j {
                        assert!(px_i < px_j, "{xs:?}: x {dx_i} -> {px_i}, {dx_j} -> {px_j}");
                    }
                    if dy_i < dy_j {
                        assert!(py_i > py_j, "{ys:?}: y {dy_i} -> {py_i}, {dy_j} -> {py_j}");
                    }
                }
            }
            for &(x, y) in line {
                assert!((LEFT..=LEFT + PLOT_W).contains(&x), "x {x} inside the plot");
                assert!((TOP..=TOP + PLOT_H).contains(&y), "y {y} inside the plot");
            }
        }
    }

    #[test]
    fn input_order_does_not_matter() {
        let sorted = [series("a", &[(1.0, 1.0), (2.0, 4.0), (3.0, 9.0)])];
        let shuffled = [series("a", &[(3.0, 9.0), (1.0, 1.0), (2.0, 4.0)])];
        let c = |s| svg(&chart(s, Scale::Linear, Scale::Linear));
        assert_eq!(c(&sorted), c(&shuffled));
    }

    #[test]
    fn degenerate_inputs_give_finite_well_formed_output() {
        let cases: Vec<Vec<Series>> = vec![
            vec![],
            vec![series("empty", &[])],
            vec![series("one", &[(100.0, 42.0)])],
            vec![series("zero", &[(0.0, 0.0)])],
            vec![series("flat", &[(10.0, 7.0), (50.0, 7.0), (100.0, 7.0)])],
            vec![series("vertical", &[(10.0, 1.0), (10.0, 2.0)])],
            vec![series("negative", &[(-5.0, -3.0), (-1.0, -2.0)])],
            vec![series(
                "bad",
                &[
                    (f64::NAN, 1.0),
                    (1.0, f64::INFINITY),
                    (f64::NEG_INFINITY, 2.0),
                ],
            )],
            vec![series("huge", &[(1e-310, 1e308), (1.0, -1e308)])],
            vec![series(
                "tiny range",
                &[(1.0, 1.0), (1.0 + 1e-12, 1.0 + 1e-12)],
            )],
            vec![series("exact tick", &[(100.0, 1000.0)])],
            vec![series("subnormal", &[(0.0, 5e-324), (1e-320, 2e-320)])],
            vec![series("limits", &[(-1e300, 1e300), (1e300, -1e300)])],
            vec![series("wide", &[(1e-6, 1e-9), (1e6, 1e12)])],
        ];
        for s in &cases {
            for (xs, ys) in [
                (Scale::Log, Scale::Log),
                (Scale::Linear, Scale::Linear),
                (Scale::Linear, Scale::Log),
            ] {
                let doc = svg(&chart(s, xs, ys));
                assert_finite(&doc);
                assert_well_formed(&doc);
                let expected = s
                    .iter()
                    .filter(|s| !plottable(&s.points, xs, ys).is_empty())
                    .count();
                assert_eq!(polylines(&doc).len(), expected, "{s:?} {xs:?} {ys:?}");
            }
        }
    }

    #[test]
    fn non_positive_values_are_skipped_on_log_axes() {
        let s = [series(
            "ours",
            &[
                (0.0, 5.0),
                (10.0, 0.0),
                (-3.0, 1.0),
                (10.0, 20.0),
                (100.0, 40.0),
            ],
        )];
        let doc = svg(&chart(&s, Scale::Log, Scale::Log));
        assert_eq!(polylines(&doc)[0].len(), 2);
        let doc = svg(&chart(&s, Scale::Linear, Scale::Linear));
        assert_eq!(polylines(&doc)[0].len(), 5);
    }

    #[test]
    fn text_is_escaped() {
        let s = [series("a<b & \"c\"", &[(1.0, 2.0), (3.0, 4.0)])];
        let doc = svg(&Chart {
            title: "<script>alert('x')</script> & co",
            x_label: "x < y",
            y_label: "y > 0 & ok",
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            series: &s,
        });
        assert!(!doc.contains("<script>"));
        assert!(doc.contains("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; co"));
        assert!(doc.contains("x &lt; y"));
        assert!(doc.contains("a&lt;b &amp; &quot;c&quot;"));
        assert_well_formed(&doc);
    }

    #[test]
    fn document_is_standalone_svg() {
        let s = [series("ours", &[(10.0, 1.0), (100.0, 2.0)])];
        let doc = svg(&chart(&s, Scale::Log, Scale::Linear));
        assert!(doc.starts_with("<?xml"));
        assert!(doc.contains(r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1""#));
        assert!(doc.trim_end().ends_with("</svg>"));
        assert!(doc.contains(">Makespan vs hosts</text>"));
        assert!(doc.contains(">hosts</text>"));
        assert!(doc.contains(">makespan (lab s)</text>"));
        assert_well_formed(&doc);
    }

    #[test]
    fn the_checker_rejects_broken_documents() {
        for bad in [
            "<svg><g></svg>",
            "<svg></g>",
            "<svg>a & b</svg>",
            "<svg/><svg/>",
            "<svg><text>a < b</text></svg>",
        ] {
            let result = std::panic::catch_unwind(|| assert_well_formed(bad));
            assert!(result.is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn log_ticks_at_1_2_5() {
        let s = [series(
            "ours",
            &[(10.0, 12.0), (50.0, 30.0), (300.0, 140.0), (2000.0, 1100.0)],
        )];
        let doc = svg(&chart(&s, Scale::Log, Scale::Log));
        assert_eq!(
            texts_of_class(&doc, "x-tick"),
            ["10", "20", "50", "100", "200", "500", "1000", "2000"]
        );
        assert_eq!(
            texts_of_class(&doc, "y-tick"),
            ["10", "20", "50", "100", "200", "500", "1000", "2000"]
        );
    }

    #[test]
    fn wide_log_ranges_label_decades() {
        let s = [series("ours", &[(0.003, 1.0), (2e5, 1e9)])];
        let doc = svg(&chart(&s, Scale::Log, Scale::Log));
        assert_eq!(
            texts_of_class(&doc, "x-tick"),
            [
                "0.001", "0.01", "0.1", "1", "10", "100", "1000", "10000", "100000", "1000000"
            ]
        );
        let y = texts_of_class(&doc, "y-tick");
        assert_eq!(y.first().map(String::as_str), Some("1"));
        assert_eq!(y.last().map(String::as_str), Some("1e9"));
        assert!(y.len() <= 10, "{y:?}");
    }

    #[test]
    fn linear_ticks_are_round() {
        let s = [series("ours", &[(0.0, 3.0), (97.0, 0.25)])];
        let doc = svg(&chart(&s, Scale::Linear, Scale::Linear));
        assert_eq!(
            texts_of_class(&doc, "x-tick"),
            ["0", "20", "40", "60", "80", "100"]
        );
        assert_eq!(texts_of_class(&doc, "y-tick"), ["0", "1", "2", "3"]);
    }

    #[test]
    fn series_styles_differ() {
        let s: Vec<Series> = (0..4)
            .map(|i| series(&format!("s{i}"), &[(1.0, f64::from(i) + 1.0)]))
            .collect();
        let doc = svg(&chart(&s, Scale::Linear, Scale::Linear));
        let lines: Vec<&str> = doc.lines().filter(|l| l.starts_with("<polyline")).collect();
        assert_eq!(lines.len(), 4);
        for (i, a) in lines.iter().enumerate() {
            for b in &lines[i + 1..] {
                let style = |l: &str| l[l.find("fill=").unwrap_or(0)..].to_owned();
                assert_ne!(style(a), style(b));
            }
        }
    }

    #[test]
    fn markdown_table_shape_and_escaping() {
        let table = markdown_table(
            &["policy", "hosts", "makespan (s)"],
            &[
                vec!["ours".into(), "10".into(), "31.5".into()],
                vec!["QUADS | 2019".into(), "2000".into(), "12345.0".into()],
                vec!["short row".into()],
                vec!["long".into(), "1".into(), "2".into(), "extra".into()],
                vec!["multi\nline".into(), "".into(), "3".into()],
            ],
        );
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2 + 5);
        for line in &lines {
            let unescaped = line.replace("\\|", "");
            assert_eq!(unescaped.matches('|').count(), 4 + 1, "{line:?}");
            assert!(line.starts_with('|') && line.ends_with('|'));
        }
        assert!(lines[0].starts_with("| policy "));
        assert!(lines[1].split('|').skip(1).take(4).all(|c| {
            let c = c.trim();
            c.len() >= 3 && c.trim_end_matches(':').chars().all(|ch| ch == '-')
        }));
        assert!(table.contains("QUADS \\| 2019"));
        assert!(table.contains("multi line"));
        // Numeric columns are right-aligned.
        assert!(lines[1].contains(':'));
        assert_eq!(markdown_table(&[], &[]), "");
        assert_eq!(markdown_table(&["a"], &[]), "| a   |\n| --- |\n");
    }
}
