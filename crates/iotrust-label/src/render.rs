//! The label as a picture: an SVG card (tier, levels, support end, update policy, a QR code to
//! the registry page) and its PNG rendering.

use std::fmt::Write as _;

use crate::document::LabelDocument;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Colour and words of a tier.
fn tier_style(tier: Option<&str>) -> (&'static str, String) {
    match tier {
        Some("advanced") => ("#8a6d00", "ADVANCED".into()),
        Some("assured") => ("#1b7a3a", "ASSURED".into()),
        Some("essential") => ("#1d5fa8", "ESSENTIAL".into()),
        Some("baseline") => ("#4b5a6b", "BASELINE".into()),
        Some(other) => ("#4b5a6b", other.to_uppercase()),
        None => ("#a11d1d", "NO TIER".into()),
    }
}

/// `sg-cls@1.4#L4` -> `sg-cls L4`
fn short_level(l: &str) -> String {
    let (scheme, level) = l.split_once('#').unwrap_or((l, ""));
    let id = scheme.split('@').next().unwrap_or(scheme);
    format!("{id} {level}")
}

/// The QR code of `text` as SVG rectangles in a square of `size` at (`x`, `y`).
fn qr(text: &str, x: f64, y: f64, size: f64) -> String {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let w = code.width();
    let quiet = 4usize; // the quiet zone the QR specification asks for
    let cell = size / (w + 2 * quiet) as f64;
    let mut out =
        format!("<rect x=\"{x}\" y=\"{y}\" width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>");
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (cx, cy) = (
                (i % w + quiet) as f64 * cell + x,
                (i / w + quiet) as f64 * cell + y,
            );
            let _ = write!(out, "<rect x=\"{cx:.2}\" y=\"{cy:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"#111\"/>", cell + 0.05, cell + 0.05);
        }
    }
    out
}

/// The label as an SVG document (640 x 400).
pub fn svg(d: &LabelDocument) -> String {
    let (colour, tier) = tier_style(d.tier.as_deref());
    let product = clip(
        &format!("{} {}", d.product.manufacturer, d.product.model),
        34,
    );
    let name = d
        .product
        .name
        .as_deref()
        .map(|n| clip(n, 40))
        .unwrap_or_else(|| d.product.category.clone());
    let support = match (d.support.status.as_str(), d.support.end_date) {
        ("unsupported", Some(e)) => format!("UNSUPPORTED since {e}"),
        (_, Some(e)) => format!("Security updates until {e}"),
        _ => "Support period not declared".to_string(),
    };
    let support_colour = if d.support.status == "unsupported" || d.support.end_date.is_none() {
        "#a11d1d"
    } else {
        "#1d232b"
    };
    let updates = match d.updates.automatic {
        Some(true) => "Automatic security updates: yes",
        Some(false) => "Automatic security updates: no",
        None => "Automatic security updates: not established",
    };
    // the highest level per scheme (levels are listed lowest first)
    let mut levels: Vec<String> = Vec::new();
    for l in d.levels.iter().filter(|l| l.route != "recognition") {
        let scheme = l.level.split('#').next().unwrap_or("");
        levels.retain(|x| {
            !x.starts_with(&format!("{} ", scheme.split('@').next().unwrap_or(scheme)))
        });
        levels.push(short_level(&l.level));
    }
    let recognised: Vec<String> = d
        .levels
        .iter()
        .filter(|l| l.route == "recognition")
        .map(|l| short_level(&l.level))
        .collect();
    let target = d
        .registry_url
        .clone()
        .unwrap_or_else(|| format!("iotrust-label:{}", d.id));
    let mut o = String::new();
    let _ = write!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="640" height="400" viewBox="0 0 640 400" font-family="DejaVu Sans, Verdana, sans-serif">
<rect x="1" y="1" width="638" height="398" rx="14" fill="#ffffff" stroke="#1d232b" stroke-width="2"/>
<path d="M1 15 a14 14 0 0 1 14 -14 h610 a14 14 0 0 1 14 14 v41 h-638 z" fill="#1d232b"/>
<text x="24" y="38" font-size="20" font-weight="bold" fill="#ffffff">iotrust security label</text>
<text x="616" y="38" font-size="12" fill="#c9d1da" text-anchor="end">catalog {catalog}</text>
<rect x="24" y="74" width="200" height="78" rx="10" fill="{colour}"/>
<text x="124" y="104" font-size="12" fill="#ffffff" text-anchor="middle" letter-spacing="1">IOTRUST TIER</text>
<text x="124" y="138" font-size="26" font-weight="bold" fill="#ffffff" text-anchor="middle">{tier}</text>
<text x="240" y="96" font-size="19" font-weight="bold" fill="#1d232b">{product}</text>
<text x="240" y="120" font-size="13" fill="#4b5a6b">{name}</text>
<text x="240" y="146" font-size="13" fill="#4b5a6b">firmware {fw}</text>
<text x="24" y="192" font-size="17" font-weight="bold" fill="{support_colour}">{support}</text>
<text x="24" y="220" font-size="14" fill="#1d232b">{updates}</text>
"##,
        catalog = esc(&d.catalog_version),
        tier = esc(&tier),
        product = esc(&product),
        name = esc(&name),
        fw = esc(d.product.firmware_version.as_deref().unwrap_or("-")),
        support = esc(&support),
    );
    let mut y = 252;
    if !levels.is_empty() {
        let _ = writeln!(
            o,
            r##"<text x="24" y="{y}" font-size="14" fill="#1d232b"><tspan font-weight="bold">Levels: </tspan>{}</text>"##,
            esc(&clip(&levels.join(" · "), 52))
        );
        y += 24;
    }
    if !recognised.is_empty() {
        let _ = writeln!(
            o,
            r##"<text x="24" y="{y}" font-size="13" fill="#4b5a6b">Recognised: {}</text>"##,
            esc(&clip(&recognised.join(" · "), 58))
        );
        y += 24;
    }
    if !d.conforms_to.is_empty() {
        let laws: Vec<String> = d
            .conforms_to
            .iter()
            .map(|s| s.split('@').next().unwrap_or(s).to_string())
            .collect();
        let _ = writeln!(
            o,
            r##"<text x="24" y="{y}" font-size="13" fill="#4b5a6b">Meets: {}</text>"##,
            esc(&clip(&laws.join(" · "), 60))
        );
    }
    o.push_str(&qr(&target, 470.0, 180.0, 146.0));
    let _ = write!(
        o,
        r##"<text x="543" y="334" font-size="11" fill="#4b5a6b" text-anchor="middle">Scan for details</text>
<text x="543" y="348" font-size="9" fill="#4b5a6b" text-anchor="middle">{id}</text>
<line x1="24" y1="356" x2="616" y2="356" stroke="#d6dbe1"/>
<text x="24" y="380" font-size="12" fill="#4b5a6b">Issued {issued} by {issuer} · valid until {until}</text>
</svg>
"##,
        issued = d.issued,
        issuer = esc(&clip(&d.issuer.name, 30)),
        until = d.valid_until,
        id = esc(&d.id),
    );
    o
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot render the label: {0}")]
    Svg(String),
}

/// The SVG rendered to PNG at `scale` (1.0 = 640 x 400 pixels), with the system's fonts.
pub fn png(svg: &str, scale: f32) -> Result<Vec<u8>, RenderError> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| RenderError::Svg(e.to_string()))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| RenderError::Svg("bad scale".into()))?;
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| RenderError::Svg("empty image".into()))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| RenderError::Svg(e.to_string()))
}
