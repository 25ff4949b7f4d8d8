//! The connection handshake as protocol steps.
//!
//! RESP3 (the default): `HELLO 3 [AUTH user pass] [SETNAME name]`, then `SELECT db` when
//! db ≠ 0, pipelined. On a server without `HELLO` (Redis < 6: `ERR unknown command`, or
//! `NOPROTO`) and with [`Protocol::Auto`], fall back to RESP2: `AUTH [user] pass`,
//! `SELECT db`, `CLIENT SETNAME name`, each only when configured, pipelined. Any other error
//! of any step is a handshake failure.

use alloc::vec::Vec;

use crate::command::Cmd;
use crate::config::{ConnOptions, Protocol};
use crate::error::CmdName;

/// A handshake phase: the RESP3 attempt, or the RESP2 set-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `HELLO 3 ...` (+ `SELECT`).
    Resp3,
    /// `AUTH`, `SELECT`, `CLIENT SETNAME` as needed.
    Resp2,
}

/// One handshake command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `HELLO 3`.
    Hello,
    /// `AUTH`.
    Auth,
    /// `SELECT`.
    Select,
    /// `CLIENT SETNAME`.
    SetName,
}

impl Step {
    /// The step's command, for errors.
    pub(crate) fn name(self) -> CmdName {
        match self {
            Step::Hello => CmdName::new(b"HELLO"),
            Step::Auth => CmdName::new(b"AUTH"),
            Step::Select => CmdName::new(b"SELECT"),
            Step::SetName => CmdName::with_sub(b"CLIENT", b"SETNAME"),
        }
    }
}

/// The phase a new connection starts with.
pub(crate) fn first_phase(opts: &ConnOptions) -> Phase {
    match opts.protocol {
        Protocol::Resp2 => Phase::Resp2,
        _ => Phase::Resp3,
    }
}

/// Whether a refused `HELLO` means "this server predates RESP3" and the options allow RESP2.
pub(crate) fn may_fall_back(opts: &ConnOptions, message: &[u8]) -> bool {
    opts.protocol == Protocol::Auto
        && (message.starts_with(b"ERR unknown command") || message.starts_with(b"NOPROTO"))
}

/// Encodes the steps of `phase` into `out`, calling `step` for each in order with the length
/// of `out` once that step is encoded (where its last byte ends).
pub(crate) fn encode(
    opts: &ConnOptions,
    phase: Phase,
    out: &mut Vec<u8>,
    mut step: impl FnMut(Step, usize),
) {
    match phase {
        Phase::Resp3 => {
            let mut hello = Cmd::new("HELLO").arg("3");
            if let Some(pass) = &opts.password {
                let user = opts.username.as_deref().unwrap_or("default");
                hello = hello.arg("AUTH").arg(user).arg(pass.as_str());
            }
            if let Some(name) = &opts.client_name {
                hello = hello.arg("SETNAME").arg(name.as_str());
            }
            hello.encode(out);
            step(Step::Hello, out.len());
        }
        Phase::Resp2 => {
            if let Some(pass) = &opts.password {
                let mut auth = Cmd::new("AUTH");
                if let Some(user) = &opts.username {
                    auth = auth.arg(user.as_str());
                }
                auth.arg(pass.as_str()).encode(out);
                step(Step::Auth, out.len());
            }
        }
    }
    if opts.db != 0 {
        Cmd::new("SELECT").arg(opts.db).encode(out);
        step(Step::Select, out.len());
    }
    if phase == Phase::Resp2 {
        if let Some(name) = &opts.client_name {
            Cmd::new("CLIENT")
                .arg("SETNAME")
                .arg(name.as_str())
                .encode(out);
            step(Step::SetName, out.len());
        }
    }
}
