//! [`ToArg`]: how a Rust value becomes one or several command arguments, without an
//! intermediate allocation.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

/// Where [`ToArg`] writes arguments: each call to [`ArgSink::push_arg`] is one whole
/// argument. [`Cmd`](super::Cmd) is the sink that matters; tests use `Vec<Vec<u8>>`.
pub trait ArgSink {
    /// Appends one argument.
    fn push_arg(&mut self, bytes: &[u8]);
}

/// Counts arguments without keeping them.
struct CountArgs(usize);

impl ArgSink for CountArgs {
    fn push_arg(&mut self, _: &[u8]) {
        self.0 += 1;
    }
}

impl ArgSink for Vec<Vec<u8>> {
    fn push_arg(&mut self, bytes: &[u8]) {
        self.push(bytes.to_vec());
    }
}

/// A value usable as command argument(s).
///
/// Most types write exactly one argument: strings and byte strings as they are, integers
/// in decimal (formatted on the stack), floats the way Redis parses them (`inf`, `-inf`,
/// shortest round-trip digits), `bool` as `1`/`0`. Collections expand to one argument per
/// element: `&[&str]`, `Vec<T>`, `[T; N]` and tuples (so `[("k1", 1), ("k2", 2)]` gives
/// `k1 1 k2 2`, the shape of `MSET` and `HSET`); `Option<T>` gives nothing for `None`,
/// and neither does `()`.
/// Byte collections (`&[u8]`, `Vec<u8>`, `[u8; N]`) are the exception: one binary argument.
///
/// ```
/// use redis_ring_core::command::Cmd;
///
/// let cmd = Cmd::new("ZADD").arg("z").arg(1.5).arg("m").arg(f64::INFINITY).arg(&["n"]);
/// let args: Vec<&[u8]> = cmd.args().collect();
/// assert_eq!(args, [&b"z"[..], b"1.5", b"m", b"inf", b"n"]);
/// ```
pub trait ToArg {
    /// Writes this value's argument(s) to `out`.
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W);

    /// How many arguments this value writes (it is written once, to a counting sink).
    fn num_args(&self) -> usize {
        let mut count = CountArgs(0);
        self.write_args(&mut count);
        count.0
    }

    /// Writes a slice of values. Every type but `u8` writes each element in turn; `u8`
    /// writes the whole slice as one binary argument (that is what makes `&[u8]` and
    /// `Vec<u8>` one argument while `Vec<T>` is several).
    #[doc(hidden)]
    fn write_slice<W: ArgSink + ?Sized>(items: &[Self], out: &mut W)
    where
        Self: Sized,
    {
        for item in items {
            item.write_args(out);
        }
    }
}

impl ToArg for str {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        out.push_arg(self.as_bytes());
    }
}

impl ToArg for String {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        out.push_arg(self.as_bytes());
    }
}

impl ToArg for Cow<'_, str> {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        out.push_arg(self.as_bytes());
    }
}

impl ToArg for Cow<'_, [u8]> {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        out.push_arg(self);
    }
}

impl<T: ToArg> ToArg for [T] {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        T::write_slice(self, out);
    }
}

impl<T: ToArg> ToArg for Vec<T> {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        T::write_slice(self, out);
    }
}

impl<T: ToArg, const N: usize> ToArg for [T; N] {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        T::write_slice(self, out);
    }
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        (**self).write_args(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for &mut T {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        (**self).write_args(out);
    }
}

impl<T: ToArg + ?Sized> ToArg for Box<T> {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        (**self).write_args(out);
    }
}

impl<T: ToArg> ToArg for Option<T> {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        if let Some(v) = self {
            v.write_args(out);
        }
    }
}

/// No argument at all (`eval(script, (), ())` for a script without keys or arguments).
impl ToArg for () {
    fn write_args<W: ArgSink + ?Sized>(&self, _: &mut W) {}
}

impl ToArg for bool {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        out.push_arg(if *self { b"1" } else { b"0" });
    }
}

impl ToArg for char {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        let mut buf = [0u8; 4];
        out.push_arg(self.encode_utf8(&mut buf).as_bytes());
    }
}

/// Formats `n` in decimal at the end of `buf` and returns the digits.
pub(crate) fn write_decimal_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Formats `n` in decimal at the end of `buf` and returns the digits.
fn write_decimal_u128(mut n: u128, buf: &mut [u8; 40]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

macro_rules! unsigned_to_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
                let mut buf = [0u8; 20];
                out.push_arg(write_decimal_u64(*self as u64, &mut buf));
            }
        }
    )*};
}

macro_rules! signed_to_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
                let mut buf = [0u8; 21];
                let (sign, digits) = buf.split_at_mut(1);
                let digits: &mut [u8; 20] = digits.try_into().expect("20 bytes");
                let len = write_decimal_u64(self.unsigned_abs() as u64, digits).len();
                let start = 21 - len;
                if *self < 0 {
                    sign[0] = b'-';
                    buf[start - 1] = b'-';
                    out.push_arg(&buf[start - 1..]);
                } else {
                    out.push_arg(&buf[start..]);
                }
            }
        }
    )*};
}

unsigned_to_arg!(u16, u32, u64, usize);
signed_to_arg!(i8, i16, i32, i64, isize);

impl ToArg for u8 {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        let mut buf = [0u8; 20];
        out.push_arg(write_decimal_u64(u64::from(*self), &mut buf));
    }

    fn write_slice<W: ArgSink + ?Sized>(items: &[u8], out: &mut W) {
        out.push_arg(items);
    }
}

impl ToArg for u128 {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        let mut buf = [0u8; 40];
        out.push_arg(write_decimal_u128(*self, &mut buf));
    }
}

impl ToArg for i128 {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        let mut buf = [0u8; 41];
        let (_, digits) = buf.split_at_mut(1);
        let digits: &mut [u8; 40] = digits.try_into().expect("40 bytes");
        let len = write_decimal_u128(self.unsigned_abs(), digits).len();
        let start = 41 - len;
        if *self < 0 {
            buf[start - 1] = b'-';
            out.push_arg(&buf[start - 1..]);
        } else {
            out.push_arg(&buf[start..]);
        }
    }
}

/// A fixed stack buffer that `core::fmt` can write into.
struct StackBuf {
    buf: [u8; 64],
    len: usize,
}

impl core::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes `v` as Redis parses a double (`strtold`): `inf`, `-inf`, `nan`, and otherwise the
/// shortest digits that round-trip, in exponent form for very large or small magnitudes
/// (plain `Display` would print 309 digits for `f64::MAX`).
fn write_f64<W: ArgSink + ?Sized>(v: f64, out: &mut W) {
    if v.is_nan() {
        return out.push_arg(b"nan");
    }
    if v.is_infinite() {
        return out.push_arg(if v > 0.0 { b"inf" } else { b"-inf" });
    }
    let mut buf = StackBuf {
        buf: [0; 64],
        len: 0,
    };
    let abs = if v < 0.0 { -v } else { v };
    let plain = abs == 0.0 || (1e-5..1e16).contains(&abs);
    let res = if plain {
        write!(buf, "{v}")
    } else {
        write!(buf, "{v:e}")
    };
    if res.is_err() {
        // Cannot happen for the ranges above (at most ~26 bytes); exponent form is short.
        buf.len = 0;
        let _ = write!(buf, "{v:e}");
    }
    out.push_arg(&buf.buf[..buf.len]);
}

impl ToArg for f64 {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        write_f64(*self, out);
    }
}

impl ToArg for f32 {
    fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
        if self.is_finite() {
            // Shortest digits of the f32 (1.1f32 is "1.1", not "1.100000023841858").
            let mut buf = StackBuf {
                buf: [0; 64],
                len: 0,
            };
            let abs = self.abs();
            let plain = abs == 0.0 || (1e-5..1e16).contains(&abs);
            let res = if plain {
                write!(buf, "{self}")
            } else {
                write!(buf, "{self:e}")
            };
            if res.is_ok() {
                return out.push_arg(&buf.buf[..buf.len]);
            }
        }
        write_f64(f64::from(*self), out);
    }
}

macro_rules! tuple_to_arg {
    ($($name:ident)+) => {
        impl<$($name: ToArg),+> ToArg for ($($name,)+) {
            #[allow(non_snake_case)]
            fn write_args<W: ArgSink + ?Sized>(&self, out: &mut W) {
                let ($($name,)+) = self;
                $($name.write_args(out);)+
            }
        }
    };
}

tuple_to_arg!(A);
tuple_to_arg!(A B);
tuple_to_arg!(A B C);
tuple_to_arg!(A B C D);
tuple_to_arg!(A B C D E);
tuple_to_arg!(A B C D E F);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn args<T: ToArg>(v: T) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        v.write_args(&mut out);
        out
    }

    fn one(s: &str) -> Vec<Vec<u8>> {
        vec![s.as_bytes().to_vec()]
    }

    #[test]
    fn strings_and_bytes_are_one_argument() {
        assert_eq!(args("héllo"), one("héllo"));
        assert_eq!(args(String::from("x")), one("x"));
        assert_eq!(args(&b"a\0b"[..]), vec![b"a\0b".to_vec()]);
        assert_eq!(args(b"ab"), one("ab"));
        assert_eq!(args(vec![1u8, 2]), vec![vec![1u8, 2]]);
        assert_eq!(args(Vec::<u8>::new()), vec![Vec::<u8>::new()]);
        assert_eq!(args(Cow::Borrowed("c")), one("c"));
        assert_eq!(args(Cow::Borrowed(&b"c"[..])), one("c"));
        assert_eq!(args(Box::new("b")), one("b"));
        assert_eq!(args('é'), one("é"));
    }

    #[test]
    fn integers_in_decimal() {
        assert_eq!(args(0u8), one("0"));
        assert_eq!(args(255u8), one("255"));
        assert_eq!(args(-128i8), one("-128"));
        assert_eq!(args(i16::MIN), one("-32768"));
        assert_eq!(args(u32::MAX), one("4294967295"));
        assert_eq!(args(i64::MIN), one("-9223372036854775808"));
        assert_eq!(args(i64::MAX), one("9223372036854775807"));
        assert_eq!(args(u64::MAX), one("18446744073709551615"));
        assert_eq!(args(usize::MIN), one("0"));
        assert_eq!(args(-1isize), one("-1"));
        assert_eq!(
            args(u128::MAX),
            one("340282366920938463463374607431768211455")
        );
        assert_eq!(
            args(i128::MIN),
            one("-170141183460469231731687303715884105728")
        );
        assert_eq!(args(0i128), one("0"));
        for n in [-1000i64, -10, -9, -1, 0, 1, 9, 10, 99, 100, 12345] {
            assert_eq!(args(n), one(&alloc::format!("{n}")));
        }
    }

    #[test]
    fn floats_as_redis_parses_them() {
        assert_eq!(args(1.5f64), one("1.5"));
        assert_eq!(args(1.0f64), one("1"));
        assert_eq!(args(-0.25f64), one("-0.25"));
        assert_eq!(args(0.0f64), one("0"));
        assert_eq!(args(f64::INFINITY), one("inf"));
        assert_eq!(args(f64::NEG_INFINITY), one("-inf"));
        assert_eq!(args(f64::NAN), one("nan"));
        assert_eq!(args(1e300f64), one("1e300"));
        assert_eq!(args(f64::MAX), one("1.7976931348623157e308"));
        assert_eq!(args(5e-324f64), one("5e-324"));
        assert_eq!(args(0.1f64), one("0.1"));
        assert_eq!(args(1.1f32), one("1.1"));
        assert_eq!(args(f32::NEG_INFINITY), one("-inf"));
        assert_eq!(args(3e20f32), one("3e20"));
        // Every finite value round-trips through its text.
        for v in [
            123456.789f64,
            1e-5,
            9.99e15,
            1e16,
            -3.25e-7,
            2.0f64.powi(60),
        ] {
            let text = args(v).remove(0);
            let back: f64 = core::str::from_utf8(&text).unwrap().parse().unwrap();
            assert_eq!(back, v);
        }
    }

    #[test]
    fn bools_as_one_and_zero() {
        assert_eq!(args(true), one("1"));
        assert_eq!(args(false), one("0"));
    }

    #[test]
    fn collections_expand() {
        assert_eq!(args(["a", "b"]), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(args(&["a", "b"][..]), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(args(vec![1u32, 2]), vec![b"1".to_vec(), b"2".to_vec()]);
        assert_eq!(
            args(vec![b"x".to_vec(), b"y".to_vec()]),
            vec![b"x".to_vec(), b"y".to_vec()]
        );
        assert_eq!(
            args([("k1", 1), ("k2", 2)]),
            vec![b"k1".to_vec(), b"1".to_vec(), b"k2".to_vec(), b"2".to_vec()]
        );
        assert_eq!(args(Some("a")), one("a"));
        assert_eq!(args(None::<&str>), Vec::<Vec<u8>>::new());
        assert_eq!(args(("a", 1, 2.5, true, 'c', -1)).len(), 6);
        assert_eq!(args(Vec::<&str>::new()), Vec::<Vec<u8>>::new());
        assert_eq!([("a", 1), ("b", 2)].num_args(), 4);
        assert_eq!(None::<u8>.num_args(), 0);
        assert_eq!(().num_args(), 0);
        assert_eq!(b"bytes".num_args(), 1);
    }
}
