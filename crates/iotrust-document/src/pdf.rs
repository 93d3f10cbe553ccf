//! PDF through `pdf-writer` (the typst project's PDF writer): A4 pages set in the standard
//! Helvetica fonts, which every PDF reader has, so nothing is embedded and nothing is fetched.
//! pdf-writer writes PDF objects and content streams but does no text layout; the line
//! breaking below (word wrap with the fonts' advance widths, page breaks) is ours because no
//! maintained crate of that size does it for the standard fonts.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::model::{Document, Value};
use crate::render::{colophon, value_lines};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const BOTTOM: f32 = 64.0;

#[derive(Clone, Copy, PartialEq)]
enum Style {
    Title,
    Heading,
    Body,
    Meta,
    Small,
    Alert,
}

impl Style {
    fn size(self) -> f32 {
        match self {
            Style::Title => 17.0,
            Style::Heading => 11.5,
            Style::Body | Style::Meta | Style::Alert => 10.0,
            Style::Small => 7.5,
        }
    }
    fn bold(self) -> bool {
        matches!(
            self,
            Style::Title | Style::Heading | Style::Alert | Style::Meta
        )
    }
    fn rgb(self) -> (f32, f32, f32) {
        match self {
            Style::Alert => (0.65, 0.0, 0.0),
            Style::Small => (0.35, 0.35, 0.35),
            _ => (0.0, 0.0, 0.0),
        }
    }
}

/// Helvetica advance widths (thousandths of an em) for ASCII; other characters get a wide
/// default so a line never overflows.
fn width_of(c: char, bold: bool) -> f32 {
    let w = match c {
        ' ' | '!' | ',' | '.' | '/' | ':' | ';' | '[' | ']' | '\\' | 'I' | 'f' | 't' => 278.0,
        '"' => 355.0,
        '\'' => 191.0,
        '(' | ')' | '-' | '`' | 'r' => 333.0,
        '*' => 389.0,
        '+' | '<' | '=' | '>' | '~' => 584.0,
        '%' => 889.0,
        '&' | 'A' | 'B' | 'E' | 'K' | 'P' | 'S' | 'V' | 'X' | 'Y' => 667.0,
        '@' => 1015.0,
        'C' | 'D' | 'H' | 'N' | 'R' | 'U' | 'w' => 722.0,
        'F' | 'T' | 'Z' => 611.0,
        'G' | 'O' | 'Q' => 778.0,
        'J' => 500.0,
        'L' => 556.0,
        'M' | 'm' => 833.0,
        'W' => 944.0,
        '^' => 469.0,
        'c' | 'k' | 's' | 'v' | 'x' | 'y' | 'z' => 500.0,
        'i' | 'j' | 'l' => 222.0,
        '{' | '}' => 334.0,
        '|' => 260.0,
        '—' => 1000.0,
        c if c.is_ascii_alphanumeric() || "#$?_".contains(c) => 556.0,
        _ => 700.0,
    };
    if bold {
        w * 1.09
    } else {
        w
    }
}

fn text_width(s: &str, style: Style) -> f32 {
    s.chars().map(|c| width_of(c, style.bold())).sum::<f32>() * style.size() / 1000.0
}

/// Text in the fonts' WinAnsi encoding; characters it lacks become `?` (`★` becomes `*`).
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            '★' => b'*',
            '\t' => b' ',
            _ => b'?',
        })
        .collect()
}

/// Break `s` into lines no wider than `width` (words longer than a line are cut).
fn wrap(s: &str, style: Style, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for para in s.split('\n') {
        let mut line = String::new();
        for word in para.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if text_width(&candidate, style) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut piece = String::new();
            for c in word.chars() {
                piece.push(c);
                if text_width(&piece, style) > width {
                    piece.pop();
                    lines.push(std::mem::take(&mut piece));
                    piece.push(c);
                }
            }
            line = piece;
        }
        lines.push(line);
    }
    lines
}

struct Line {
    style: Style,
    x: f32,
    y: f32,
    text: String,
}

struct Layout {
    pages: Vec<Vec<Line>>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: vec![Vec::new()],
            y: PAGE_H - MARGIN,
        }
    }
    fn gap(&mut self, pts: f32) {
        self.y -= pts;
    }
    fn para(&mut self, text: &str, style: Style, indent: f32) {
        self.para_hang(text, style, indent, 0.0);
    }
    /// A paragraph whose lines after the first are indented `hang` further (bullets).
    fn para_hang(&mut self, text: &str, style: Style, indent: f32, hang: f32) {
        let lead = style.size() * 1.32;
        for (n, l) in wrap(text, style, PAGE_W - 2.0 * MARGIN - indent - hang)
            .into_iter()
            .enumerate()
        {
            let x = MARGIN + indent + if n == 0 { 0.0 } else { hang };
            if self.y - lead < BOTTOM {
                self.pages.push(Vec::new());
                self.y = PAGE_H - MARGIN;
            }
            self.y -= lead;
            if let Some(p) = self.pages.last_mut() {
                p.push(Line {
                    style,
                    x,
                    y: self.y,
                    text: l,
                });
            }
        }
    }
    /// Keep a heading with at least a few lines after it.
    fn heading(&mut self, text: &str) {
        if self.y - 60.0 < BOTTOM {
            self.pages.push(Vec::new());
            self.y = PAGE_H - MARGIN;
        }
        self.gap(6.0);
        self.para(text, Style::Heading, 0.0);
        self.gap(1.0);
    }
}

fn layout(d: &Document) -> Layout {
    let mut l = Layout::new();
    l.para(&d.title, Style::Title, 0.0);
    l.gap(6.0);
    l.para(&format!("Law: {} ({})", d.law, d.scheme), Style::Meta, 0.0);
    l.para(&format!("Product: {}", d.product), Style::Meta, 0.0);
    l.para(
        &format!(
            "Catalog version: {}   Date made: {}",
            d.catalog_version, d.made_on
        ),
        Style::Meta,
        0.0,
    );
    if let Some(n) = &d.note {
        l.gap(4.0);
        l.para(n.trim(), Style::Small, 0.0);
    }
    for (n, it) in d.items.iter().enumerate() {
        l.heading(&format!("{}. {}", n + 1, it.title));
        l.para(
            &format!("{} — {}", it.provision, it.asks),
            Style::Small,
            0.0,
        );
        l.gap(2.0);
        let style = match it.value {
            Value::Missing { .. } => Style::Alert,
            _ => Style::Body,
        };
        let lines = value_lines(&it.value);
        let bullets = matches!(it.value, Value::Lines { .. });
        for line in lines {
            if bullets {
                l.para_hang(&format!("• {line}"), style, 10.0, 8.0);
            } else {
                if let Value::Signature { .. } = it.value {
                    l.gap(8.0);
                }
                let st = if line.starts_with("MISSING") {
                    Style::Alert
                } else {
                    style
                };
                l.para(&line, st, 0.0);
            }
        }
        if let Some(g) = &it.gap {
            l.para(&format!("OPEN: {g}"), Style::Alert, 0.0);
        }
        l.para(&format!("Source: {}", it.source), Style::Small, 0.0);
    }
    let gaps = d.gaps();
    if !gaps.is_empty() {
        l.heading("Gaps");
        for g in &gaps {
            l.para(
                &format!("• {} ({}): {}", g.item, g.provision, g.what),
                Style::Alert,
                10.0,
            );
        }
    }
    l.gap(10.0);
    if let Some(r) = &d.retention {
        l.para(&format!("Retention: {r}"), Style::Small, 0.0);
    }
    l.para(
        &format!("Form {} — {}", d.form, d.source),
        Style::Small,
        0.0,
    );
    l.para(&colophon(d), Style::Small, 0.0);
    l
}

/// The document as a PDF file's bytes.
pub fn pdf(d: &Document) -> Vec<u8> {
    let lay = layout(d);
    let mut pdf = Pdf::new();
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info_id = Ref::new(5);
    let first = 10;
    let n = lay.pages.len();
    let page_ids: Vec<Ref> = (0..n).map(|i| Ref::new(first + 2 * i as i32)).collect();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().copied())
        .count(n as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info_id)
        .title(TextStr(&format!("{} — {}", d.title, d.product)))
        .producer(TextStr(&d.tool));
    for (i, lines) in lay.pages.iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree_id);
        page.contents(content_id);
        {
            let mut res = page.resources();
            let mut fonts = res.fonts();
            fonts.pair(Name(b"F1"), regular);
            fonts.pair(Name(b"F2"), bold);
        }
        page.finish();
        let mut c = Content::new();
        for line in lines {
            let st = line.style;
            let (r, g, b) = st.rgb();
            c.set_fill_rgb(r, g, b);
            c.begin_text();
            c.set_font(Name(if st.bold() { b"F2" } else { b"F1" }), st.size());
            c.next_line(line.x, line.y);
            c.show(Str(&win_ansi(&line.text)));
            c.end_text();
        }
        // footer: catalog version, date made, page number
        c.set_fill_rgb(0.35, 0.35, 0.35);
        c.begin_text();
        c.set_font(Name(b"F1"), 7.5);
        c.next_line(MARGIN, 36.0);
        let tail = format!(
            "{} — catalog {} — made {} — page {} of {n}",
            d.product,
            d.catalog_version,
            d.made_on,
            i + 1
        );
        let long = format!("{} — {tail}", d.title);
        // the title goes when the line would not fit the page
        let foot = if text_width(&long, Style::Small) <= PAGE_W - 2.0 * MARGIN {
            long
        } else {
            tail
        };
        c.show(Str(&win_ansi(&foot)));
        c.end_text();
        let data = c.finish();
        pdf.stream(content_id, &data);
    }
    pdf.finish()
}
