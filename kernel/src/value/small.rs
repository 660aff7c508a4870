//! Small-buffer strings: [`Text`] and [`Bytes`].
//!
//! Both keep up to [`INLINE_CAPACITY`] bytes inline (no allocation) and share
//! longer contents through an `Rc`, so cloning a `Value` that carries a long
//! line is a reference-count bump, not a copy. Each is 24 bytes, which keeps
//! `Value` at 32.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::rc::Rc;

/// How many bytes a [`Text`] or [`Bytes`] stores without allocating.
pub const INLINE_CAPACITY: usize = 22;

#[derive(Clone, Copy)]
struct Inline {
    len: u8,
    buf: [u8; INLINE_CAPACITY],
}

impl Inline {
    fn new(bytes: &[u8]) -> Option<Inline> {
        if bytes.len() > INLINE_CAPACITY {
            return None;
        }
        let mut buf = [0u8; INLINE_CAPACITY];
        buf[..bytes.len()].copy_from_slice(bytes);
        Some(Inline {
            len: bytes.len() as u8,
            buf,
        })
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

#[derive(Clone)]
enum TextRepr {
    Inline(Inline),
    Heap(Rc<str>),
    /// A range of a [`TextBlock`] other texts may share. Always on char
    /// boundaries: [`TextBlock::slice`] checks them.
    Slice {
        block: Rc<String>,
        start: u32,
        len: u32,
    },
}

/// An immutable UTF-8 string: inline up to 22 bytes, shared beyond.
///
/// ```
/// use poe_kernel::Text;
/// let t = Text::from("hello");
/// assert_eq!(t.as_str(), "hello");
/// assert_eq!(&*t, "hello");
/// ```
#[derive(Clone)]
pub struct Text(TextRepr);

impl Text {
    /// The empty string.
    pub const fn empty() -> Text {
        Text(TextRepr::Inline(Inline {
            len: 0,
            buf: [0; INLINE_CAPACITY],
        }))
    }

    /// Borrow the string.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Only ever built from a `&str`, so this cannot fail; the check
            // costs a few nanoseconds on at most 22 bytes.
            TextRepr::Inline(i) => std::str::from_utf8(i.as_bytes()).unwrap_or_default(),
            TextRepr::Heap(s) => s,
            TextRepr::Slice { block, start, len } => {
                let start = *start as usize;
                block.get(start..start + *len as usize).unwrap_or_default()
            }
        }
    }

    /// The string's octets, without the UTF-8 and char-boundary checks
    /// that [`as_str`](Text::as_str) repeats on every call: what a filter
    /// writing the text out needs.
    ///
    /// ```
    /// use poe_kernel::Text;
    /// assert_eq!(Text::from("héllo").as_bytes(), "héllo".as_bytes());
    /// ```
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            TextRepr::Inline(i) => i.as_bytes(),
            TextRepr::Heap(s) => s.as_bytes(),
            TextRepr::Slice { block, start, len } => {
                let start = *start as usize;
                block
                    .as_bytes()
                    .get(start..start + *len as usize)
                    .unwrap_or_default()
            }
        }
    }

    /// True when the string lives inline (no heap allocation).
    #[inline]
    pub fn is_inline(&self) -> bool {
        matches!(self.0, TextRepr::Inline(_))
    }

    /// True when the string is a range of a larger shared [`TextBlock`]
    /// (as the lines of one read are), which it keeps alive.
    #[inline]
    pub fn is_block_slice(&self) -> bool {
        matches!(self.0, TextRepr::Slice { .. })
    }

    /// The same string in an allocation of its own: for a record taken from
    /// a shared [`TextBlock`] and kept for long, so it stops holding the
    /// whole block.
    ///
    /// ```
    /// use poe_kernel::{Text, TextBlock};
    /// let block = TextBlock::from("first line of a read\nsecond line of the same read\n");
    /// let line = block.slice(21..49).unwrap();
    /// assert!(line.is_block_slice());
    /// let kept = line.detach();
    /// assert!(!kept.is_block_slice());
    /// assert_eq!(kept, "second line of the same read");
    /// ```
    pub fn detach(&self) -> Text {
        match self.0 {
            TextRepr::Slice { .. } => Text::from(self.as_str()),
            _ => self.clone(),
        }
    }
}

/// An immutable block of UTF-8 that many [`Text`]s share: a filter copies
/// one read into a block once and hands out its lines as slices, so a line
/// costs a reference count instead of an allocation.
///
/// A slice keeps its whole block alive; [`Text::detach`] copies it out.
///
/// ```
/// use poe_kernel::TextBlock;
/// let block = TextBlock::from("a line that is longer than inline\nand another one that is too\n");
/// let first = block.slice(0..33).unwrap();
/// assert_eq!(first, "a line that is longer than inline");
/// assert!(block.slice(0..100).is_none());
/// ```
///
/// A block no text shares any more can take new contents in place
/// ([`TextBlock::refill`]), keeping its allocations: a filter that cuts a
/// block for every read reuses one instead of allocating two each time.
#[derive(Clone)]
pub struct TextBlock(Rc<String>);

impl TextBlock {
    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty block.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text at `range`, sharing the block (or inline when short).
    /// `None` when the range is out of bounds or not on char boundaries.
    #[inline]
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<Text> {
        let s = self.0.get(range.clone())?;
        if s.len() <= INLINE_CAPACITY {
            return Some(Text::from(s));
        }
        let start = u32::try_from(range.start).ok()?;
        let len = u32::try_from(s.len()).ok()?;
        Some(Text(TextRepr::Slice {
            block: self.0.clone(),
            start,
            len,
        }))
    }

    /// Replace the contents with `s`, reusing the block's memory, when no
    /// [`Text`] (and no clone of the block) shares it any more. Returns
    /// false, and leaves the block as it was, when something still does.
    ///
    /// ```
    /// use poe_kernel::TextBlock;
    /// let mut block = TextBlock::from("the first read, line by line\n");
    /// let line = block.slice(0..28).unwrap();
    /// assert!(!block.refill("the second read\n"), "a line still shares it");
    /// drop(line);
    /// assert!(block.refill("the second read\n"));
    /// assert_eq!(block.slice(0..15).unwrap(), "the second read");
    /// ```
    pub fn refill(&mut self, s: &str) -> bool {
        match Rc::get_mut(&mut self.0) {
            Some(text) => {
                text.clear();
                text.push_str(s);
                true
            }
            None => false,
        }
    }
}

impl From<&str> for TextBlock {
    #[inline]
    fn from(s: &str) -> TextBlock {
        TextBlock(Rc::new(String::from(s)))
    }
}

impl fmt::Debug for TextBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TextBlock({} bytes)", self.len())
    }
}

const _: () = assert!(std::mem::size_of::<Text>() == 24);

impl Default for Text {
    fn default() -> Self {
        Text::empty()
    }
}

impl Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    #[inline]
    fn from(s: &str) -> Text {
        match Inline::new(s.as_bytes()) {
            Some(i) => Text(TextRepr::Inline(i)),
            None => Text(TextRepr::Heap(Rc::from(s))),
        }
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        if s.len() <= INLINE_CAPACITY {
            Text::from(s.as_str())
        } else {
            Text(TextRepr::Heap(Rc::from(s)))
        }
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::from(s.as_str())
    }
}

impl From<Rc<str>> for Text {
    fn from(s: Rc<str>) -> Text {
        Text(TextRepr::Heap(s))
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    fn hash<S: Hasher>(&self, state: &mut S) {
        self.as_str().hash(state)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[derive(Clone)]
enum BytesRepr {
    Inline(Inline),
    Heap(Rc<[u8]>),
}

/// An immutable byte string: inline up to 22 bytes, shared beyond.
///
/// This is what a Perl string without the UTF-8 flag becomes (a line that is
/// not valid UTF-8, a binary block, a Storable byte string).
///
/// ```
/// use poe_kernel::Bytes;
/// let b = Bytes::from(&b"\xff\x00"[..]);
/// assert_eq!(b.as_slice(), b"\xff\x00");
/// ```
#[derive(Clone)]
pub struct Bytes(BytesRepr);

impl Bytes {
    /// The empty byte string.
    pub const fn empty() -> Bytes {
        Bytes(BytesRepr::Inline(Inline {
            len: 0,
            buf: [0; INLINE_CAPACITY],
        }))
    }

    /// Borrow the bytes.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            BytesRepr::Inline(i) => i.as_bytes(),
            BytesRepr::Heap(b) => b,
        }
    }

    /// Copy the bytes into a `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_slice().to_vec()
    }
}

impl Default for Bytes {
    fn default() -> Self {
        Bytes::empty()
    }
}

impl Deref for Bytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for Bytes {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Bytes {
        match Inline::new(b) {
            Some(i) => Bytes(BytesRepr::Inline(i)),
            None => Bytes(BytesRepr::Heap(Rc::from(b))),
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(b: Vec<u8>) -> Bytes {
        if b.len() <= INLINE_CAPACITY {
            Bytes::from(b.as_slice())
        } else {
            Bytes(BytesRepr::Heap(Rc::from(b)))
        }
    }
}

impl<const N: usize> From<&[u8; N]> for Bytes {
    fn from(b: &[u8; N]) -> Bytes {
        Bytes::from(&b[..])
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}
impl Eq for Bytes {}

impl PartialEq<[u8]> for Bytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl Hash for Bytes {
    fn hash<S: Hasher>(&self, state: &mut S) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_slice().escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_inline_and_long_text_is_shared() {
        let short = Text::from("x".repeat(INLINE_CAPACITY).as_str());
        assert!(short.is_inline());
        let long = Text::from("y".repeat(INLINE_CAPACITY + 1));
        assert!(!long.is_inline());
        assert_eq!(long.len(), INLINE_CAPACITY + 1);
        assert_eq!(long.clone(), long);
    }

    #[test]
    fn multibyte_text_round_trips_at_the_inline_boundary() {
        // 7 three-byte characters = 21 bytes inline; 8 = 24 bytes on the heap.
        for n in [7, 8] {
            let s = "€".repeat(n);
            assert_eq!(Text::from(s.as_str()).as_str(), s);
        }
    }

    #[test]
    fn bytes_keep_arbitrary_octets() {
        let raw: Vec<u8> = (0..=255u8).collect();
        assert_eq!(Bytes::from(raw.clone()).as_slice(), &raw[..]);
        assert_eq!(Bytes::from(&raw[..3]).as_slice(), &[0, 1, 2]);
    }

    #[test]
    fn sizes_stay_small() {
        assert_eq!(std::mem::size_of::<Text>(), 24);
        assert_eq!(std::mem::size_of::<Bytes>(), 24);
    }
}
