//! SVG building blocks shared by the charts: escaping, the accessible document shell, colours
//! with checked contrast, a heat-map and horizontal bars.
//!
//! Policy: every chart is one self-contained `<svg>` (no scripts, no external fonts, images or
//! styles; generic font families only) with `role="img"`, a `<title>` and a `<desc>` referenced
//! by `aria-labelledby`, and a `viewBox` sized to the content. All text from data is
//! XML-escaped (`& < > " '`), characters XML forbids are replaced by U+FFFD, and long labels are
//! shortened with `…` (the full label is kept in a `<title>` tooltip). Every number is also
//! written as text, so colour is never the only carrier of meaning. Text colours are chosen per
//! fill for a WCAG 2.2 contrast of at least 4.5:1; bars are at least 3:1 against the white
//! background. Output is deterministic: element ids derive from a hash of the content.

use std::fmt::Write as _;
use std::hash::Hasher;

use super::intern::FastHasher;

/// Chart width in user units.
pub(crate) const WIDTH: u32 = 760;
/// Near-black text.
pub(crate) const INK: &str = "#1a1a1a";
/// Secondary text (8.6:1 on white).
pub(crate) const MUTED: &str = "#4d4d4d";
/// Bar fill (dark blue, 8.6:1 on white).
pub(crate) const BAR: &str = "#1d4f91";
/// Fill of suppressed cells.
pub(crate) const SUPPRESSED_FILL: &str = "#f2f2f2";
/// Sequential palette, lightest to darkest, for heat-maps.
pub(crate) const PALETTE: [&str; 6] = ["#eef4fb", "#c9dcf0", "#9ec1e3", "#5f97cc", "#2f6aa8", "#163f73"];

/// Escape text for XML content and attribute values; replace characters XML forbids.
pub fn xml_escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || matches!(c, '\u{fffe}' | '\u{ffff}') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with `…` when cut.
pub(crate) fn shorten(raw: &str, max: usize) -> String {
    if raw.chars().count() <= max {
        return raw.to_string();
    }
    let mut s: String = raw.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// Relative luminance of `#rrggbb` (WCAG 2.2); black for anything unparsable.
pub(crate) fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let v = hex
            .get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0.0, |b| f64::from(b) / 255.0);
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

/// WCAG contrast ratio of two colours.
pub(crate) fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// Near-black or white, whichever contrasts more with `fill`.
pub(crate) fn text_on(fill: &str) -> &'static str {
    if contrast(INK, fill) >= contrast("#ffffff", fill) {
        INK
    } else {
        "#ffffff"
    }
}

/// The palette colour for a share in 0..=1.
pub(crate) fn shade(share: f64) -> &'static str {
    let last = PALETTE.len() - 1;
    let i = (share.clamp(0.0, 1.0) * last as f64).round() as usize;
    PALETTE.get(i).copied().unwrap_or(PALETTE[last])
}

/// An SVG document being built; coordinates are user units.
#[derive(Debug)]
pub(crate) struct Svg {
    body: String,
    width: u32,
    title: String,
    desc: String,
}

impl Svg {
    /// A new chart with its accessible name and description (plain text; escaped here).
    pub(crate) fn new(title: &str, desc: &str) -> Self {
        Svg {
            body: String::new(),
            width: WIDTH,
            title: title.to_string(),
            desc: desc.to_string(),
        }
    }

    /// Text; `anchor` is `start`, `middle` or `end`.
    pub(crate) fn text(&mut self, x: u32, y: u32, anchor: &str, fill: &str, bold: bool, content: &str) {
        let weight = if bold { " font-weight=\"bold\"" } else { "" };
        let _ = write!(
            self.body,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"{anchor}\" fill=\"{fill}\"{weight}>{}</text>",
            xml_escape(content)
        );
    }

    /// Text rotated by -40° around its anchor (for column headings), anchored at its end.
    pub(crate) fn slanted(&mut self, x: u32, y: u32, content: &str, full: &str) {
        let _ = write!(
            self.body,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"start\" fill=\"{INK}\" transform=\"rotate(-40 {x} {y})\">\
             <title>{}</title>{}</text>",
            xml_escape(full),
            xml_escape(content)
        );
    }

    /// A rectangle, optionally with a tooltip.
    pub(crate) fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, fill: &str, tip: Option<&str>) {
        let stroke = if fill == SUPPRESSED_FILL {
            " stroke=\"#767676\" stroke-dasharray=\"3 2\""
        } else {
            ""
        };
        match tip {
            Some(t) => {
                let _ = write!(
                    self.body,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\"{stroke}><title>{}</title></rect>",
                    xml_escape(t)
                );
            }
            None => {
                let _ = write!(
                    self.body,
                    "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\"{stroke}/>"
                );
            }
        }
    }

    /// Make the chart at least `width` wide.
    pub(crate) fn widen(&mut self, width: u32) {
        self.width = self.width.max(width);
    }

    /// Close the document at the given height.
    pub(crate) fn finish(self, height: u32) -> String {
        let mut h = FastHasher::default();
        h.write_u64(0xcbf2_9ce4_8422_2325);
        h.write(self.title.as_bytes());
        h.write(self.desc.as_bytes());
        h.write(self.body.as_bytes());
        let id = format!("jc{:016x}", h.finish());
        let width = self.width;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" \
             height=\"{height}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" \
             font-family=\"Arial, Helvetica, sans-serif\" font-size=\"12\">\
             <title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>\
             <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\
             <text x=\"16\" y=\"24\" font-size=\"15\" font-weight=\"bold\" fill=\"{INK}\">{}</text>{}</svg>",
            xml_escape(&self.title),
            xml_escape(&self.desc),
            xml_escape(&self.title),
            self.body
        )
    }
}

/// One heat-map cell: shade (share 0..=1, None when suppressed) and its text.
pub(crate) struct HeatCell {
    /// The share that sets the colour; None draws the suppressed style.
    pub share: Option<f64>,
    /// The text written in the cell.
    pub text: String,
    /// Tooltip.
    pub tip: String,
}

/// Draw a heat-map with its top-left corner at `top`; returns the y below it.
pub(crate) fn heatmap(svg: &mut Svg, top: u32, rows: &[String], cols: &[String], cells: &[Vec<HeatCell>]) -> u32 {
    let label_w = 170u32;
    let head_h = 90u32;
    let n = u32::try_from(cols.len().max(1)).unwrap_or(1);
    let cell_w = ((WIDTH - label_w - 24) / n).clamp(40, 96);
    svg.widen(label_w + cell_w * n + 60);
    let cell_h = 26u32;
    for (j, c) in cols.iter().enumerate() {
        let x = label_w + cell_w * j as u32 + cell_w / 2;
        svg.slanted(x, top + head_h - 6, &shorten(c, 18), c);
    }
    let mut y = top + head_h;
    for (r, label) in rows.iter().enumerate() {
        svg.text(label_w - 8, y + 17, "end", INK, false, &shorten(label, 26));
        for (j, cell) in cells.get(r).map(Vec::as_slice).unwrap_or(&[]).iter().enumerate() {
            let x = label_w + cell_w * j as u32;
            let fill = cell.share.map_or(SUPPRESSED_FILL, shade);
            svg.rect(x + 1, y + 1, cell_w - 2, cell_h - 2, fill, Some(&cell.tip));
            svg.text(x + cell_w / 2, y + 17, "middle", text_on(fill), false, &cell.text);
        }
        y += cell_h;
    }
    y + 8
}

/// One bar: label, value (None when not published) and the text after the bar.
pub(crate) struct Bar {
    /// Label left of the bar.
    pub label: String,
    /// Length source; None draws no bar.
    pub value: Option<u64>,
    /// Text after the bar (count, share…).
    pub text: String,
}

/// Draw horizontal bars from `top` with labels `label_w` wide, scaled so `full` (default: the
/// largest value) fills the width; returns the y below them.
pub(crate) fn bars(svg: &mut Svg, top: u32, label_w: u32, items: &[Bar], full: Option<u64>) -> u32 {
    let largest = items.iter().filter_map(|b| b.value).max().unwrap_or(0);
    let max = full.unwrap_or(largest).max(largest).max(1);
    // Room for the longest text after a bar (about 7 units a character at 12px).
    let text_chars = items.iter().map(|b| b.text.chars().count()).max().unwrap_or(0);
    let reserve = u32::try_from(text_chars).unwrap_or(60).min(60) * 7 + 16;
    let room = WIDTH.saturating_sub(label_w + reserve).max(160);
    svg.widen(label_w + room + reserve);
    let label_chars = usize::try_from(label_w / 7).unwrap_or(20);
    let mut y = top;
    for b in items {
        svg.text(label_w - 8, y + 15, "end", INK, false, &shorten(&b.label, label_chars));
        let len = b.value.map_or(0, |v| {
            let scaled = (v as f64 / max as f64 * f64::from(room)).round();
            (scaled as u32).max(u32::from(v > 0))
        });
        if len > 0 {
            svg.rect(label_w, y + 3, len, 16, BAR, Some(&b.label));
        }
        let colour = if b.value.is_some() { INK } else { MUTED };
        svg.text(label_w + len + 6, y + 15, "start", colour, false, &b.text);
        y += 24;
    }
    y + 4
}
