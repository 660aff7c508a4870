//! `thaw`: Storable network-order image → [`Value`].

use super::{key_flag, op, StorableError, DEFAULT_MAX_DEPTH};
use crate::record::{text_or_bytes, utf8_or_latin1};
use poe_kernel::{Blessed, Bytes, Map, Text, Value};

/// Bounds for reading untrusted images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThawLimits {
    /// Deepest nesting accepted, in opcodes (default
    /// [`DEFAULT_MAX_DEPTH`]).
    pub max_depth: usize,
    /// Most octets of `Value`s that back-references (`SX_OBJECT`) may
    /// rebuild, counted as 32 per value plus string lengths (default
    /// 64 MiB). Without back-references an image builds at most a few
    /// values per octet, so this only bounds the shared-reference blow-up.
    pub max_expansion: usize,
}

impl Default for ThawLimits {
    fn default() -> Self {
        ThawLimits {
            max_depth: DEFAULT_MAX_DEPTH,
            max_expansion: 64 * 1024 * 1024,
        }
    }
}

/// Read an `nfreeze` image with the default [`ThawLimits`].
///
/// ```
/// use poe_filters::storable::thaw;
/// use poe_kernel::Value;
///
/// // perl -MStorable=nfreeze -e 'print nfreeze([1, "two", undef])'
/// let v = thaw(b"\x05\x0b\x02\x00\x00\x00\x03\x08\x81\x0a\x03two\x05").unwrap();
/// assert_eq!(v, Value::list([Value::from(1), Value::from("two"), Value::Undef]));
/// ```
pub fn thaw(image: &[u8]) -> Result<Value, StorableError> {
    thaw_with(image, ThawLimits::default())
}

/// Read an `nfreeze` image with explicit limits. Octets after the root
/// value are ignored, as Perl ignores them.
pub fn thaw_with(image: &[u8], limits: ThawLimits) -> Result<Value, StorableError> {
    let (&b0, rest) = image
        .split_first()
        .ok_or(StorableError::Truncated { offset: 0 })?;
    let &minor = rest.first().ok_or(StorableError::Truncated { offset: 1 })?;
    if b0 & 1 == 0 {
        return Err(StorableError::NativeByteOrder);
    }
    if b0 >> 1 != 2 {
        return Err(StorableError::UnsupportedVersion {
            major: b0 >> 1,
            minor,
        });
    }
    let root = Reader::new(image, limits).run()?;
    Ok(root.into_reference())
}

/// What one opcode produced: Perl distinguishes a scalar from the array or
/// hash a reference points at; `Value` folds them together only once it is
/// known whether the item sits in a scalar slot or behind a reference.
enum Item {
    Scalar(Value),
    Array(Vec<Value>),
    Hash(Map),
    Blessed(String, Box<Item>),
}

impl Item {
    /// The value of a reference to this item.
    fn into_reference(self) -> Value {
        match self {
            Item::Scalar(v) => Value::Ref(Box::new(v)),
            Item::Array(l) => Value::List(l),
            Item::Hash(m) => Value::Map(Box::new(m)),
            Item::Blessed(class, inner) => Value::Blessed(Box::new(Blessed {
                class,
                value: inner.into_reference(),
            })),
        }
    }

    /// The item as an array element or hash value. A bare container there
    /// is not something Perl writes; it is read as a reference to it. A
    /// blessed scalar in a slot is not a reference, so it is its value.
    fn into_scalar(self) -> Value {
        match self {
            Item::Scalar(v) => v,
            Item::Blessed(_, inner) if matches!(*inner, Item::Scalar(_)) => inner.into_scalar(),
            other => other.into_reference(),
        }
    }
}

struct TagSlot {
    /// Offset of the opcode that stored the object (or of its bless prefix).
    offset: usize,
    /// False while the object is still being read: a back-reference to it
    /// then means the structure contains itself.
    done: bool,
}

/// A container being read. The reader keeps these on a heap stack rather
/// than recursing, so nesting costs no thread stack (a debug build needs
/// kilobytes of stack per level of a recursive reader).
enum Frame {
    Array {
        items: Vec<Value>,
        remaining: usize,
        tag: Option<usize>,
    },
    Hash {
        map: Map,
        remaining: usize,
        flagged: bool,
        /// SX_FLAG_HASH with an SV key: the value, waiting for its key.
        waiting_key: Option<Value>,
        tag: Option<usize>,
    },
    /// SX_REF and friends: the next item is the referent.
    Ref { tag: Option<usize> },
    /// SX_BLESS / SX_IX_BLESS: the next item is the blessed object.
    Bless { class: String, tag: Option<usize> },
    /// Re-reading an earlier object for a back-reference; reading resumes
    /// at `resume` once it is complete.
    Replay { resume: usize },
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    tags: Vec<TagSlot>,
    classes: Vec<String>,
    stack: Vec<Frame>,
    /// Above zero while re-reading an earlier object for a back-reference:
    /// no new tags or classes are recorded then.
    replaying: usize,
    /// The next object is the one a bless prefix already tagged.
    untagged_next: bool,
    expanded: usize,
    limits: ThawLimits,
}

const VALUE_COST: usize = 32;

/// Elements reserved up front for an array, whatever its count claims.
const PREALLOC_LIMIT: usize = 1024;

impl Reader<'_> {
    fn new(data: &[u8], limits: ThawLimits) -> Reader<'_> {
        Reader {
            data,
            pos: 2,
            // Every object takes at least two octets: a fair first guess
            // that saves the table a few regrowths on typical messages.
            tags: Vec::with_capacity((data.len() / 4).min(1024)),
            classes: Vec::new(),
            stack: Vec::with_capacity(8),
            replaying: 0,
            untagged_next: false,
            expanded: 0,
            limits,
        }
    }

    fn byte(&mut self) -> Result<u8, StorableError> {
        let b = *self
            .data
            .get(self.pos)
            .ok_or(StorableError::Truncated { offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], StorableError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or(StorableError::Truncated {
                offset: self.data.len(),
            })?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, StorableError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 4-octet length or count. Storable's are signed 32-bit.
    fn len32(&mut self) -> Result<usize, StorableError> {
        let at = self.pos;
        let n = self.u32()?;
        if n > i32::MAX as u32 {
            return Err(StorableError::Malformed {
                what: "negative length",
                offset: at,
            });
        }
        Ok(n as usize)
    }

    /// A count of `n` items, each at least `min_octets` long: refused when
    /// the image cannot possibly hold them, so allocation is bounded by
    /// the input.
    fn count(&mut self, min_octets: usize) -> Result<usize, StorableError> {
        let n = self.len32()?;
        if n.saturating_mul(min_octets) > self.data.len() - self.pos {
            return Err(StorableError::Truncated {
                offset: self.data.len(),
            });
        }
        Ok(n)
    }

    fn charge(&mut self, octets: usize) -> Result<(), StorableError> {
        if self.replaying > 0 {
            self.expanded = self.expanded.saturating_add(VALUE_COST + octets);
            if self.expanded > self.limits.max_expansion {
                return Err(StorableError::ExpansionLimit {
                    limit: self.limits.max_expansion,
                });
            }
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame) -> Result<(), StorableError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(StorableError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    fn finish_tag(&mut self, tag: Option<usize>) {
        if let Some(t) = tag {
            self.tags[t].done = true;
        }
    }

    /// Read the whole image.
    fn run(&mut self) -> Result<Item, StorableError> {
        loop {
            let Some(mut item) = self.start()? else {
                continue;
            };
            // Hand the finished item to the frames, closing every frame it
            // completes.
            loop {
                if self.stack.is_empty() {
                    return Ok(item);
                }
                match self.feed(item)? {
                    Some(done) => item = done,
                    None => break,
                }
            }
        }
    }

    /// Start reading one object: a scalar is finished at once; a container
    /// pushes a frame (`None`) unless it is empty.
    fn start(&mut self) -> Result<Option<Item>, StorableError> {
        let at = self.pos;
        let opcode = self.byte()?;
        if opcode == op::OBJECT {
            let tag = self.u32()?;
            self.back_reference(tag, at)?;
            return Ok(None);
        }
        let tagged = !std::mem::take(&mut self.untagged_next) && self.replaying == 0;
        let tag = tagged.then(|| {
            self.tags.push(TagSlot {
                offset: at,
                done: false,
            });
            self.tags.len() - 1
        });
        let item = match opcode {
            op::BLESS | op::IX_BLESS => {
                let class = self.class(opcode, at)?;
                if let Some(&(op::BLESS | op::IX_BLESS | op::OBJECT)) = self.data.get(self.pos) {
                    return Err(StorableError::Malformed {
                        what: "bless of a bless or back-reference",
                        offset: self.pos,
                    });
                }
                self.untagged_next = true;
                self.push(Frame::Bless { class, tag })?;
                return Ok(None);
            }
            op::REF | op::OVERLOAD | op::WEAKREF | op::WEAKOVERLOAD => {
                self.charge(0)?;
                self.push(Frame::Ref { tag })?;
                return Ok(None);
            }
            op::ARRAY => {
                let remaining = self.count(1)?;
                self.charge(0)?;
                if remaining > 0 {
                    // Grow as elements really arrive: a count is only a claim.
                    let items = Vec::with_capacity(remaining.min(PREALLOC_LIMIT));
                    self.push(Frame::Array {
                        items,
                        remaining,
                        tag,
                    })?;
                    return Ok(None);
                }
                Item::Array(Vec::new())
            }
            op::HASH | op::FLAG_HASH => {
                let flagged = opcode == op::FLAG_HASH;
                if flagged {
                    let _hash_flags = self.byte()?;
                }
                // Each entry: a value (1+) and a key length (4), plus flags.
                let remaining = self.count(5 + usize::from(flagged))?;
                self.charge(0)?;
                if remaining > 0 {
                    self.push(Frame::Hash {
                        map: Map::new(),
                        remaining,
                        flagged,
                        waiting_key: None,
                        tag,
                    })?;
                    return Ok(None);
                }
                Item::Hash(Map::new())
            }
            other => self.scalar(other, at)?,
        };
        self.finish_tag(tag);
        Ok(Some(item))
    }

    /// Give `item` to the innermost frame, in place; the frame's result
    /// when `item` completes it (the frame is then popped).
    fn feed(&mut self, item: Item) -> Result<Option<Item>, StorableError> {
        let Some(top) = self.stack.last_mut() else {
            return Ok(Some(item));
        };
        // What a reference, bless or replay frame wraps.
        let mut inner = None;
        match top {
            Frame::Array {
                items, remaining, ..
            } => {
                items.push(item.into_scalar());
                *remaining -= 1;
                if *remaining > 0 {
                    return Ok(None);
                }
            }
            Frame::Hash {
                waiting_key: waiting @ Some(_),
                ..
            } => {
                // `item` is the SV key of the waiting value.
                let value = waiting.take().unwrap_or_default();
                let key = item.into_scalar().to_string();
                if !self.insert(key, value)? {
                    return Ok(None);
                }
            }
            Frame::Hash { flagged, .. } => {
                let flagged = *flagged;
                let value = item.into_scalar();
                let flags = if flagged { self.byte()? } else { 0 };
                if flags & key_flag::IS_SV != 0 {
                    if let Some(Frame::Hash { waiting_key, .. }) = self.stack.last_mut() {
                        *waiting_key = Some(value);
                    }
                    return Ok(None);
                }
                let len = self.len32()?;
                let raw = self.take(len)?;
                let key = if flags & key_flag::UTF8 != 0 {
                    String::from_utf8_lossy(raw).into_owned()
                } else {
                    // Plain and WASUTF8 keys are Latin-1 octets.
                    latin1(raw)
                };
                // A placeholder is a deleted slot of a locked hash.
                let more = if flags & key_flag::PLACEHOLDER == 0 {
                    self.insert(key, value)?
                } else {
                    self.count_entry()
                };
                if !more {
                    return Ok(None);
                }
            }
            Frame::Ref { .. } | Frame::Bless { .. } | Frame::Replay { .. } => inner = Some(item),
        }
        // The innermost frame is complete.
        let done = match self.stack.pop() {
            Some(Frame::Array { items, tag, .. }) => {
                self.finish_tag(tag);
                Item::Array(items)
            }
            Some(Frame::Hash { map, tag, .. }) => {
                self.finish_tag(tag);
                Item::Hash(map)
            }
            Some(Frame::Ref { tag }) => {
                self.finish_tag(tag);
                Item::Scalar(inner.map_or(Value::Undef, Item::into_reference))
            }
            Some(Frame::Bless { class, tag }) => {
                self.finish_tag(tag);
                Item::Blessed(class, Box::new(inner.unwrap_or(Item::Scalar(Value::Undef))))
            }
            Some(Frame::Replay { resume }) => {
                self.pos = resume;
                self.replaying -= 1;
                inner.unwrap_or(Item::Scalar(Value::Undef))
            }
            None => inner.unwrap_or(Item::Scalar(Value::Undef)),
        };
        Ok(Some(done))
    }

    /// Insert an entry into the innermost hash; true when that completes it.
    fn insert(&mut self, key: String, value: Value) -> Result<bool, StorableError> {
        self.charge(key.len())?;
        if let Some(Frame::Hash { map, .. }) = self.stack.last_mut() {
            map.insert(key, value);
        }
        Ok(self.count_entry())
    }

    /// Count one entry of the innermost hash; true when it was the last.
    fn count_entry(&mut self) -> bool {
        match self.stack.last_mut() {
            Some(Frame::Hash { remaining, .. }) => {
                *remaining -= 1;
                *remaining == 0
            }
            _ => true,
        }
    }

    fn class(&mut self, opcode: u8, at: usize) -> Result<String, StorableError> {
        // One octet, or 0x80 followed by a 4-octet value.
        let mut n = u32::from(self.byte()?);
        if n & 0x80 != 0 {
            n = self.len32()? as u32;
        }
        if opcode == op::IX_BLESS {
            return self
                .classes
                .get(n as usize)
                .cloned()
                .ok_or(StorableError::BadClassIndex {
                    index: n,
                    offset: at,
                });
        }
        // Written as UTF-8 (a Rust string's octets); an image from
        // elsewhere that is not UTF-8 is Latin-1, as Perl's octets are.
        let name = utf8_or_latin1(self.take(n as usize)?);
        self.charge(name.len())?;
        if self.replaying == 0 {
            self.classes.push(name.clone());
        }
        Ok(name)
    }

    /// Read the object stored under `tag` again, from where it was stored:
    /// a `Value` tree holds copies.
    fn back_reference(&mut self, tag: u32, at: usize) -> Result<(), StorableError> {
        let slot = self
            .tags
            .get(tag as usize)
            .ok_or(StorableError::BadBackReference { tag, offset: at })?;
        if !slot.done {
            return Err(StorableError::Cyclic { tag });
        }
        let offset = slot.offset;
        self.push(Frame::Replay { resume: self.pos })?;
        self.pos = offset;
        self.replaying += 1;
        Ok(())
    }

    fn scalar(&mut self, opcode: u8, at: usize) -> Result<Item, StorableError> {
        let (v, octets) = match opcode {
            op::UNDEF | op::SV_UNDEF | op::SVUNDEF_ELEM => (Value::Undef, 0),
            op::SV_YES | op::BOOLEAN_TRUE => (Value::Int(1), 0),
            op::SV_NO | op::BOOLEAN_FALSE => (Value::from(""), 0),
            op::BYTE => (Value::Int(i64::from(self.byte()?) - 128), 0),
            op::NETINT => (Value::Int(i64::from(self.u32()? as i32)), 0),
            // Never written in network order, but Perl reads them as
            // little-endian native values even there [verified].
            op::INTEGER => {
                let b = self.take(8)?;
                (
                    Value::Int(i64::from_le_bytes(b.try_into().unwrap_or_default())),
                    0,
                )
            }
            op::DOUBLE => {
                let b = self.take(8)?;
                (
                    Value::Float(f64::from_le_bytes(b.try_into().unwrap_or_default())),
                    0,
                )
            }
            op::SCALAR | op::LSCALAR => {
                let n = if opcode == op::SCALAR {
                    usize::from(self.byte()?)
                } else {
                    self.len32()?
                };
                let raw = self.take(n)?;
                let v = if raw.is_ascii() {
                    Value::Str(Text::from(std::str::from_utf8(raw).unwrap_or_default()))
                } else {
                    Value::Bytes(Bytes::from(raw))
                };
                (v, n)
            }
            op::UTF8STR | op::LUTF8STR => {
                let n = if opcode == op::UTF8STR {
                    usize::from(self.byte()?)
                } else {
                    self.len32()?
                };
                let raw = self.take(n)?;
                // Perl accepts invalid UTF-8 here; keep the octets rather
                // than guess.
                (text_or_bytes(raw), n)
            }
            op::TIED_ARRAY | op::TIED_HASH | op::TIED_SCALAR | op::TIED_KEY | op::TIED_IDX => {
                return Err(unsupported("tied containers", at))
            }
            op::HOOK => return Err(unsupported("STORABLE_freeze hooks", at)),
            op::CODE => return Err(unsupported("code references", at)),
            op::VSTRING | op::LVSTRING => return Err(unsupported("v-strings", at)),
            op::REGEXP => return Err(unsupported("regexps", at)),
            op::LOBJECT => return Err(unsupported("objects over 2 GiB", at)),
            other => {
                return Err(StorableError::UnknownOpcode {
                    opcode: other,
                    offset: at,
                })
            }
        };
        self.charge(octets)?;
        Ok(Item::Scalar(v))
    }
}

fn unsupported(what: &'static str, offset: usize) -> StorableError {
    StorableError::Unsupported { what, offset }
}

/// Perl's non-UTF-8 strings are Latin-1: each octet is one character.
fn latin1(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) if raw.is_ascii() => s.to_owned(),
        _ => raw.iter().map(|&b| char::from(b)).collect(),
    }
}
