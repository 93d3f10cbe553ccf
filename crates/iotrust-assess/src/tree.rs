//! One document tree for TOML and JSON inputs, where every value knows its line, so that
//! errors name the file, line and field. The JSON reader is our own (small, line-tracking,
//! depth-limited); TOML comes from the `toml` crate's spanned parser.

use std::fmt;

/// A value and the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Located {
    pub line: usize,
    pub node: Node,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Table(Vec<(String, Located)>),
    Array(Vec<Located>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A TOML date (`2027-12-11`) or date-time, as written.
    Date(String),
    Null,
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Table(_) => "table",
            Node::Array(_) => "array",
            Node::Str(_) => "string",
            Node::Int(_) => "integer",
            Node::Float(_) => "float",
            Node::Bool(_) => "boolean",
            Node::Date(_) => "date",
            Node::Null => "null",
        }
    }
}

/// A syntax error, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

// ------------------------------------------------------------------------------------- TOML

pub fn parse_toml(text: &str) -> Result<Located, SyntaxError> {
    use toml::de::{DeTable, DeValue};
    let table = DeTable::parse(text).map_err(|e| SyntaxError {
        line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
        message: e.message().trim().to_string(),
    })?;
    fn conv(text: &str, v: &DeValue<'_>) -> Node {
        match v {
            DeValue::String(s) => Node::Str(s.to_string()),
            DeValue::Integer(i) => {
                match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                    Ok(n) => Node::Int(n),
                    Err(_) => Node::Str(i.as_str().to_string()),
                }
            }
            DeValue::Float(f) => {
                Node::Float(f.as_str().replace('_', "").parse().unwrap_or(f64::NAN))
            }
            DeValue::Boolean(b) => Node::Bool(*b),
            DeValue::Datetime(d) => Node::Date(d.to_string()),
            DeValue::Array(a) => Node::Array(
                a.iter()
                    .map(|x| {
                        let l = line_of(text, x.span().start);
                        Located {
                            line: l,
                            node: conv(text, x.get_ref()),
                        }
                    })
                    .collect(),
            ),
            DeValue::Table(t) => Node::Table(in_document_order(
                t.iter()
                    .map(|(k, x)| {
                        let l = line_of(text, k.span().start);
                        (
                            k.get_ref().to_string(),
                            Located {
                                line: l,
                                node: conv(text, x.get_ref()),
                            },
                        )
                    })
                    .collect(),
            )),
        }
    }
    let root = table.get_ref();
    let entries: Vec<(String, Located)> = root
        .iter()
        .map(|(k, x)| {
            let l = line_of(text, k.span().start);
            (
                k.get_ref().to_string(),
                Located {
                    line: l,
                    node: conv(text, x.get_ref()),
                },
            )
        })
        .collect();
    let entries = in_document_order(entries);
    Ok(Located {
        line: 1,
        node: Node::Table(entries),
    })
}

/// The TOML parser's maps are ordered by key; users expect errors in the order they wrote.
fn in_document_order(mut entries: Vec<(String, Located)>) -> Vec<(String, Located)> {
    entries.sort_by_key(|(_, v)| v.line);
    entries
}

// ------------------------------------------------------------------------------------- JSON

/// Deepest nesting accepted (hostile input must not exhaust the stack).
pub const MAX_DEPTH: usize = 64;

pub fn parse_json(text: &str) -> Result<Located, SyntaxError> {
    let mut p = Json {
        b: text.as_bytes(),
        i: 0,
        line: 1,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.err("unexpected data after the JSON value"));
    }
    Ok(v)
}

struct Json<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
}

impl Json<'_> {
    fn err(&self, m: &str) -> SyntaxError {
        SyntaxError {
            line: self.line,
            message: m.to_string(),
        }
    }
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'\n' => {
                    self.line += 1;
                    self.i += 1
                }
                b' ' | b'\t' | b'\r' => self.i += 1,
                _ => break,
            }
        }
    }
    fn lit(&mut self, word: &[u8], node: Node) -> Result<Node, SyntaxError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(node)
        } else {
            Err(self.err("invalid literal"))
        }
    }
    fn value(&mut self, depth: usize) -> Result<Located, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        let line = self.line;
        let node = match self.b.get(self.i) {
            None => return Err(self.err("unexpected end of input")),
            Some(b'{') => {
                self.i += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        let kline = self.line;
                        if self.b.get(self.i) != Some(&b'"') {
                            return Err(self.err("expected a string key"));
                        }
                        let key = self.string()?;
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            return Err(self.err("expected `:`"));
                        }
                        self.i += 1;
                        self.ws();
                        let mut v = self.value(depth + 1)?;
                        v.line = kline;
                        entries.push((key, v));
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.err("expected `,` or `}`")),
                        }
                    }
                }
                Node::Table(entries)
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(self.err("expected `,` or `]`")),
                        }
                    }
                }
                Node::Array(items)
            }
            Some(b'"') => Node::Str(self.string()?),
            Some(b't') => self.lit(b"true", Node::Bool(true))?,
            Some(b'f') => self.lit(b"false", Node::Bool(false))?,
            Some(b'n') => self.lit(b"null", Node::Null)?,
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number()?,
            Some(_) => return Err(self.err("unexpected character")),
        };
        Ok(Located { line, node })
    }
    fn number(&mut self) -> Result<Node, SyntaxError> {
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                self.i += 1;
            } else {
                break;
            }
        }
        let s =
            std::str::from_utf8(&self.b[start..self.i]).map_err(|_| self.err("invalid number"))?;
        if let Ok(n) = s.parse::<i64>() {
            return Ok(Node::Int(n));
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Node::Float(f)),
            _ => Err(self.err("invalid number")),
        }
    }
    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\n' => return Err(self.err("newline inside a string")),
                b'\\' => {
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.b[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.err("invalid escape in string")),
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not valid UTF-8"))
    }
    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let s = self
            .b
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("truncated \\u escape"))?;
        let s = std::str::from_utf8(s).map_err(|_| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(s, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.i += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_tracks_lines() {
        let t = parse_json("{\n \"a\": 1,\n \"b\": {\n  \"c\": [true, null]\n }\n}").unwrap();
        let Node::Table(e) = t.node else { panic!() };
        assert_eq!(e[0].1.line, 2);
        assert_eq!(e[1].0, "b");
        let Node::Table(inner) = &e[1].1.node else {
            panic!()
        };
        assert_eq!(inner[0].1.line, 4);
    }

    #[test]
    fn json_rejects_garbage_without_panicking() {
        for bad in [
            "",
            "{",
            "{\"a\"}",
            "[1,]",
            "\"\\u12",
            "1e999",
            "{\"a\":1} x",
            "[[[[",
            "\"\\uD800\\u0041\"",
        ] {
            let _ = parse_json(bad);
        }
        assert!(parse_json(&"[".repeat(1000)).is_err());
        assert_eq!(parse_json("{\n\"a\": tru}").unwrap_err().line, 2);
    }

    #[test]
    fn toml_tracks_lines() {
        let t = parse_toml("x = 1\n\n[auth]\nuses_passwords = true\n").unwrap();
        let Node::Table(e) = t.node else { panic!() };
        let Node::Table(auth) = &e[1].1.node else {
            panic!()
        };
        assert_eq!(auth[0].1.line, 4);
        assert_eq!(parse_toml("a = \n").unwrap_err().line, 1);
    }
}
