//! `thaw`: Storable network-order image → [`Value`].

use super::{key_flag, op, StorableError, DEFAULT_MAX_DEPTH};
use poe_kernel::{Blessed, Bytes, Map, Text, Value};

/// Bounds for reading untrusted images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThawLimits {
    /// Deepest nesting accepted, in opcodes (default
    /// [`DEFAULT_MAX_DEPTH`](super::DEFAULT_MAX_DEPTH)).
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
    let mut reader = Reader {
        data: image,
        pos: 2,
        tags: Vec::new(),
        classes: Vec::new(),
        depth: 0,
        replaying: 0,
        expanded: 0,
        limits,
    };
    let root = reader.item()?;
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

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    tags: Vec<TagSlot>,
    classes: Vec<String>,
    depth: usize,
    /// Above zero while re-reading an earlier object for a back-reference:
    /// no new tags or classes are recorded then.
    replaying: usize,
    expanded: usize,
    limits: ThawLimits,
}

const VALUE_COST: usize = 32;

/// Elements reserved up front for an array, whatever its count claims.
const PREALLOC_LIMIT: usize = 1024;

impl Reader<'_> {
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

    /// One stored object, with its tag.
    fn item(&mut self) -> Result<Item, StorableError> {
        if self.depth >= self.limits.max_depth {
            return Err(StorableError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        self.depth += 1;
        let result = self.item_inner();
        self.depth -= 1;
        result
    }

    fn item_inner(&mut self) -> Result<Item, StorableError> {
        let at = self.pos;
        let opcode = self.byte()?;
        if opcode == op::OBJECT {
            let tag = self.u32()?;
            return self.back_reference(tag, at);
        }
        let tag = (self.replaying == 0).then(|| {
            self.tags.push(TagSlot {
                offset: at,
                done: false,
            });
            self.tags.len() - 1
        });
        let item = match opcode {
            op::BLESS | op::IX_BLESS => {
                let class = self.class(opcode, at)?;
                let inner_at = self.pos;
                let inner = self.byte()?;
                if matches!(inner, op::BLESS | op::IX_BLESS | op::OBJECT) {
                    return Err(StorableError::Malformed {
                        what: "bless of a bless or back-reference",
                        offset: inner_at,
                    });
                }
                let object = self.body(inner, inner_at)?;
                Item::Blessed(class, Box::new(object))
            }
            other => self.body(other, at)?,
        };
        if let Some(tag) = tag {
            self.tags[tag].done = true;
        }
        Ok(item)
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
        let name = latin1(self.take(n as usize)?);
        self.charge(name.len())?;
        if self.replaying == 0 {
            self.classes.push(name.clone());
        }
        Ok(name)
    }

    fn back_reference(&mut self, tag: u32, at: usize) -> Result<Item, StorableError> {
        let slot = self
            .tags
            .get(tag as usize)
            .ok_or(StorableError::BadBackReference { tag, offset: at })?;
        if !slot.done {
            return Err(StorableError::Cyclic { tag });
        }
        // Read the object again from where it was stored: a `Value` tree
        // holds copies, and re-reading costs nothing until it is used.
        let resume = self.pos;
        self.pos = slot.offset;
        self.replaying += 1;
        let item = self.item_inner();
        self.replaying -= 1;
        self.pos = resume;
        item
    }

    fn scalar(&mut self, v: Value, octets: usize) -> Result<Item, StorableError> {
        self.charge(octets)?;
        Ok(Item::Scalar(v))
    }

    fn body(&mut self, opcode: u8, at: usize) -> Result<Item, StorableError> {
        match opcode {
            op::UNDEF | op::SV_UNDEF | op::SVUNDEF_ELEM => self.scalar(Value::Undef, 0),
            op::SV_YES | op::BOOLEAN_TRUE => self.scalar(Value::Int(1), 0),
            op::SV_NO | op::BOOLEAN_FALSE => self.scalar(Value::from(""), 0),
            op::BYTE => {
                let b = self.byte()?;
                self.scalar(Value::Int(i64::from(b) - 128), 0)
            }
            op::NETINT => {
                let n = self.u32()? as i32;
                self.scalar(Value::Int(i64::from(n)), 0)
            }
            // Never written in network order, but Perl reads them as
            // little-endian native values even there [verified].
            op::INTEGER => {
                let b = self.take(8)?;
                let n = i64::from_le_bytes(b.try_into().unwrap_or_default());
                self.scalar(Value::Int(n), 0)
            }
            op::DOUBLE => {
                let b = self.take(8)?;
                let f = f64::from_le_bytes(b.try_into().unwrap_or_default());
                self.scalar(Value::Float(f), 0)
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
                self.scalar(v, n)
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
                let v = match std::str::from_utf8(raw) {
                    Ok(s) => Value::Str(Text::from(s)),
                    Err(_) => Value::Bytes(Bytes::from(raw)),
                };
                self.scalar(v, n)
            }
            op::REF | op::OVERLOAD | op::WEAKREF | op::WEAKOVERLOAD => {
                self.charge(0)?;
                let target = self.item()?;
                Ok(Item::Scalar(target.into_reference()))
            }
            op::ARRAY => {
                let n = self.count(1)?;
                self.charge(0)?;
                // Grow as elements really arrive: a count is only a claim.
                let mut items = Vec::with_capacity(n.min(PREALLOC_LIMIT));
                for _ in 0..n {
                    items.push(self.item()?.into_scalar());
                }
                Ok(Item::Array(items))
            }
            op::HASH => {
                // Each entry: a value (1+) and a key length (4).
                let n = self.count(5)?;
                self.charge(0)?;
                let mut map = Map::new();
                for _ in 0..n {
                    let value = self.item()?.into_scalar();
                    let len = self.len32()?;
                    let key = latin1(self.take(len)?);
                    self.charge(key.len())?;
                    map.insert(key, value);
                }
                Ok(Item::Hash(map))
            }
            op::FLAG_HASH => {
                let _hash_flags = self.byte()?;
                let n = self.count(6)?;
                self.charge(0)?;
                let mut map = Map::new();
                for _ in 0..n {
                    let value = self.item()?.into_scalar();
                    let flags = self.byte()?;
                    let key = if flags & key_flag::IS_SV != 0 {
                        self.item()?.into_scalar().to_string()
                    } else {
                        let len = self.len32()?;
                        let raw = self.take(len)?;
                        if flags & key_flag::UTF8 != 0 {
                            String::from_utf8_lossy(raw).into_owned()
                        } else {
                            // Plain and WASUTF8 keys are Latin-1 octets.
                            latin1(raw)
                        }
                    };
                    self.charge(key.len())?;
                    if flags & key_flag::PLACEHOLDER == 0 {
                        map.insert(key, value);
                    }
                }
                Ok(Item::Hash(map))
            }
            op::TIED_ARRAY | op::TIED_HASH | op::TIED_SCALAR | op::TIED_KEY | op::TIED_IDX => {
                Err(StorableError::Unsupported {
                    what: "tied containers",
                    offset: at,
                })
            }
            op::HOOK => Err(StorableError::Unsupported {
                what: "STORABLE_freeze hooks",
                offset: at,
            }),
            op::CODE => Err(StorableError::Unsupported {
                what: "code references",
                offset: at,
            }),
            op::VSTRING | op::LVSTRING => Err(StorableError::Unsupported {
                what: "v-strings",
                offset: at,
            }),
            op::REGEXP => Err(StorableError::Unsupported {
                what: "regexps",
                offset: at,
            }),
            op::LOBJECT => Err(StorableError::Unsupported {
                what: "objects over 2 GiB",
                offset: at,
            }),
            other => Err(StorableError::UnknownOpcode {
                opcode: other,
                offset: at,
            }),
        }
    }
}

/// Perl's non-UTF-8 strings are Latin-1: each octet is one character.
fn latin1(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) if raw.is_ascii() => s.to_owned(),
        _ => raw.iter().map(|&b| char::from(b)).collect(),
    }
}
