//! The check language: a small, typed, CEL-like expression language over product facts.
//!
//! Expressions are compiled once when the catalog loads (names resolved to fact slots, types
//! checked, enum literals checked against the fact's allowed values) and evaluated many times.
//! Evaluation is three-valued (Kleene logic): a fact nobody supplied is *unknown*, `false && x`
//! is `false` whatever `x` is, `true || x` is `true`, and anything else that touches an unknown
//! value is unknown. See `docs/checks.md` for the user-facing description.

use std::fmt;

use jiff::civil::Date;

/// Index of a fact in the catalog's fact table.
pub type FactId = u16;

/// The static type of a fact or an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Bool,
    Int,
    Str,
    Date,
    List,
    IntList,
    /// The empty list literal `[]`, compatible with both list types.
    EmptyList,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Str => "string",
            Type::Date => "date",
            Type::List => "list",
            Type::IntList => "int-list",
            Type::EmptyList => "empty list",
        })
    }
}

/// What the compiler needs to know about facts.
pub trait FactLookup {
    /// The slot and type of a fact, or `None` when the vocabulary has no such fact.
    fn lookup(&self, name: &str) -> Option<(FactId, Type)>;
    /// The allowed values of an enum fact (string facts with a closed set of values).
    fn allowed_values(&self, id: FactId) -> Option<&[String]>;
}

/// A fact's value as supplied by a profile or evidence.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum FactValue {
    Bool(bool),
    Int(i64),
    Str(String),
    Date(Date),
    List(Vec<String>),
    IntList(Vec<i64>),
    /// Known not to exist: someone looked and found none ("no status-update interval is
    /// published"). Unlike an unknown fact, every comparison with it is decided: equal to
    /// nothing, in no list, false as a condition.
    Absent,
}

impl FactValue {
    pub fn type_of(&self) -> Type {
        match self {
            FactValue::Bool(_) => Type::Bool,
            FactValue::Int(_) => Type::Int,
            FactValue::Str(_) => Type::Str,
            FactValue::Date(_) => Type::Date,
            FactValue::List(_) => Type::List,
            FactValue::IntList(_) => Type::IntList,
            FactValue::Absent => Type::EmptyList,
        }
    }
}

impl fmt::Display for FactValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactValue::Bool(b) => write!(f, "{b}"),
            FactValue::Int(i) => write!(f, "{i}"),
            FactValue::Str(s) => write!(f, "'{s}'"),
            FactValue::Date(d) => write!(f, "{d}"),
            FactValue::List(l) => write!(f, "[{}]", l.join(", ")),
            FactValue::IntList(l) => {
                let parts: Vec<String> = l.iter().map(|i| i.to_string()).collect();
                write!(f, "[{}]", parts.join(", "))
            }
            FactValue::Absent => f.write_str("absent"),
        }
    }
}

/// A compile error, with the byte offset in the expression where it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at column {})", self.message, self.offset + 1)
    }
}

impl std::error::Error for CompileError {}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, CompileError> {
    Err(CompileError {
        offset,
        message: message.into(),
    })
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Not,
    And,
    Or,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    End,
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, CompileError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => out.push((Tok::LParen, start)),
            b')' => out.push((Tok::RParen, start)),
            b'[' => out.push((Tok::LBracket, start)),
            b']' => out.push((Tok::RBracket, start)),
            b',' => out.push((Tok::Comma, start)),
            b'!' if bytes.get(i + 1) == Some(&b'=') => {
                out.push((Tok::Ne, start));
                i += 1;
            }
            b'!' => out.push((Tok::Not, start)),
            b'&' if bytes.get(i + 1) == Some(&b'&') => {
                out.push((Tok::And, start));
                i += 1;
            }
            b'|' if bytes.get(i + 1) == Some(&b'|') => {
                out.push((Tok::Or, start));
                i += 1;
            }
            b'=' if bytes.get(i + 1) == Some(&b'=') => {
                out.push((Tok::Eq, start));
                i += 1;
            }
            b'<' if bytes.get(i + 1) == Some(&b'=') => {
                out.push((Tok::Le, start));
                i += 1;
            }
            b'<' => out.push((Tok::Lt, start)),
            b'>' if bytes.get(i + 1) == Some(&b'=') => {
                out.push((Tok::Ge, start));
                i += 1;
            }
            b'>' => out.push((Tok::Gt, start)),
            b'\'' | b'"' => {
                let quote = c;
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != quote {
                    j += 1;
                }
                if j >= bytes.len() {
                    return err(start, "unterminated string literal");
                }
                out.push((Tok::Str(src[i + 1..j].to_string()), start));
                i = j;
            }
            b'0'..=b'9' | b'-' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                let text = &src[i..j];
                let value: i64 = match text.parse() {
                    Ok(v) => v,
                    Err(_) => return err(start, format!("invalid number `{text}`")),
                };
                out.push((Tok::Int(value), start));
                i = j;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let mut j = i + 1;
                while j < bytes.len()
                    && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b'.')
                {
                    j += 1;
                }
                let word = &src[i..j];
                out.push((
                    if word == "in" {
                        Tok::In
                    } else {
                        Tok::Ident(word.to_string())
                    },
                    start,
                ));
                i = j;
                continue;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return err(start, format!("unexpected character `{ch}`"));
            }
        }
        i += 1;
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Compiled form

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug)]
enum Node {
    Bool(bool),
    Int(i64),
    Str(String),
    Date(Date),
    StrList(Vec<String>),
    IntList(Vec<i64>),
    Fact(FactId),
    Today,
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    In(Box<Node>, Box<Node>),
    Has(FactId),
    Default(Box<Node>, Box<Node>),
    Size(Box<Node>),
    Intersects(Box<Node>, Box<Node>),
    /// Every element of the first list is in the second.
    Subset(Box<Node>, Box<Node>),
    YearsBetween(Box<Node>, Box<Node>),
    DaysBetween(Box<Node>, Box<Node>),
}

/// A compiled expression: evaluate it with [`Expr::eval`].
#[derive(Clone, Debug)]
pub struct Expr {
    root: Node,
    source: String,
    facts: Vec<FactId>,
}

impl Expr {
    /// Compile `src` against the fact vocabulary. The expression must have type `bool`.
    pub fn compile(src: &str, facts: &dyn FactLookup) -> Result<Expr, CompileError> {
        let toks = lex(src)?;
        let mut p = Parser {
            toks,
            pos: 0,
            facts,
            used: Vec::new(),
        };
        let (root, ty) = p.parse_or()?;
        let (tok, off) = p.peek();
        if *tok != Tok::End {
            return err(off, "unexpected trailing input");
        }
        if ty != Type::Bool {
            return err(0, format!("expression has type {ty}, a check must be bool"));
        }
        let mut used = p.used;
        used.sort_unstable();
        used.dedup();
        Ok(Expr {
            root,
            source: src.to_string(),
            facts: used,
        })
    }

    /// The source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The facts this expression reads, sorted.
    pub fn facts(&self) -> &[FactId] {
        &self.facts
    }

    /// The assumptions this expression makes for these facts: every `default(fact, value)`
    /// whose fact has no value, with the value assumed in its place. A verdict resting on an
    /// assumption says so in its reason ("assumed").
    pub fn assumptions(&self, facts: &[Option<FactValue>]) -> Vec<(FactId, String)> {
        fn walk(n: &Node, facts: &[Option<FactValue>], out: &mut Vec<(FactId, String)>) {
            match n {
                Node::Default(a, d) => {
                    if let Node::Fact(id) = **a {
                        if facts.get(usize::from(id)).is_none_or(Option::is_none)
                            && !out.iter().any(|(i, _)| *i == id)
                        {
                            out.push((id, literal(d)));
                        }
                    }
                    walk(d, facts, out);
                }
                Node::Not(a) | Node::Size(a) => walk(a, facts, out),
                Node::And(a, b)
                | Node::Or(a, b)
                | Node::Cmp(_, a, b)
                | Node::In(a, b)
                | Node::Intersects(a, b)
                | Node::Subset(a, b)
                | Node::YearsBetween(a, b)
                | Node::DaysBetween(a, b) => {
                    walk(a, facts, out);
                    walk(b, facts, out);
                }
                _ => {}
            }
        }
        fn literal(n: &Node) -> String {
            match n {
                Node::Bool(b) => b.to_string(),
                Node::Int(i) => i.to_string(),
                Node::Str(s) => format!("'{s}'"),
                Node::Date(d) => d.to_string(),
                Node::StrList(l) => format!("[{}]", l.join(", ")),
                Node::IntList(l) => format!(
                    "[{}]",
                    l.iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => "a computed value".into(),
            }
        }
        let mut out = Vec::new();
        walk(&self.root, facts, &mut out);
        out
    }

    /// Evaluate against fact values (indexed by [`FactId`]) on the evaluation date `today`.
    /// `None` means unknown.
    pub fn eval(&self, facts: &[Option<FactValue>], today: Date) -> Option<bool> {
        match truth(eval(&self.root, &Ctx { facts, today })) {
            V::Bool(b) => Some(b),
            _ => None,
        }
    }
}

struct Parser<'f> {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    facts: &'f dyn FactLookup,
    used: Vec<FactId>,
}

/// Node together with its type and, for enum facts, the fact whose values constrain literals.
type Typed = (Node, Type);

impl Parser<'_> {
    fn peek(&self) -> (&Tok, usize) {
        let (t, o) = &self.toks[self.pos.min(self.toks.len() - 1)];
        (t, *o)
    }
    fn next(&mut self) -> (Tok, usize) {
        let (t, o) = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        self.pos += 1;
        (t, o)
    }
    fn expect(&mut self, want: Tok, what: &str) -> Result<(), CompileError> {
        let (t, o) = self.next();
        if t == want {
            Ok(())
        } else {
            err(o, format!("expected {what}"))
        }
    }

    fn parse_or(&mut self) -> Result<Typed, CompileError> {
        let (mut lhs, lt) = self.parse_and()?;
        let mut lt_off = 0;
        while let (Tok::Or, off) = self.peek() {
            self.next();
            let (rhs, rt) = self.parse_and()?;
            bool_operands(lt, rt, lt_off.max(off), "||")?;
            lhs = Node::Or(Box::new(lhs), Box::new(rhs));
            lt_off = off;
        }
        Ok((lhs, lt))
    }

    fn parse_and(&mut self) -> Result<Typed, CompileError> {
        let (mut lhs, lt) = self.parse_unary()?;
        while let (Tok::And, off) = self.peek() {
            self.next();
            let (rhs, rt) = self.parse_unary()?;
            bool_operands(lt, rt, off, "&&")?;
            lhs = Node::And(Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, lt))
    }

    fn parse_unary(&mut self) -> Result<Typed, CompileError> {
        if let (Tok::Not, off) = self.peek() {
            self.next();
            let (inner, t) = self.parse_unary()?;
            if t != Type::Bool {
                return err(off, format!("`!` needs a bool, found {t}"));
            }
            return Ok((Node::Not(Box::new(inner)), Type::Bool));
        }
        self.parse_cmp()
    }

    fn parse_cmp(&mut self) -> Result<Typed, CompileError> {
        let lhs_off = self.peek().1;
        let (lhs, lt) = self.parse_primary()?;
        let (tok, off) = self.peek();
        let op = match tok {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::In => {
                self.next();
                let rhs_off = self.peek().1;
                let (rhs, rt) = self.parse_primary()?;
                let ok = matches!(
                    (lt, rt),
                    (Type::Str, Type::List)
                        | (Type::Int, Type::IntList)
                        | (Type::Str, Type::EmptyList)
                        | (Type::Int, Type::EmptyList)
                );
                if !ok {
                    return err(
                        off,
                        format!("`in` needs a value and a list of its type, found {lt} in {rt}"),
                    );
                }
                self.check_enum_literals(&lhs, &rhs, rhs_off)?;
                // `'x' in list_fact`: the literal must be one of the list's allowed values
                self.check_enum_literals(&rhs, &lhs, off)?;
                return Ok((Node::In(Box::new(lhs), Box::new(rhs)), Type::Bool));
            }
            _ => return Ok((lhs, lt)),
        };
        self.next();
        let rhs_off = self.peek().1;
        let (rhs, rt) = self.parse_primary()?;
        if lt != rt {
            return err(off, format!("cannot compare {lt} with {rt}"));
        }
        let ordered = matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
        if ordered && !matches!(lt, Type::Int | Type::Date) {
            return err(
                off,
                format!("ordering comparison needs int or date, found {lt}"),
            );
        }
        if matches!(lt, Type::List | Type::IntList | Type::EmptyList) {
            return err(
                off,
                "lists cannot be compared; use `in`, `size` or `intersects`",
            );
        }
        self.check_enum_literals(&lhs, &rhs, rhs_off)?;
        self.check_enum_literals(&rhs, &lhs, lhs_off)?;
        Ok((Node::Cmp(op, Box::new(lhs), Box::new(rhs)), Type::Bool))
    }

    /// When `fact_side` is an enum fact, every string literal on `lit_side` must be an allowed value.
    fn check_enum_literals(
        &self,
        fact_side: &Node,
        lit_side: &Node,
        off: usize,
    ) -> Result<(), CompileError> {
        let Node::Fact(id) = fact_side else {
            return Ok(());
        };
        let Some(allowed) = self.facts.allowed_values(*id) else {
            return Ok(());
        };
        let lits: Vec<&String> = match lit_side {
            Node::Str(s) => vec![s],
            Node::StrList(l) => l.iter().collect(),
            _ => return Ok(()),
        };
        for l in lits {
            if !allowed.iter().any(|a| a == l) {
                return err(
                    off,
                    format!(
                        "`{l}` is not an allowed value (expected one of: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
        Ok(())
    }

    fn parse_primary(&mut self) -> Result<Typed, CompileError> {
        let (tok, off) = self.next();
        match tok {
            Tok::LParen => {
                let inner = self.parse_or()?;
                self.expect(Tok::RParen, "`)`")?;
                Ok(inner)
            }
            Tok::Int(i) => Ok((Node::Int(i), Type::Int)),
            Tok::Str(s) => Ok((Node::Str(s), Type::Str)),
            Tok::LBracket => self.parse_list(off),
            Tok::Ident(name) => match name.as_str() {
                "true" => Ok((Node::Bool(true), Type::Bool)),
                "false" => Ok((Node::Bool(false), Type::Bool)),
                "today" => Ok((Node::Today, Type::Date)),
                _ if matches!(self.peek().0, Tok::LParen) => self.parse_call(&name, off),
                _ => {
                    let (id, ty) = self.fact(&name, off)?;
                    Ok((Node::Fact(id), ty))
                }
            },
            Tok::End => err(off, "unexpected end of expression"),
            _ => err(off, "expected a value, a fact or `(`"),
        }
    }

    fn fact(&mut self, name: &str, off: usize) -> Result<(FactId, Type), CompileError> {
        match self.facts.lookup(name) {
            Some((id, ty)) => {
                self.used.push(id);
                Ok((id, ty))
            }
            None => err(off, format!("unknown fact `{name}`")),
        }
    }

    fn parse_list(&mut self, off: usize) -> Result<Typed, CompileError> {
        let mut strs = Vec::new();
        let mut ints = Vec::new();
        loop {
            let (tok, o) = self.next();
            match tok {
                Tok::RBracket if strs.is_empty() && ints.is_empty() => break,
                Tok::Str(s) if ints.is_empty() => strs.push(s),
                Tok::Int(i) if strs.is_empty() => ints.push(i),
                _ => return err(o, "list literals hold only strings or only integers"),
            }
            match self.next() {
                (Tok::Comma, _) => continue,
                (Tok::RBracket, _) => break,
                (_, o) => return err(o, "expected `,` or `]`"),
            }
        }
        let _ = off;
        Ok(if !strs.is_empty() {
            (Node::StrList(strs), Type::List)
        } else if !ints.is_empty() {
            (Node::IntList(ints), Type::IntList)
        } else {
            (Node::StrList(Vec::new()), Type::EmptyList)
        })
    }

    fn parse_args(&mut self) -> Result<Vec<(Typed, usize)>, CompileError> {
        self.expect(Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        if let (Tok::RParen, _) = self.peek() {
            self.next();
            return Ok(args);
        }
        loop {
            let off = self.peek().1;
            args.push((self.parse_or()?, off));
            match self.next() {
                (Tok::Comma, _) => continue,
                (Tok::RParen, _) => break,
                (_, o) => return err(o, "expected `,` or `)`"),
            }
        }
        Ok(args)
    }

    fn parse_call(&mut self, name: &str, off: usize) -> Result<Typed, CompileError> {
        if name == "has" {
            self.expect(Tok::LParen, "`(`")?;
            let (tok, o) = self.next();
            let Tok::Ident(fact) = tok else {
                return err(o, "has() takes a fact name");
            };
            let (id, _) = self.fact(&fact, o)?;
            self.expect(Tok::RParen, "`)`")?;
            return Ok((Node::Has(id), Type::Bool));
        }
        if name == "date" {
            self.expect(Tok::LParen, "`(`")?;
            let (tok, o) = self.next();
            let Tok::Str(text) = tok else {
                return err(o, "date() takes a 'YYYY-MM-DD' string");
            };
            let d: Date = match text.parse() {
                Ok(d) => d,
                Err(_) => return err(o, format!("`{text}` is not a valid date (YYYY-MM-DD)")),
            };
            self.expect(Tok::RParen, "`)`")?;
            return Ok((Node::Date(d), Type::Date));
        }
        let args = self.parse_args()?;
        let arity = |n: usize| -> Result<(), CompileError> {
            if args.len() == n {
                Ok(())
            } else {
                err(
                    off,
                    format!("{name}() takes {n} argument(s), found {}", args.len()),
                )
            }
        };
        let mut it = args.clone().into_iter();
        match name {
            "size" => {
                arity(1)?;
                let Some(((a, t), o)) = it.next() else {
                    return err(off, "size() takes 1 argument");
                };
                if !matches!(t, Type::List | Type::IntList | Type::EmptyList) {
                    return err(o, format!("size() needs a list, found {t}"));
                }
                Ok((Node::Size(Box::new(a)), Type::Int))
            }
            "default" => {
                arity(2)?;
                let (Some(((a, ta), oa)), Some(((b, tb), ob))) = (it.next(), it.next()) else {
                    return err(off, "default() takes 2 arguments");
                };
                if !matches!(a, Node::Fact(_)) {
                    return err(oa, "default() takes a fact as its first argument");
                }
                let compatible =
                    ta == tb || (matches!(ta, Type::List | Type::IntList) && tb == Type::EmptyList);
                if !compatible {
                    return err(
                        ob,
                        format!("default value has type {tb}, the fact has type {ta}"),
                    );
                }
                self.check_enum_literals(&a, &b, ob)?;
                Ok((Node::Default(Box::new(a), Box::new(b)), ta))
            }
            "intersects" | "subset" => {
                arity(2)?;
                let (Some(((a, ta), _)), Some(((b, tb), ob))) = (it.next(), it.next()) else {
                    return err(off, format!("{name}() takes 2 arguments"));
                };
                let list = |t: Type| matches!(t, Type::List | Type::IntList | Type::EmptyList);
                let same = ta == tb || ta == Type::EmptyList || tb == Type::EmptyList;
                if !(list(ta) && list(tb) && same) {
                    return err(
                        ob,
                        format!("{name}() needs two lists of one type, found {ta} and {tb}"),
                    );
                }
                self.check_enum_literals(&a, &b, ob)?;
                self.check_enum_literals(&b, &a, off)?;
                let (a, b) = (Box::new(a), Box::new(b));
                Ok((
                    if name == "subset" {
                        Node::Subset(a, b)
                    } else {
                        Node::Intersects(a, b)
                    },
                    Type::Bool,
                ))
            }
            "years_between" | "days_between" => {
                arity(2)?;
                let (Some(((a, ta), oa)), Some(((b, tb), ob))) = (it.next(), it.next()) else {
                    return err(off, format!("{name}() takes 2 arguments"));
                };
                if ta != Type::Date {
                    return err(oa, format!("{name}() needs dates, found {ta}"));
                }
                if tb != Type::Date {
                    return err(ob, format!("{name}() needs dates, found {tb}"));
                }
                let node = if name == "years_between" {
                    Node::YearsBetween(Box::new(a), Box::new(b))
                } else {
                    Node::DaysBetween(Box::new(a), Box::new(b))
                };
                Ok((node, Type::Int))
            }
            _ => err(off, format!("unknown function `{name}()`")),
        }
    }
}

fn bool_operands(lt: Type, rt: Type, off: usize, op: &str) -> Result<(), CompileError> {
    if lt != Type::Bool || rt != Type::Bool {
        return err(
            off,
            format!("`{op}` needs bool operands, found {lt} and {rt}"),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Evaluation

struct Ctx<'a> {
    facts: &'a [Option<FactValue>],
    today: Date,
}

/// A value during evaluation, borrowing from the facts and the compiled tree.
#[derive(Clone, Copy)]
enum V<'a> {
    Unknown,
    /// A fact known not to exist.
    Absent,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Date(Date),
    List(&'a [String]),
    IntList(&'a [i64]),
}

fn fact_value<'a>(ctx: &Ctx<'a>, id: FactId) -> V<'a> {
    match ctx.facts.get(usize::from(id)) {
        Some(Some(v)) => match v {
            FactValue::Bool(b) => V::Bool(*b),
            FactValue::Int(i) => V::Int(*i),
            FactValue::Str(s) => V::Str(s),
            FactValue::Date(d) => V::Date(*d),
            FactValue::List(l) => V::List(l),
            FactValue::IntList(l) => V::IntList(l),
            FactValue::Absent => V::Absent,
        },
        _ => V::Unknown,
    }
}

/// In a condition, an absent fact is false: "a policy is published" with none found.
fn truth(v: V<'_>) -> V<'_> {
    match v {
        V::Absent => V::Bool(false),
        v => v,
    }
}

fn eval<'a>(node: &'a Node, ctx: &Ctx<'a>) -> V<'a> {
    match node {
        Node::Bool(b) => V::Bool(*b),
        Node::Int(i) => V::Int(*i),
        Node::Str(s) => V::Str(s),
        Node::Date(d) => V::Date(*d),
        Node::StrList(l) => V::List(l),
        Node::IntList(l) => V::IntList(l),
        Node::Fact(id) => fact_value(ctx, *id),
        Node::Today => V::Date(ctx.today),
        Node::Not(a) => match truth(eval(a, ctx)) {
            V::Bool(b) => V::Bool(!b),
            _ => V::Unknown,
        },
        Node::And(a, b) => match truth(eval(a, ctx)) {
            V::Bool(false) => V::Bool(false),
            V::Bool(true) => match truth(eval(b, ctx)) {
                V::Bool(x) => V::Bool(x),
                _ => V::Unknown,
            },
            _ => match truth(eval(b, ctx)) {
                V::Bool(false) => V::Bool(false),
                _ => V::Unknown,
            },
        },
        Node::Or(a, b) => match truth(eval(a, ctx)) {
            V::Bool(true) => V::Bool(true),
            V::Bool(false) => match truth(eval(b, ctx)) {
                V::Bool(x) => V::Bool(x),
                _ => V::Unknown,
            },
            _ => match truth(eval(b, ctx)) {
                V::Bool(true) => V::Bool(true),
                _ => V::Unknown,
            },
        },
        Node::Cmp(op, a, b) => {
            let (x, y) = (eval(a, ctx), eval(b, ctx));
            // something that does not exist equals nothing and orders against nothing
            if matches!(x, V::Absent) || matches!(y, V::Absent) {
                return if matches!((&x, &y), (V::Unknown, _) | (_, V::Unknown)) {
                    V::Unknown
                } else {
                    V::Bool(matches!(op, CmpOp::Ne))
                };
            }
            let ord = match (x, y) {
                (V::Bool(x), V::Bool(y)) => x.cmp(&y),
                (V::Int(x), V::Int(y)) => x.cmp(&y),
                (V::Str(x), V::Str(y)) => x.cmp(y),
                (V::Date(x), V::Date(y)) => x.cmp(&y),
                _ => return V::Unknown,
            };
            use std::cmp::Ordering::*;
            V::Bool(match op {
                CmpOp::Eq => ord == Equal,
                CmpOp::Ne => ord != Equal,
                CmpOp::Lt => ord == Less,
                CmpOp::Le => ord != Greater,
                CmpOp::Gt => ord == Greater,
                CmpOp::Ge => ord != Less,
            })
        }
        Node::In(a, b) => match (eval(a, ctx), eval(b, ctx)) {
            (V::Str(x), V::List(l)) => V::Bool(l.iter().any(|s| s == x)),
            (V::Int(x), V::IntList(l)) => V::Bool(l.contains(&x)),
            (V::Int(_), V::List([])) => V::Bool(false),
            (V::Absent, V::List(_) | V::IntList(_)) | (_, V::Absent) => V::Bool(false),
            _ => V::Unknown,
        },
        Node::Has(id) => V::Bool(!matches!(fact_value(ctx, *id), V::Unknown)),
        Node::Default(a, d) => match eval(a, ctx) {
            V::Unknown => eval(d, ctx),
            v => v,
        },
        Node::Size(a) => match eval(a, ctx) {
            V::Absent => V::Int(0),
            V::List(l) => V::Int(l.len() as i64),
            V::IntList(l) => V::Int(l.len() as i64),
            _ => V::Unknown,
        },
        Node::Intersects(a, b) => match (eval(a, ctx), eval(b, ctx)) {
            (V::List(x), V::List(y)) => V::Bool(x.iter().any(|s| y.contains(s))),
            (V::IntList(x), V::IntList(y)) => V::Bool(x.iter().any(|i| y.contains(i))),
            (V::List(e), _) | (_, V::List(e)) if e.is_empty() => V::Bool(false),
            (V::Absent, _) | (_, V::Absent) => V::Bool(false),
            _ => V::Unknown,
        },
        Node::Subset(a, b) => match (eval(a, ctx), eval(b, ctx)) {
            (V::List(x), V::List(y)) => V::Bool(x.iter().all(|s| y.contains(s))),
            (V::IntList(x), V::IntList(y)) => V::Bool(x.iter().all(|i| y.contains(i))),
            (V::List([]) | V::IntList([]) | V::Absent, _) => V::Bool(true),
            (V::List(_) | V::IntList(_), V::Absent) => V::Bool(false),
            _ => V::Unknown,
        },
        Node::YearsBetween(a, b) => match (eval(a, ctx), eval(b, ctx)) {
            (V::Date(x), V::Date(y)) => V::Int(whole_years(x, y)),
            (V::Absent, V::Date(_) | V::Absent) | (V::Date(_), V::Absent) => V::Absent,
            _ => V::Unknown,
        },
        Node::DaysBetween(a, b) => match (eval(a, ctx), eval(b, ctx)) {
            (V::Absent, V::Date(_) | V::Absent) | (V::Date(_), V::Absent) => V::Absent,
            (V::Date(x), V::Date(y)) => match x.until((jiff::Unit::Day, y)) {
                Ok(span) => V::Int(i64::from(span.get_days())),
                Err(_) => V::Unknown,
            },
            _ => V::Unknown,
        },
    }
}

/// Whole calendar years from `a` to `b` (negative when `b` is earlier).
pub fn whole_years(a: Date, b: Date) -> i64 {
    let mut years = i64::from(b.year()) - i64::from(a.year());
    if (b.month(), b.day()) < (a.month(), a.day()) {
        years -= 1;
    }
    years
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Vocab;
    impl FactLookup for Vocab {
        fn lookup(&self, name: &str) -> Option<(FactId, Type)> {
            Some(match name {
                "a" => (0, Type::Bool),
                "b" => (1, Type::Bool),
                "n" => (2, Type::Int),
                "model" => (3, Type::Str),
                "ports" => (4, Type::IntList),
                "end" => (5, Type::Date),
                "tags" => (6, Type::List),
                _ => return None,
            })
        }
        fn allowed_values(&self, id: FactId) -> Option<&[String]> {
            static V: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
            static T: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
            match id {
                3 => Some(V.get_or_init(|| vec!["x".into(), "y".into()]).as_slice()),
                6 => Some(T.get_or_init(|| vec!["a".into(), "b".into()]).as_slice()),
                _ => None,
            }
        }
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap_or_default()
    }

    fn run(src: &str, facts: &[Option<FactValue>]) -> Option<bool> {
        match Expr::compile(src, &Vocab) {
            Ok(e) => e.eval(facts, day("2026-11-22")),
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn facts() -> Vec<Option<FactValue>> {
        vec![
            Some(FactValue::Bool(true)),
            None,
            Some(FactValue::Int(7)),
            Some(FactValue::Str("x".into())),
            Some(FactValue::IntList(vec![22, 23])),
            Some(FactValue::Date(day("2030-01-01"))),
            None,
        ]
    }

    #[test]
    fn absent_is_decided() {
        let mut f = facts();
        f[1] = Some(FactValue::Absent); // b
        f[2] = Some(FactValue::Absent); // n
        assert_eq!(run("b", &f), Some(false));
        assert_eq!(run("!b", &f), Some(true));
        assert_eq!(run("n >= 0", &f), Some(false));
        assert_eq!(run("n != 3", &f), Some(true));
        assert_eq!(run("has(n)", &f), Some(true));
        assert_eq!(run("n >= 0 || b", &f), Some(false));
        // unknown stays unknown next to absent
        assert_eq!(run("n >= 0 || size(tags) > 0", &f), None);
    }

    #[test]
    fn kleene_logic() {
        let f = facts();
        assert_eq!(run("a && b", &f), None);
        assert_eq!(run("!a && b", &f), Some(false));
        assert_eq!(run("a || b", &f), Some(true));
        assert_eq!(run("b || !a", &f), None);
        assert_eq!(run("b && false", &f), Some(false));
        assert_eq!(run("!b", &f), None);
    }

    #[test]
    fn functions_and_comparisons() {
        let f = facts();
        assert_eq!(run("n >= 5 && model == 'x'", &f), Some(true));
        assert_eq!(run("model in ['y']", &f), Some(false));
        assert_eq!(run("23 in ports", &f), Some(true));
        assert_eq!(run("intersects(ports, [2323, 23])", &f), Some(true));
        assert_eq!(run("subset(ports, [22, 23, 80])", &f), Some(true));
        assert_eq!(run("subset(ports, [23, 80])", &f), Some(false));
        assert_eq!(run("subset([], ports)", &f), Some(true));
        assert_eq!(run("size(default(tags, [])) == 0", &f), Some(true));
        assert_eq!(run("has(b) || has(a)", &f), Some(true));
        assert_eq!(run("default(b, true)", &f), Some(true));
        let assumed = match Expr::compile("default(b, true) && default(a, false)", &Vocab) {
            Ok(e) => e.assumptions(&f),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            assumed.len(),
            1,
            "a stated fact is no assumption: {assumed:?}"
        );
        assert_eq!(assumed[0].1, "true");
        assert_eq!(run("end >= today", &f), Some(true));
        assert_eq!(
            run("years_between(date('2025-01-02'), end) >= 5", &f),
            Some(false)
        );
        assert_eq!(run("days_between(today, end) > 1000", &f), Some(true));
    }

    #[test]
    fn compile_errors_name_the_problem() {
        let cases = [
            ("nope", "unknown fact `nope`"),
            ("model == 'z'", "`z` is not an allowed value"),
            ("'z' in tags", "`z` is not an allowed value"),
            (
                "intersects(tags, ['a', 'z'])",
                "`z` is not an allowed value",
            ),
            ("n", "a check must be bool"),
            ("n == 'x'", "cannot compare int with string"),
            ("a &&", "unexpected end"),
            ("size(n) > 1", "size() needs a list"),
            ("frob(a)", "unknown function"),
            ("date('2025-02-30') < today", "not a valid date"),
            ("'open", "unterminated"),
            ("a b", "trailing input"),
        ];
        for (src, want) in cases {
            match Expr::compile(src, &Vocab) {
                Ok(_) => panic!("{src} should not compile"),
                Err(e) => assert!(e.message.contains(want), "{src}: got `{}`", e.message),
            }
        }
    }

    #[test]
    fn whole_years_counts_anniversaries() {
        assert_eq!(whole_years(day("2020-03-04"), day("2025-03-04")), 5);
        assert_eq!(whole_years(day("2020-03-04"), day("2025-03-03")), 4);
        assert_eq!(whole_years(day("2025-03-04"), day("2020-03-04")), -5);
    }
}
