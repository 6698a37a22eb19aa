//! The fast reading of a metrics line: one pass over the bytes, numbers parsed only where a
//! column needs them, no allocation. It accepts a strict subset of JSON: ASCII strings
//! without escapes, no duplicate keys, numbers in JSON's grammar; on anything else it gives
//! up ([`Bail`]) and the caller asks serde_json ([`crate::line::slow`]), so what it accepts
//! it reads exactly as serde_json does (`differential.rs` checks that on generated and
//! mutated lines).

use crate::line::{scalar_index, Kind, Row, N_SCALARS};
use crate::records::{Field, Layout};

/// The scanner cannot read this line; serde_json must.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Bail;

type R<T> = Result<T, Bail>;

/// Deepest nesting skipped values may have (the records have 3).
const MAX_DEPTH: usize = 32;

/// Most channels of one `theta_channels` layer read without allocating.
const MAX_CHANNELS: usize = 256;

pub(crate) fn parse(line: &[u8], layout: &Layout, row: &mut Row) -> R<()> {
    row.reset();
    let mut p = P { b: line, i: 0 };
    let mut seen = 0u32;
    p.ws();
    // `null` and `{}` read as objects here; neither has a "kind", so both bail below, where
    // serde_json names the error.
    p.members(|p, key| {
        let slot = top_key(key);
        if let Some(bit) = slot.bit() {
            if seen & bit != 0 {
                return Err(Bail); // a duplicate field: serde_json's error
            }
            seen |= bit;
        }
        match slot {
            Key::Kind => {
                row.kind = Some(match p.string()? {
                    b"step" => Kind::Step,
                    b"epoch" => Kind::Epoch,
                    b"diverged" => Kind::Diverged,
                    _ => return Err(Bail), // serde_json names the unknown kind
                })
            }
            Key::Step => row.step = p.int_or_null()?,
            Key::Epoch => row.epoch = p.int_or_null()?,
            Key::Scalar(i) => row.scalars[i] = p.f64_or_null()?.unwrap_or(f64::NAN),
            Key::Object(field) => p.object(layout, field, row)?,
            Key::Channels => p.channels(layout, row)?,
            Key::Other => p.skip(0)?,
        }
        Ok(())
    })?;
    p.ws();
    if p.i != p.b.len() || row.kind.is_none() {
        return Err(Bail);
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum Key {
    Kind,
    Step,
    Epoch,
    Scalar(usize),
    Object(Field),
    Channels,
    Other,
}

impl Key {
    /// A bit per field serde_json's struct knows (a duplicate of one is its error).
    fn bit(self) -> Option<u32> {
        Some(match self {
            Key::Kind => 1,
            Key::Step => 2,
            Key::Epoch => 4,
            Key::Scalar(i) => 8 << i,
            Key::Object(f) => (8 << N_SCALARS) << (f as u32),
            Key::Channels => 1 << 31,
            Key::Other => return None,
        })
    }
}

fn top_key(k: &[u8]) -> Key {
    match k {
        b"kind" => Key::Kind,
        b"step" => Key::Step,
        b"epoch" => Key::Epoch,
        b"theta_channels" => Key::Channels,
        _ => {
            if let Some(i) = scalar_index(k) {
                Key::Scalar(i)
            } else if let Some(f) = Field::ALL.iter().find(|f| f.key().as_bytes() == k) {
                Key::Object(*f)
            } else {
                Key::Other
            }
        }
    }
}

struct P<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> P<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> R<u8> {
        let c = self.peek().ok_or(Bail)?;
        self.i += 1;
        Ok(c)
    }

    fn eat(&mut self, c: u8) -> R<()> {
        if self.next()? == c {
            Ok(())
        } else {
            Err(Bail)
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.peek() {
            self.i += 1;
        }
    }

    /// A string without escapes, control or non-ASCII bytes (those go to serde_json).
    fn string(&mut self) -> R<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.next()? {
                b'"' => return Ok(&self.b[start..self.i - 1]),
                b'\\' | 0..=0x1f | 0x80..=0xff => return Err(Bail),
                _ => {}
            }
        }
    }

    fn null(&mut self) -> R<bool> {
        if self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// A number token in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?;
    /// returns it and whether it is an integer.
    fn number(&mut self) -> R<(&'a [u8], bool)> {
        let start = self.i;
        let digits = |p: &mut P| {
            let s = p.i;
            while let Some(b'0'..=b'9') = p.peek() {
                p.i += 1;
            }
            p.i - s
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let first = self.peek().ok_or(Bail)?;
        let n = digits(self);
        if n == 0 || (first == b'0' && n > 1) {
            return Err(Bail);
        }
        let mut int = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            int = false;
            if digits(self) == 0 {
                return Err(Bail);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            int = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(Bail);
            }
        }
        Ok((&self.b[start..self.i], int))
    }

    /// A number as serde_json's `Option<f64>` reads it with `float_roundtrip`: correctly
    /// rounded (an integer converts exactly as its nearest f64, like `u64 as f64`). "-0" is
    /// left to serde_json (it reads it as the integer 0), a value out of f64's range too.
    fn f64_or_null(&mut self) -> R<Option<f64>> {
        if self.null()? {
            return Ok(None);
        }
        let (tok, int) = self.number()?;
        if int && tok == b"-0" {
            return Err(Bail);
        }
        // SAFETY: `number` returns only bytes of JSON's number grammar: ASCII digits, '-',
        // '+', '.', 'e', 'E', so the token is valid UTF-8 (checking it cost 7% of parsing).
        let s = unsafe { std::str::from_utf8_unchecked(tok) };
        let v: f64 = s.parse().map_err(|_| Bail)?;
        if v.is_finite() {
            Ok(Some(v))
        } else {
            Err(Bail)
        }
    }

    /// An integer as `Option<i64>` reads it (a fraction or exponent is serde_json's error).
    fn int_or_null(&mut self) -> R<Option<i64>> {
        if self.null()? {
            return Ok(None);
        }
        let (tok, int) = self.number()?;
        if !int {
            return Err(Bail);
        }
        let (neg, digits) = match tok {
            [b'-', rest @ ..] => (true, rest),
            _ => (false, tok),
        };
        let mut v: i64 = 0;
        for d in digits {
            let d = i64::from(d - b'0');
            v = v.checked_mul(10).ok_or(Bail)?;
            v = if neg {
                v.checked_sub(d)
            } else {
                v.checked_add(d)
            }
            .ok_or(Bail)?;
        }
        Ok(Some(v))
    }

    /// An object of `"key": value` members (or null): `member` reads each value.
    fn members(&mut self, mut member: impl FnMut(&mut Self, &'a [u8]) -> R<()>) -> R<()> {
        if self.null()? {
            return Ok(());
        }
        self.eat(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            member(self, key)?;
            self.ws();
            match self.next()? {
                b',' => continue,
                b'}' => return Ok(()),
                _ => return Err(Bail),
            }
        }
    }

    /// `{"layer": number|null, ...}` or null.
    fn object(&mut self, layout: &Layout, field: Field, row: &mut Row) -> R<()> {
        self.members(|p, layer| {
            let v = p.f64_or_null()?;
            row.pair(layout, field, layer, v);
            Ok(())
        })
    }

    /// `{"layer": [number|null, ...], ...}` or null. A layer named twice is left to
    /// serde_json (its map keeps the last).
    fn channels(&mut self, layout: &Layout, row: &mut Row) -> R<()> {
        let mut layers: [&[u8]; 8] = [b""; 8];
        let mut n_layers = 0;
        let mut values = [None; MAX_CHANNELS];
        self.members(|p, layer| {
            if layers[..n_layers].contains(&layer) || n_layers == layers.len() {
                return Err(Bail);
            }
            layers[n_layers] = layer;
            n_layers += 1;
            p.eat(b'[')?;
            p.ws();
            let mut n = 0;
            if p.peek() == Some(b']') {
                p.i += 1;
            } else {
                loop {
                    p.ws();
                    if n == MAX_CHANNELS {
                        return Err(Bail);
                    }
                    values[n] = p.f64_or_null()?;
                    n += 1;
                    p.ws();
                    match p.next()? {
                        b',' => continue,
                        b']' => break,
                        _ => return Err(Bail),
                    }
                }
            }
            row.channels(layout, layer, &values[..n]);
            Ok(())
        })
    }

    /// Any JSON value, validated and skipped.
    fn skip(&mut self, depth: usize) -> R<()> {
        if depth > MAX_DEPTH {
            return Err(Bail);
        }
        match self.peek().ok_or(Bail)? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' => {
                let close = if self.next()? == b'{' { b'}' } else { b']' };
                self.ws();
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if close == b'}' {
                        self.string()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    self.skip(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => continue,
                        c if c == close => return Ok(()),
                        _ => return Err(Bail),
                    }
                }
            }
            b't' | b'f' | b'n' => {
                for lit in [&b"true"[..], b"false", b"null"] {
                    if self.b[self.i..].starts_with(lit) {
                        self.i += lit.len();
                        return Ok(());
                    }
                }
                Err(Bail)
            }
            _ => self.number().map(|_| ()),
        }
    }
}
