//! [`Cmd`]: one Redis command, stored already encoded so that sending it is one copy.

use alloc::vec::Vec;
use core::fmt;

use smallvec::SmallVec;

use super::to_arg::{write_decimal_u64, ArgSink, ToArg};

/// A Redis command: a name and its arguments, cheap to build and to encode.
///
/// The words (name first) are kept in their RESP wire form, `$<len>\r\n<bytes>\r\n`, one
/// after another in a single buffer, beside a small table of where each word starts (its
/// payload's place and length are read back from its `$<len>` header). Both live inside
/// the `Cmd` while they are small (up to [`Cmd::INLINE_BYTES`] encoded bytes,
/// [`Cmd::INLINE_WORDS`] words): a `GET k`, or a `SET k v` of short key and value, is
/// built without touching the heap; a larger command takes one allocation for its bytes
/// (amortised), and one for the table past four words. [`Cmd::encode`] is the `*<n>\r\n`
/// header plus one copy.
///
/// Argument indices used by [`Cmd::arg_at`], [`Cmd::args`] and the key-spec functions of
/// this module count the arguments *after* the name from 0: in `SET k v`, `arg_at(0)` is
/// `k`. (Redis's own `argv` indices, as in `COMMAND INFO`, count the name as 0; ours are
/// those minus one.)
///
/// ```
/// use redis_ring_core::command::Cmd;
///
/// let cmd = Cmd::new("SET").arg("k").arg(42);
/// assert_eq!(cmd.name(), b"SET");
/// assert_eq!(cmd.arg_at(1), Some(&b"42"[..]));
/// let mut out = Vec::new();
/// cmd.encode(&mut out);
/// assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n");
/// assert_eq!(out.len(), cmd.encoded_len());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cmd {
    /// Every word, name first, as RESP bulk strings.
    buf: SmallVec<[u8; Cmd::INLINE_BYTES]>,
    /// The offset in `buf` of each word's `$` header, name first. Offsets only (not payload
    /// spans) keep a `Cmd` small: it is moved by value from its builder to the request slab
    /// (issue 16: every byte of it is copied several times per command).
    heads: SmallVec<[usize; Cmd::INLINE_WORDS]>,
    /// The caller declared that running the command twice is harmless (see
    /// [`Cmd::idempotent`]).
    idempotent: bool,
}

impl Cmd {
    /// Encoded bytes (`$<len>\r\n<bytes>\r\n` per word) a command keeps inline, without a
    /// heap allocation: `SET key:000000000001 xxx` takes 41.
    pub const INLINE_BYTES: usize = 64;
    /// Words (name included) whose positions a command keeps inline: `SET k v` takes 3.
    pub const INLINE_WORDS: usize = 4;

    /// A command with no arguments yet (nothing allocated while it stays small).
    pub fn new(name: impl AsRef<[u8]>) -> Cmd {
        let mut cmd = Cmd {
            buf: SmallVec::new(),
            heads: SmallVec::new(),
            idempotent: false,
        };
        cmd.push_word(name.as_ref());
        cmd
    }

    /// A command with room reserved for `args` arguments totalling about `bytes` payload
    /// bytes, so that pushing them does not reallocate.
    pub fn with_capacity(name: impl AsRef<[u8]>, args: usize, bytes: usize) -> Cmd {
        let name = name.as_ref();
        let mut cmd = Cmd {
            buf: SmallVec::with_capacity(name.len() + 8 + bytes + args * 8),
            heads: SmallVec::with_capacity(args + 1),
            idempotent: false,
        };
        cmd.push_word(name);
        cmd
    }

    /// Declares the command idempotent: running it twice has the effect of running it once
    /// (`SET k v`, `DEL k`, `HSET h f v`, but not `INCR`, `LPUSH`, `SET k v GET`...).
    ///
    /// The ring re-sends a command automatically only when it provably did not run (it was
    /// never completely written to the socket, the connection was refused, or the server
    /// answered an error saying it did not run it: `LOADING`, `TRYAGAIN`, `MASTERDOWN`...),
    /// or when it is safe to repeat: a read-only command of the command table
    /// ([`CommandInfo::is_read_only`](super::CommandInfo::is_read_only)) or a command
    /// declared idempotent here. Any other command whose connection broke after it was
    /// written fails with [`Error::MayHaveRun`](crate::error::Error::MayHaveRun).
    /// (go-redis re-sends it; this library does not, unless told so.)
    ///
    /// ```
    /// use redis_ring_core::command::Cmd;
    ///
    /// let cmd = Cmd::new("SET").arg("k").arg("v").idempotent();
    /// assert!(cmd.is_idempotent());
    /// assert!(!Cmd::new("INCR").arg("k").is_idempotent());
    /// ```
    #[must_use]
    pub fn idempotent(mut self) -> Cmd {
        self.idempotent = true;
        self
    }

    /// Sets or clears the idempotence declaration in place (see [`Cmd::idempotent`]).
    pub fn set_idempotent(&mut self, idempotent: bool) -> &mut Cmd {
        self.idempotent = idempotent;
        self
    }

    /// Whether the caller declared the command idempotent (see [`Cmd::idempotent`]).
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// Whether the ring may re-send the command after its connection broke with the command
    /// written: declared idempotent, or read-only per the command table.
    pub fn may_resend(&self) -> bool {
        self.idempotent || super::lookup(self).is_some_and(|c| c.is_read_only())
    }

    /// Appends `arg` (which may expand to several arguments, see [`ToArg`]) and returns the
    /// command, for chaining.
    #[must_use]
    pub fn arg<T: ToArg>(mut self, arg: T) -> Cmd {
        arg.write_args(&mut self);
        self
    }

    /// Appends the number of arguments `items` expands to, then those arguments: the
    /// `numkeys` forms (`EVAL script numkeys key...`, `ZUNION numkeys key...`).
    ///
    /// ```
    /// use redis_ring_core::command::Cmd;
    ///
    /// let cmd = Cmd::new("EVAL").arg("return 1").arg_counted(["a", "b"]).arg("x");
    /// assert_eq!(cmd, Cmd::new("EVAL").arg("return 1").arg(2).arg("a").arg("b").arg("x"));
    /// ```
    #[must_use]
    pub fn arg_counted<T: ToArg>(mut self, items: T) -> Cmd {
        self.push_arg(items.num_args());
        items.write_args(&mut self);
        self
    }

    /// Appends `arg` (which may expand to several arguments) in place.
    pub fn push_arg<T: ToArg>(&mut self, arg: T) -> &mut Cmd {
        arg.write_args(self);
        self
    }

    /// Appends one argument given as raw bytes.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> &mut Cmd {
        self.push_word(bytes);
        self
    }

    /// Appends argument `index` of `other` (already encoded: one copy, no formatting).
    ///
    /// # Panics
    /// If `other` has no argument `index`, as slice indexing does.
    pub fn push_arg_of(&mut self, other: &Cmd, index: usize) -> &mut Cmd {
        let head = other.heads[index + 1];
        let (start, len) = other.payload(head);
        self.heads.push(self.buf.len());
        self.buf
            .extend_from_slice(&other.buf[head..start + len + 2]);
        self
    }

    /// A new command named like this one whose arguments are this one's arguments at
    /// `indices`, in that order: how the ring splits `MGET a b c` into `MGET a c` and
    /// `MGET b`, or `MSET` into its per-shard pairs. Each argument is copied in its encoded
    /// form; nothing is formatted again.
    ///
    /// # Panics
    /// If an index is out of range, as slice indexing does.
    ///
    /// ```
    /// use redis_ring_core::command::Cmd;
    ///
    /// let mset = Cmd::new("MSET").arg("a").arg("1").arg("b").arg("2");
    /// let part = mset.select([2, 3]);
    /// assert_eq!(part, Cmd::new("MSET").arg("b").arg("2"));
    /// ```
    pub fn select<I: IntoIterator<Item = usize>>(&self, indices: I) -> Cmd {
        let indices = indices.into_iter();
        let (start, len) = self.payload(0);
        let mut cmd = Cmd {
            buf: SmallVec::with_capacity(self.buf.len()),
            heads: SmallVec::with_capacity(indices.size_hint().0 + 1),
            idempotent: self.idempotent,
        };
        cmd.buf.extend_from_slice(&self.buf[..start + len + 2]);
        cmd.heads.push(0);
        for i in indices {
            cmd.push_arg_of(self, i);
        }
        cmd
    }

    /// The command's name, as given (not case-normalised).
    pub fn name(&self) -> &[u8] {
        self.word(0)
    }

    /// The number of arguments after the name.
    pub fn len(&self) -> usize {
        self.heads.len() - 1
    }

    /// Whether the command has no arguments after its name.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Argument `index` (0 = the first after the name), if there is one.
    pub fn arg_at(&self, index: usize) -> Option<&[u8]> {
        let head = *self.heads.get(index.checked_add(1)?)?;
        let (start, len) = self.payload(head);
        Some(&self.buf[start..start + len])
    }

    /// The arguments after the name, in order.
    pub fn args(&self) -> Args<'_> {
        Args {
            cmd: self,
            next: 1,
            end: self.heads.len(),
        }
    }

    /// Appends the command as a RESP multi-bulk array (`*N\r\n$len\r\n...`) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(b'*');
        let mut digits = [0u8; 20];
        out.extend_from_slice(write_decimal_u64(self.heads.len() as u64, &mut digits));
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.buf);
    }

    /// Appends the `*<n>\r\n` header of [`Cmd::encode`] alone: the header and
    /// [`Cmd::body`] together are the encoding.
    pub(crate) fn encode_header(&self, out: &mut Vec<u8>) {
        out.push(b'*');
        let mut digits = [0u8; 20];
        out.extend_from_slice(write_decimal_u64(self.heads.len() as u64, &mut digits));
        out.extend_from_slice(b"\r\n");
    }

    /// The encoding after its header: every word, already in wire form (a send queue
    /// writes a large command from here, without a copy).
    pub(crate) fn body(&self) -> &[u8] {
        &self.buf
    }

    /// Writes the encoded command to the start of `out` and returns its length, or `None`
    /// (writing nothing) when `out` is shorter than [`Cmd::encoded_len`].
    pub fn encode_to_slice(&self, out: &mut [u8]) -> Option<usize> {
        let len = self.encoded_len();
        let out = out.get_mut(..len)?;
        let mut digits = [0u8; 20];
        let count = write_decimal_u64(self.heads.len() as u64, &mut digits);
        let (head, rest) = out.split_at_mut(1 + count.len() + 2);
        head[0] = b'*';
        head[1..1 + count.len()].copy_from_slice(count);
        head[1 + count.len()..].copy_from_slice(b"\r\n");
        rest.copy_from_slice(&self.buf);
        Some(len)
    }

    /// The exact number of bytes [`Cmd::encode`] appends.
    pub fn encoded_len(&self) -> usize {
        1 + decimal_len(self.heads.len() as u64) + 2 + self.buf.len()
    }

    fn word(&self, i: usize) -> &[u8] {
        let (start, len) = self.payload(self.heads[i]);
        &self.buf[start..start + len]
    }

    /// Where the payload of the word whose `$` header is at `head` starts, and its length
    /// (read back from the header, which only `push_word` writes: `$<digits>\r\n`).
    #[inline]
    fn payload(&self, head: usize) -> (usize, usize) {
        let mut len = 0usize;
        let mut at = head + 1;
        while let Some(&d @ b'0'..=b'9') = self.buf.get(at) {
            len = len * 10 + usize::from(d - b'0');
            at += 1;
        }
        (at + 2, len)
    }

    fn push_word(&mut self, bytes: &[u8]) {
        /// Words up to this long are written in place, byte by byte into room made first;
        /// longer ones are appended in three copies.
        const SMALL: usize = 64;
        let at = self.buf.len();
        self.heads.push(at);
        let n = bytes.len();
        if n <= SMALL {
            // In place, not assembled on the stack and copied: the copy of bytes just
            // written piecewise stalls on store forwarding, and each `SmallVec` append is a
            // call that checks the capacity and whether the vector spilled.
            let digits = decimal_len(n as u64);
            let end = at + digits + n + 5;
            self.buf.resize(end, 0);
            let word = &mut self.buf[at..end];
            word[0] = b'$';
            let mut rest = n;
            for d in word[1..=digits].iter_mut().rev() {
                *d = b'0' + (rest % 10) as u8;
                rest /= 10;
            }
            word[digits + 1..digits + 3].copy_from_slice(b"\r\n");
            word[digits + 3..digits + 3 + n].copy_from_slice(bytes);
            word[digits + 3 + n..].copy_from_slice(b"\r\n");
        } else {
            let mut digits = [0u8; 20];
            let len = write_decimal_u64(n as u64, &mut digits);
            self.buf.reserve(len.len() + n + 5);
            self.buf.push(b'$');
            self.buf.extend_from_slice(len);
            self.buf.extend_from_slice(b"\r\n");
            self.buf.extend_from_slice(bytes);
            self.buf.extend_from_slice(b"\r\n");
        }
    }
}

impl ArgSink for Cmd {
    fn push_arg(&mut self, bytes: &[u8]) {
        self.push_word(bytes);
    }
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Iterator over a command's arguments (after the name), from [`Cmd::args`].
#[derive(Clone, Debug)]
pub struct Args<'a> {
    cmd: &'a Cmd,
    next: usize,
    end: usize,
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.next == self.end {
            return None;
        }
        let word = self.cmd.word(self.next);
        self.next += 1;
        Some(word)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Args<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.next == self.end {
            return None;
        }
        self.end -= 1;
        Some(self.cmd.word(self.end))
    }
}

impl ExactSizeIterator for Args<'_> {}
impl core::iter::FusedIterator for Args<'_> {}

/// Writes `bytes` readably: printable ASCII as is, the rest as `\xNN`, quoted when needed.
pub(crate) fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    let plain = !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if plain {
        // Checked above: all ASCII.
        return f.write_str(core::str::from_utf8(bytes).map_err(|_| fmt::Error)?);
    }
    f.write_str("\"")?;
    for &b in bytes {
        match b {
            b'"' => f.write_str("\\\"")?,
            b'\\' => f.write_str("\\\\")?,
            b'\n' => f.write_str("\\n")?,
            b'\r' => f.write_str("\\r")?,
            b'\t' => f.write_str("\\t")?,
            b' '..=b'~' => fmt::Write::write_char(f, char::from(b))?,
            _ => write!(f, "\\x{b:02x}")?,
        }
    }
    f.write_str("\"")
}

/// Shows the command as `redis-cli` would print it; long commands are cut after a few
/// arguments and long arguments after a few bytes, so it is safe in error messages.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_ARGS: usize = 8;
        const MAX_BYTES: usize = 64;
        write_escaped(f, self.name())?;
        for arg in self.args().take(MAX_ARGS) {
            f.write_str(" ")?;
            if arg.len() > MAX_BYTES {
                write_escaped(f, &arg[..MAX_BYTES])?;
                write!(f, "...({} bytes)", arg.len())?;
            } else {
                write_escaped(f, arg)?;
            }
        }
        if self.len() > MAX_ARGS {
            write!(f, " ...({} more)", self.len() - MAX_ARGS)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cmd({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    fn encoded(cmd: &Cmd) -> Vec<u8> {
        let mut out = Vec::new();
        cmd.encode(&mut out);
        assert_eq!(out.len(), cmd.encoded_len());
        out
    }

    #[test]
    fn encodes_as_multi_bulk() {
        assert_eq!(encoded(&Cmd::new("PING")), b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(
            encoded(&Cmd::new("SET").arg("k").arg(42)),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n"
        );
        assert_eq!(
            encoded(&Cmd::new("SET").arg("").arg(&b"\r\n\0"[..])),
            b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$3\r\n\r\n\0\r\n"
        );
        // Appends, never overwrites.
        let mut out = b"xx".to_vec();
        Cmd::new("A").encode(&mut out);
        assert_eq!(out, b"xx*1\r\n$1\r\nA\r\n");
    }

    #[test]
    fn long_commands_count_right() {
        let mut cmd = Cmd::new("DEL");
        for i in 0..1000 {
            cmd.push_arg(i);
        }
        let out = encoded(&cmd);
        assert!(out.starts_with(b"*1001\r\n$3\r\nDEL\r\n$1\r\n0\r\n"));
        assert!(out.ends_with(b"$3\r\n999\r\n"));
        let big = vec![b'x'; 100_000];
        let cmd = Cmd::new("SET").arg("k").arg(&big);
        let out = encoded(&cmd);
        assert!(out.starts_with(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\nxxx"));
        assert_eq!(cmd.arg_at(1), Some(&big[..]));
    }

    #[test]
    fn accessors() {
        let cmd = Cmd::new("get").arg("k");
        assert_eq!(cmd.name(), b"get");
        assert_eq!(cmd.len(), 1);
        assert!(!cmd.is_empty());
        assert!(Cmd::new("PING").is_empty());
        assert_eq!(cmd.arg_at(0), Some(&b"k"[..]));
        assert_eq!(cmd.arg_at(1), None);
        assert_eq!(cmd.arg_at(usize::MAX), None);
        let cmd = Cmd::new("MSET").arg([("a", 1), ("b", 2)]);
        let args: Vec<&[u8]> = cmd.args().collect();
        assert_eq!(args, [&b"a"[..], b"1", b"b", b"2"]);
        assert_eq!(cmd.args().len(), 4);
        assert_eq!(cmd.args().next_back(), Some(&b"2"[..]));
    }

    #[test]
    fn select_copies_chosen_arguments() {
        let mget = Cmd::new("MGET").arg(["a", "bb", "ccc", "dddd"]);
        let part = mget.select([3, 0]);
        assert_eq!(part, Cmd::new("MGET").arg("dddd").arg("a"));
        assert_eq!(
            encoded(&part),
            encoded(&Cmd::new("MGET").arg("dddd").arg("a"))
        );
        assert_eq!(mget.select([]), Cmd::new("MGET"));
        let mut other = Cmd::new("DEL");
        other.push_arg_of(&mget, 1).push_bytes(b"z");
        assert_eq!(other, Cmd::new("DEL").arg("bb").arg("z"));
        assert_eq!(other.arg_at(0), Some(&b"bb"[..]));
    }

    #[test]
    #[should_panic]
    fn select_out_of_range_panics_like_indexing() {
        let _ = Cmd::new("GET").arg("k").select([1]);
    }

    #[test]
    fn encode_to_slice() {
        let cmd = Cmd::new("SET").arg("k").arg("v");
        let mut buf = [0u8; 64];
        let n = cmd.encode_to_slice(&mut buf).unwrap();
        assert_eq!(&buf[..n], &encoded(&cmd)[..]);
        let mut small = [7u8; 10];
        assert_eq!(cmd.encode_to_slice(&mut small), None);
        assert_eq!(small, [7u8; 10]);
    }

    #[test]
    fn display_is_readable_and_bounded() {
        let cmd = Cmd::new("SET").arg("k").arg("a b\n\x01\"");
        assert_eq!(format!("{cmd}"), "SET k \"a b\\n\\x01\\\"\"");
        assert_eq!(format!("{cmd:?}"), "Cmd(SET k \"a b\\n\\x01\\\"\")");
        let long = Cmd::new("DEL").arg((0..20).collect::<Vec<u32>>());
        assert_eq!(format!("{long}"), "DEL 0 1 2 3 4 5 6 7 ...(12 more)");
        let big = Cmd::new("SET").arg("k").arg(vec![b'x'; 100]);
        assert!(format!("{big}").ends_with("...(100 bytes)"));
        assert_eq!(format!("{}", Cmd::new("SET").arg("")), "SET \"\"");
    }
}
